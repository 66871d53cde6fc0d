"""language sources: who chose a person's language and country, a resource's language

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 12:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('student_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('country_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='en'))


def downgrade() -> None:
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('student_settings', schema=None) as batch_op:
        batch_op.drop_column('country_source')
        batch_op.drop_column('language_source')
