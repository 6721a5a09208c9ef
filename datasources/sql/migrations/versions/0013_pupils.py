"""pupils: schools, classes, pupils and their trips, guardians, stop staff, the posts of
escorts and school staff, and boarding events (issue 13)

Revision ID: 0013_pupils
Revises: 0012_flow_states
Create Date: 2026-12-05 07:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_pupils'
down_revision = '0012_flow_states'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'schools',
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('name_en', sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint('code'),
    )
    op.create_table(
        'school_classes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_code', sa.String(length=16), sa.ForeignKey('schools.code'),
                  nullable=False, index=True),
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('teacher', sa.String(length=40), nullable=False),
        sa.Column('teacher_phone', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('school_code', 'name', name='uq_class_name'),
    )
    op.create_table(
        'pupils',
        sa.Column('id', sa.String(length=24), nullable=False),
        sa.Column('school_code', sa.String(length=16), sa.ForeignKey('schools.code'),
                  nullable=False, index=True),
        sa.Column('class_id', sa.Integer(), sa.ForeignKey('school_classes.id'),
                  nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('home_stop', sa.String(length=24), sa.ForeignKey('bus_stops.code'),
                  nullable=False, index=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'pupil_trips',
        sa.Column('pupil_id', sa.String(length=24), sa.ForeignKey('pupils.id'),
                  nullable=False),
        sa.Column('trip_code', sa.String(length=24), sa.ForeignKey('trips.code'),
                  nullable=False, index=True),
        sa.PrimaryKeyConstraint('pupil_id', 'trip_code'),
    )
    op.create_table(
        'guardians',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pupil_id', sa.String(length=24), sa.ForeignKey('pupils.id'),
                  nullable=False, index=True),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('relation', sa.String(length=10), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'stop_staff',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_code', sa.String(length=16), sa.ForeignKey('schools.code'),
                  nullable=False, index=True),
        sa.Column('stop_code', sa.String(length=24), sa.ForeignKey('bus_stops.code'),
                  nullable=False, index=True),
        sa.Column('duty', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('pupil_id', sa.String(length=24), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('school_code', 'stop_code', 'duty', name='uq_stop_duty'),
        sa.CheckConstraint("duty in ('volunteer', 'line_leader')", name='stop_staff_duty'),
    )
    op.create_table(
        'user_posts',
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('ref', sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'kind', 'ref'),
    )
    op.create_table(
        'boarding_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('pupil_id', sa.String(length=24), nullable=False),
        sa.Column('trip_code', sa.String(length=24), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('event', sa.String(length=8), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('plate', sa.String(length=16), nullable=True),
        sa.Column('stop_code', sa.String(length=24), nullable=True),
        sa.Column('lon', sa.Float(), nullable=True),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=60), nullable=False),
        sa.Column('idem_key', sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('idem_key'),
        sa.CheckConstraint("event in ('board', 'alight', 'absent')", name='boarding_event'),
        sa.CheckConstraint("source in ('escort', 'terminal')", name='boarding_source'),
    )
    op.create_index('ix_boarding_trip_day', 'boarding_events', ['trip_code', 'day'])


def downgrade() -> None:
    op.drop_index('ix_boarding_trip_day', table_name='boarding_events')
    for table in ('boarding_events', 'user_posts', 'stop_staff', 'guardians', 'pupil_trips',
                  'pupils', 'school_classes', 'schools'):
        op.drop_table(table)
