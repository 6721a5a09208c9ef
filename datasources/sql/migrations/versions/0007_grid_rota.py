"""grid rota and daily briefs

Revision ID: 0007_grid_rota
Revises: 0006_resources
Create Date: 2026-11-25 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_grid_rota'
down_revision = '0006_resources'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grid_rota',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('grid_code', sa.String(length=16), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('shift', sa.String(length=8), nullable=False),
    sa.Column('worker_id', sa.String(length=24), nullable=False),
    sa.Column('worker_name', sa.String(length=40), nullable=False),
    sa.CheckConstraint("shift in ('day', 'night')", name='rota_shift'),
    sa.ForeignKeyConstraint(['grid_code'], ['grids.code'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('grid_code', 'day', 'shift', name='uq_rota_shift')
    )
    with op.batch_alter_table('grid_rota', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_rota_grid_code'), ['grid_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_grid_rota_day'), ['day'], unique=False)
    op.create_table('daily_briefs',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )


def downgrade() -> None:
    op.drop_table('daily_briefs')
    with op.batch_alter_table('grid_rota', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grid_rota_day'))
        batch_op.drop_index(batch_op.f('ix_grid_rota_grid_code'))
    op.drop_table('grid_rota')
