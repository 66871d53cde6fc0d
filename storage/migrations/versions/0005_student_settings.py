"""student settings: where a student's zone came from and their own check-in time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 07:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'student_settings',
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('zone_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('checkin_time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.PrimaryKeyConstraint('person_id'),
    )
    with op.batch_alter_table('student_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_student_settings_checkin_time'), ['checkin_time'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('student_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_student_settings_checkin_time'))
    op.drop_table('student_settings')
