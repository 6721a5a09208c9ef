"""the eight duties (八项职责) a grid worker carries, kept with the worker (issue 16: the
administrator imports the town's Excel roster on /admin)

Revision ID: 0025_admin
Revises: 0017_units
Create Date: 2026-12-05 11:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0025_admin'
down_revision = '0023_smart_intake'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('grid_workers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duties', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('grid_workers', schema=None) as batch_op:
        batch_op.drop_column('duties')
