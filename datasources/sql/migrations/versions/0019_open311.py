"""Open311 requests as sent: tokens for asynchronous ids, the address as typed, its
address_id, the service definition's attributes and the jurisdiction (issue 15)

Revision ID: 0019_open311
Revises: 0017_units
Create Date: 2026-12-05 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_open311'
down_revision = '0021_cap'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'open311_requests',
        sa.Column('token', sa.String(length=36), primary_key=True),
        sa.Column('incident_id', sa.Integer(), sa.ForeignKey('incidents.id'), nullable=False),
        sa.Column('merged', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('jurisdiction_id', sa.String(length=64), nullable=True),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('address_string', sa.String(length=250), nullable=True),
        sa.Column('address_id', sa.String(length=32), nullable=True),
        sa.Column('attributes', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_open311_requests_incident_id', 'open311_requests', ['incident_id'])


def downgrade() -> None:
    op.drop_index('ix_open311_requests_incident_id', 'open311_requests')
    op.drop_table('open311_requests')
