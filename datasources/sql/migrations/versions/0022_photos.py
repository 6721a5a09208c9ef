"""随手拍: photos kept by the product (random ids, no EXIF), the photo of a work order and of
each report

Revision ID: 0022_photos
Revises: 0017_units
Create Date: 2026-12-05 11:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_photos'
down_revision = '0020_hotline_video'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'photos',
        sa.Column('id', sa.String(length=32), primary_key=True),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('person_id', sa.String(length=40), nullable=True),
        sa.Column('storage', sa.String(length=8), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('source_format', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_photos_incident_id', 'photos', ['incident_id'])
    with op.batch_alter_table('incidents') as t:
        t.add_column(sa.Column('photo_id', sa.String(length=32), nullable=True))
    with op.batch_alter_table('incident_reports') as t:
        t.add_column(sa.Column('photo_id', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('incident_reports') as t:
        t.drop_column('photo_id')
    with op.batch_alter_table('incidents') as t:
        t.drop_column('photo_id')
    op.drop_index('ix_photos_incident_id', 'photos')
    op.drop_table('photos')
