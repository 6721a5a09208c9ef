"""grid versions (issue 16): a redrawn grid is a new version valid from a date; a work order
records the version of the grid it was placed in; a grid a redraw removed is kept, retired

Revision ID: 0026_grid_versions
Revises: 0025_admin
Create Date: 2026-12-06 03:00:00
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0026_grid_versions'
down_revision = '0025_admin'
branch_labels = None
depends_on = None

# The first drawing of a town's grids is in force since always (dashboard/geo/versions.py).
FIRST = datetime(2000, 1, 1, tzinfo=timezone.utc)


def upgrade() -> None:
    versions = op.create_table(
        'grid_versions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('parent_code', sa.String(length=16), nullable=True),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('name_en', sa.String(length=80), nullable=False),
        sa.Column('village_code', sa.String(length=16), nullable=True),
        sa.Column('geometry', sa.JSON(), nullable=False),
        sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retired', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code', 'version', name='uq_grid_version'),
    )
    with op.batch_alter_table('grid_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grid_versions_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_grid_versions_valid_from'), ['valid_from'],
                              unique=False)
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_from', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grid_version', sa.Integer(), nullable=True))
    # A town loaded before versions: its grids are version 1, its work orders in them.
    conn = op.get_bind()
    grids = sa.table('grids', sa.column('code'), sa.column('level'), sa.column('parent_code'),
                     sa.column('name'), sa.column('name_en'), sa.column('village_code'),
                     sa.column('geometry', sa.JSON()))
    now = datetime.now(timezone.utc)
    rows = [{'code': g.code, 'version': 1, 'level': g.level, 'parent_code': g.parent_code,
             'name': g.name, 'name_en': g.name_en or '', 'village_code': g.village_code,
             'geometry': g.geometry, 'valid_from': FIRST,
             'retired': False, 'created_at': now}
            for g in conn.execute(sa.select(grids))]
    if rows:
        op.bulk_insert(versions, rows)
    incidents = sa.table('incidents', sa.column('grid_code'), sa.column('grid_version'))
    conn.execute(incidents.update().where(incidents.c.grid_code.is_not(None))
                 .values(grid_version=1))


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('grid_version')
    with op.batch_alter_table('grids', schema=None) as batch_op:
        batch_op.drop_column('retired_from')
    with op.batch_alter_table('grid_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grid_versions_valid_from'))
        batch_op.drop_index(batch_op.f('ix_grid_versions_code'))
    op.drop_table('grid_versions')
