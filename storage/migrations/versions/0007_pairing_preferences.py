"""pairing preferences: skip the next round, pause until a date, a private avoid list

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-07 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pairing_skip',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['group_id'], ['mentoring_group.id']),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.ForeignKeyConstraint(['round_id'], ['pairing_round.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('pairing_skip', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pairing_skip_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pairing_skip_person_id'), ['person_id'], unique=False)
    op.create_table(
        'pairing_pause',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('until', sa.Date(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.PrimaryKeyConstraint('person_id'),
    )
    op.create_table(
        'pairing_avoid',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('avoided_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['avoided_id'], ['person.id']),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('person_id', 'avoided_id', name='uq_pairing_avoid'),
    )
    with op.batch_alter_table('pairing_avoid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pairing_avoid_avoided_id'), ['avoided_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pairing_avoid_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pairing_avoid', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pairing_avoid_person_id'))
        batch_op.drop_index(batch_op.f('ix_pairing_avoid_avoided_id'))
    op.drop_table('pairing_avoid')
    op.drop_table('pairing_pause')
    with op.batch_alter_table('pairing_skip', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pairing_skip_person_id'))
        batch_op.drop_index(batch_op.f('ix_pairing_skip_group_id'))
    op.drop_table('pairing_skip')
