"""alert lifecycle: resolution with an outcome and a sealed note, folding, follow-up reminders

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-07 02:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel



revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('resolution_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('folded_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_folded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('latest_excerpt', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('next_follow_up_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('follow_up_reminders', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('student_told_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key('fk_alert_resolved_by_person', 'person', ['resolved_by'], ['id'])
        batch_op.create_index(batch_op.f('ix_alert_next_follow_up_at'), ['next_follow_up_at'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('edit_of', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('edit_of')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_next_follow_up_at'))
        batch_op.drop_constraint('fk_alert_resolved_by_person', type_='foreignkey')
        for column in (
            'student_told_at', 'follow_up_reminders', 'next_follow_up_at', 'latest_excerpt',
            'last_folded_at', 'folded_count', 'resolution_note', 'outcome', 'resolved_by',
            'resolved_at',
        ):
            batch_op.drop_column(column)
