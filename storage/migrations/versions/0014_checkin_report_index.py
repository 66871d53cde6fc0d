"""check-ins indexed by (person, status, opening time) for the reports' weekly rates

The report's check-in figures select a population's closed check-ins in a date range. With
(person_id, status) alone every matching row was read to test opened_at; adding opened_at to
the same index lets both SQLite and PostgreSQL range-scan it. It replaces the old index, whose
every use is a prefix of the new one.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 19:20:00
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index(
            'ix_checkin_person_status_opened', ['person_id', 'status', 'opened_at'], unique=False
        )
        batch_op.drop_index('ix_checkin_person_status')


def downgrade() -> None:
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_person_status', ['person_id', 'status'], unique=False)
        batch_op.drop_index('ix_checkin_person_status_opened')
