"""languages: a person's chosen and platform language, a group's language

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('platform_language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    with op.batch_alter_table('mentoring_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mentoring_group', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('platform_language')
        batch_op.drop_column('language')
