"""pacing budget: a token bucket per platform shared by the instances of a cluster

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pacing_budget',
        sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('bucket', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('granted', sa.Integer(), nullable=False),
        sa.Column('refilled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('platform', 'bucket'),
    )


def downgrade() -> None:
    op.drop_table('pacing_budget')
