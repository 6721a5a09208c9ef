"""notifications to guardians and parent groups, with every outcome kept; mutes

Revision ID: 0011_notify
Revises: 0010_key_scopes
Create Date: 2026-12-05 07:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_notify'
down_revision = '0010_key_scopes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('recipient', sa.String(length=40), nullable=False),
        sa.Column('address', sa.String(length=400), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('dedup', sa.String(length=120), nullable=True, unique=True),
    )
    op.create_index('ix_notifications_due', 'notifications', ['status', 'next_at'])
    op.create_index('ix_notifications_recipient', 'notifications',
                    ['recipient', 'created_at'])
    op.create_table(
        'notify_mutes',
        sa.Column('recipient', sa.String(length=40), primary_key=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('notify_mutes')
    op.drop_index('ix_notifications_recipient', table_name='notifications')
    op.drop_index('ix_notifications_due', table_name='notifications')
    op.drop_table('notifications')
