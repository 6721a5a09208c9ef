"""the organisation as data: units (village offices, town offices, county departments), the
unit a work order was handed to and came from, the unit an account works for

Revision ID: 0017_units
Revises: 0016_vehicle_record
Create Date: 2026-12-05 08:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_units'
down_revision = '0016_vehicle_record'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'units',
        sa.Column('id', sa.String(length=16), primary_key=True),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('name_en', sa.String(length=80), nullable=False),
        sa.Column('tier', sa.String(length=8), nullable=False),
        sa.Column('village_code', sa.String(length=16), nullable=True),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('people', sa.JSON(), nullable=False),
        sa.CheckConstraint("tier in ('village', 'town', 'county')", name='unit_tier'),
    )
    op.create_index('ix_units_tier', 'units', ['tier'])
    with op.batch_alter_table('incidents') as t:
        t.add_column(sa.Column('unit_id', sa.String(length=16), nullable=True))
        t.add_column(sa.Column('prev_unit_id', sa.String(length=16), nullable=True))
        t.create_index('ix_incidents_unit_id', ['unit_id'])
    with op.batch_alter_table('users') as t:
        t.add_column(sa.Column('unit_id', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as t:
        t.drop_column('unit_id')
    with op.batch_alter_table('incidents') as t:
        t.drop_index('ix_incidents_unit_id')
        t.drop_column('prev_unit_id')
        t.drop_column('unit_id')
    op.drop_index('ix_units_tier', 'units')
    op.drop_table('units')
