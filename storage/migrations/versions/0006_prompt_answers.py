"""prompt answers: rounds of a group prompt, students' answers, anonymous/pulse/close options

Revision ID: 0006
Revises: 0008
Create Date: 2026-12-07 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('group_prompt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('pulse', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('close_hours', sa.Integer(), nullable=False, server_default='24'))
    op.create_table(
        'prompt_round',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prompt_id', sa.Integer(), nullable=False),
        sa.Column('local_date', sa.Date(), nullable=False),
        sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('closes_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.ForeignKeyConstraint(['prompt_id'], ['group_prompt.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('prompt_id', 'local_date', name='uq_prompt_round'),
    )
    with op.batch_alter_table('prompt_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompt_round_prompt_id'), ['prompt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prompt_round_closes_at'), ['closes_at'], unique=False)
    op.create_table(
        'prompt_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('safety_level', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.ForeignKeyConstraint(['round_id'], ['prompt_round.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('round_id', 'person_id', name='uq_prompt_answer'),
    )
    with op.batch_alter_table('prompt_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prompt_answer_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prompt_answer_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('prompt_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompt_answer_person_id'))
        batch_op.drop_index(batch_op.f('ix_prompt_answer_round_id'))
    op.drop_table('prompt_answer')
    with op.batch_alter_table('prompt_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prompt_round_closes_at'))
        batch_op.drop_index(batch_op.f('ix_prompt_round_prompt_id'))
    op.drop_table('prompt_round')
    with op.batch_alter_table('group_prompt', schema=None) as batch_op:
        batch_op.drop_column('close_hours')
        batch_op.drop_column('pulse')
        batch_op.drop_column('anonymous')
