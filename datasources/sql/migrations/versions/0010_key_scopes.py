"""keys bound to their source: scopes per ingest key, and the work orders each key filed

Revision ID: 0010_key_scopes
Revises: 0009_person_ids
Create Date: 2026-12-04 18:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_key_scopes'
down_revision = '0009_person_ids'
branch_labels = None
depends_on = None

# The scopes a key of each source gets (dashboard.roles.default_scopes, as of this
# revision; a migration keeps its own copy so that later rule changes do not rewrite it).
_BUS = 'positions,read-own,report'
_REPORTER = 'read-own,report'


def upgrade() -> None:
    op.add_column('api_keys', sa.Column('scopes', sa.String(length=80), nullable=False,
                                        server_default=''))
    # Keys issued before: a key of a known source keeps reporting as that source (and no
    # longer as any other); a key without a source gets no scope and must be re-issued.
    op.execute(f"UPDATE api_keys SET scopes = '{_BUS}' WHERE kind = 'ingest' "
               "AND source = 'bus'")
    op.execute(f"UPDATE api_keys SET scopes = '{_REPORTER}' WHERE kind = 'ingest' "
               "AND source IN ('hotline', 'citizen', 'video', 'grid_worker')")
    op.create_table(
        'key_filings',
        sa.Column('key_id', sa.Integer(), sa.ForeignKey('api_keys.id'), nullable=False),
        sa.Column('incident_id', sa.Integer(), sa.ForeignKey('incidents.id'), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key_id', 'incident_id'),
    )


def downgrade() -> None:
    op.drop_table('key_filings')
    op.drop_column('api_keys', 'scopes')
