"""smart intake (issue 18): a work order flagged as a possible duplicate of another, each
caller's own satisfaction at the follow-up (回访), and the category and unit suggested for a
work order with the officer's decision

Revision ID: 0023_smart_intake
Revises: 0017_units
Create Date: 2026-12-05 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_smart_intake'
down_revision = '0022_photos'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents') as t:
        t.add_column(sa.Column('dup_of', sa.Integer(), nullable=True))
    with op.batch_alter_table('incident_reports') as t:
        t.add_column(sa.Column('satisfaction', sa.Integer(), nullable=True))
    op.create_table(
        'incident_suggestions',
        sa.Column('incident_id', sa.Integer(), sa.ForeignKey('incidents.id'), primary_key=True),
        sa.Column('model_version', sa.String(length=32), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('confidence', sa.Float(), nullable=False),
        sa.Column('unit_id', sa.String(length=16), nullable=True),
        sa.Column('unit_confidence', sa.Float(), nullable=True),
        sa.Column('ranked', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('chosen_unit_id', sa.String(length=40), nullable=True),
        sa.Column('accepted', sa.Boolean(), nullable=True),
    )
    op.create_index('ix_incident_suggestions_decided_at', 'incident_suggestions',
                    ['decided_at'])


def downgrade() -> None:
    op.drop_index('ix_incident_suggestions_decided_at', 'incident_suggestions')
    op.drop_table('incident_suggestions')
    with op.batch_alter_table('incident_reports') as t:
        t.drop_column('satisfaction')
    with op.batch_alter_table('incidents') as t:
        t.drop_column('dup_of')
