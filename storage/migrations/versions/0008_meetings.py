"""meetings: mentors' hours and days off, 1:1 meetings, session records, follow-up cadence

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-07 08:59:18.081004
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('mentor_timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('change_reason', sa.Text(), nullable=True),
    sa.Column('changed_by', sa.Integer(), nullable=True),
    sa.Column('day_reminder_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('hour_reminder_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome_asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['mentor_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['student_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_mentor_id'), ['mentor_id'], unique=False)
        batch_op.create_index('ix_meeting_status_starts', ['status', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_student_id'), ['student_id'], unique=False)
        batch_op.create_index('uq_meeting_live_slot', ['mentor_id', 'starts_at'], unique=True, sqlite_where=sa.text("status IN ('proposed', 'booked')"), postgresql_where=sa.text("status IN ('proposed', 'booked')"))

    op.create_table('meeting_cadence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('weeks', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['mentoring_group.id'], ),
    sa.ForeignKeyConstraint(['mentor_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['student_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meeting_cadence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_cadence_mentor_id'), ['mentor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_cadence_student_id'), ['student_id'], unique=False)

    op.create_table('meeting_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('end_time', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mentor_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mentor_id', 'weekday', name='uq_meeting_hours_day')
    )
    with op.batch_alter_table('meeting_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_hours_mentor_id'), ['mentor_id'], unique=False)

    op.create_table('meeting_nudge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mentor_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['student_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mentor_id', 'student_id', 'since', name='uq_meeting_nudge')
    )
    with op.batch_alter_table('meeting_nudge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_nudge_mentor_id'), ['mentor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_nudge_student_id'), ['student_id'], unique=False)

    op.create_table('meeting_off',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['mentor_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mentor_id', 'day', name='uq_meeting_off_day')
    )
    with op.batch_alter_table('meeting_off', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_off_mentor_id'), ['mentor_id'], unique=False)

    op.create_table('meeting_profile',
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('video_link', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mentor_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('mentor_id')
    )
    op.create_table('session_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('actions', sa.Text(), nullable=False),
    sa.Column('next_step', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('goals_made_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.ForeignKeyConstraint(['student_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id')
    )
    with op.batch_alter_table('session_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_record_student_id'), ['student_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('session_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_record_student_id'))

    op.drop_table('session_record')
    op.drop_table('meeting_profile')
    with op.batch_alter_table('meeting_off', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_off_mentor_id'))

    op.drop_table('meeting_off')
    with op.batch_alter_table('meeting_nudge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_nudge_student_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_nudge_mentor_id'))

    op.drop_table('meeting_nudge')
    with op.batch_alter_table('meeting_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_hours_mentor_id'))

    op.drop_table('meeting_hours')
    with op.batch_alter_table('meeting_cadence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_cadence_student_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_cadence_mentor_id'))

    op.drop_table('meeting_cadence')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index('uq_meeting_live_slot', sqlite_where=sa.text("status IN ('proposed', 'booked')"), postgresql_where=sa.text("status IN ('proposed', 'booked')"))
        batch_op.drop_index(batch_op.f('ix_meeting_student_id'))
        batch_op.drop_index('ix_meeting_status_starts')
        batch_op.drop_index(batch_op.f('ix_meeting_mentor_id'))

    op.drop_table('meeting')

