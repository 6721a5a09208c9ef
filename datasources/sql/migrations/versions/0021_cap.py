"""warnings issued as CAP 1.2 (GB/T 35965.1 identifiers): each alert and cancel with its XML

Revision ID: 0021_cap
Revises: 0017_units
Create Date: 2026-12-05 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021_cap'
down_revision = '0017_units'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cap_messages',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('identifier', sa.String(length=31), nullable=False, unique=True),
        sa.Column('sender', sa.String(length=64), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('msg_type', sa.String(length=8), nullable=False),
        sa.Column('refs', sa.String(length=200), nullable=False),
        sa.Column('ref_identifier', sa.String(length=31), nullable=True, unique=True),
        sa.Column('event', sa.String(length=16), nullable=False),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('headline', sa.String(length=200), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('draft', sa.JSON(), nullable=False),
        sa.Column('xml', sa.Text(), nullable=False),
        sa.Column('issued_by', sa.String(length=60), nullable=False),
        sa.Column('issued_by_user_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("msg_type in ('Alert', 'Update', 'Cancel')", name='cap_msg_type'),
    )
    op.create_index('ix_cap_messages_sent', 'cap_messages', ['sent_at'])


def downgrade() -> None:
    op.drop_index('ix_cap_messages_sent', table_name='cap_messages')
    op.drop_table('cap_messages')
