"""drills (应急演练) per station and type, with follow-ups as work orders; the town's drill
types and their windows; a state and a note on each of a station's rooms (issue 16)

Revision ID: 0027_stations_drills
Revises: 0028_rota_tables
Create Date: 2026-12-06 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0027_stations_drills'
down_revision = '0026_grid_versions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'drill_types',
        sa.Column('code', sa.String(length=16), primary_key=True),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('name_en', sa.String(length=60), nullable=False),
        sa.Column('window_days', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
    )
    op.create_table(
        'drills',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('station_code', sa.String(length=16), sa.ForeignKey('stations.code'),
                  nullable=False),
        sa.Column('type', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('planned_for', sa.String(length=10), nullable=False),
        sa.Column('teams', sa.JSON(), nullable=False),
        sa.Column('workers', sa.JSON(), nullable=False),
        sa.Column('villagers', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('assembled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('arrived_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('findings', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=40), nullable=False),
        sa.Column('recorded_by', sa.String(length=40), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
    )
    op.create_index('ix_drills_station_type', 'drills', ['station_code', 'type', 'state'])
    op.create_table(
        'drill_followups',
        sa.Column('id', sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column('drill_id', sa.Integer(), sa.ForeignKey('drills.id'), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('incident_id', sa.Integer(), sa.ForeignKey('incidents.id'), nullable=True),
    )
    op.create_index('ix_drill_followups_drill_id', 'drill_followups', ['drill_id'])
    with op.batch_alter_table('rooms') as t:
        t.add_column(sa.Column('state', sa.String(length=12), nullable=False,
                               server_default='ready'))
        t.add_column(sa.Column('note', sa.String(length=200), nullable=False,
                               server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('rooms') as t:
        t.drop_column('note')
        t.drop_column('state')
    op.drop_index('ix_drill_followups_drill_id', table_name='drill_followups')
    op.drop_table('drill_followups')
    op.drop_index('ix_drills_station_type', table_name='drills')
    op.drop_table('drills')
    op.drop_table('drill_types')
