"""vehicle record (一车一档): papers and equipment of each bus, its drivers, daily checks and
the alert episodes of items due, expired or overdue (issue 13)

Revision ID: 0016_vehicle_record
Revises: 0013_pupils
Create Date: 2026-12-05 08:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_vehicle_record'
down_revision = '0013_pupils'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('vehicles') as batch:
        for name in ('licence_expiry', 'inspection_due', 'insurance_expiry'):
            batch.add_column(sa.Column(name, sa.String(length=10), nullable=False,
                                       server_default=''))
        batch.add_column(sa.Column('speed_limiter', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('recorder', sa.Boolean(), nullable=True))
    op.create_table(
        'drivers',
        sa.Column('id', sa.String(length=24), nullable=False),
        sa.Column('plate', sa.String(length=16), sa.ForeignKey('vehicles.plate'),
                  nullable=False, index=True),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('licence_class', sa.String(length=16), nullable=False),
        sa.Column('licence_expiry', sa.String(length=10), nullable=False),
        sa.Column('trained_on', sa.String(length=10), nullable=False),
        sa.Column('health_checked_on', sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'vehicle_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plate', sa.String(length=16), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('plate', 'day', 'kind', name='uq_vehicle_check'),
    )
    op.create_index('ix_vehicle_checks_day', 'vehicle_checks', ['day'])
    op.create_table(
        'vehicle_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plate', sa.String(length=16), nullable=False),
        sa.Column('item', sa.String(length=16), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('open_key', sa.String(length=80), nullable=True),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('incident_id', sa.Integer(), sa.ForeignKey('incidents.id'), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('open_key'),
    )


def downgrade() -> None:
    op.drop_table('vehicle_alerts')
    op.drop_index('ix_vehicle_checks_day', table_name='vehicle_checks')
    op.drop_table('vehicle_checks')
    op.drop_table('drivers')
    with op.batch_alter_table('vehicles') as batch:
        for name in ('recorder', 'speed_limiter', 'insurance_expiry', 'inspection_due',
                     'licence_expiry'):
            batch.drop_column(name)
