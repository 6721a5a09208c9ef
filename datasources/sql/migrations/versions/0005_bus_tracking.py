"""bus tracking: sampled positions for history replay

Revision ID: 0005_bus_tracking
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_bus_tracking'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'bus_positions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('plate', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lon', sa.Float(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=False),
        sa.Column('speed_kmh', sa.Float(), nullable=False),
        sa.Column('heading', sa.Float(), nullable=False),
        sa.Column('route', sa.String(length=16), nullable=True),
        sa.Column('trip', sa.String(length=24), nullable=True),
        sa.Column('onboard', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_bus_positions_plate_at', 'bus_positions', ['plate', 'at'])
    op.create_index('ix_bus_positions_trip_at', 'bus_positions', ['trip', 'at'])


def downgrade() -> None:
    op.drop_index('ix_bus_positions_trip_at', table_name='bus_positions')
    op.drop_index('ix_bus_positions_plate_at', table_name='bus_positions')
    op.drop_table('bus_positions')
