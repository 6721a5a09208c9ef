"""12345 and video both ways: the town's cameras, a video alert's camera, event type and
clip on its work order and report

Revision ID: 0020_hotline_video
Revises: 0017_units
Create Date: 2026-12-05 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_hotline_video'
down_revision = '0019_open311'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cameras',
        sa.Column('id', sa.String(length=24), primary_key=True),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('name_en', sa.String(length=80), nullable=False),
        sa.Column('lon', sa.Float(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=False),
        sa.Column('grid_code', sa.String(length=16), nullable=True),
    )
    with op.batch_alter_table('incidents') as t:
        t.add_column(sa.Column('camera_id', sa.String(length=24), nullable=True))
        t.add_column(sa.Column('event_type', sa.String(length=24), nullable=True))
        t.add_column(sa.Column('clip_url', sa.String(length=500), nullable=True))
        t.create_index('ix_incidents_camera_id', ['camera_id'])
    with op.batch_alter_table('incident_reports') as t:
        t.add_column(sa.Column('clip_url', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident_reports') as t:
        t.drop_column('clip_url')
    with op.batch_alter_table('incidents') as t:
        t.drop_index('ix_incidents_camera_id')
        t.drop_column('clip_url')
        t.drop_column('event_type')
        t.drop_column('camera_id')
    op.drop_table('cameras')
