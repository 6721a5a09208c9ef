"""a grid worker's leave (请假) beside the rota, 应急抽调 call-ups with who answered, and the tables a town overrides on /admin
(deadlines, kits, evaluation weights, speed zones) (issue 16)

Revision ID: 0028_rota_tables
Revises: 0025_admin
Create Date: 2026-12-06 02:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0028_rota_tables'
down_revision = '0027_stations_drills'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rota_leave',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('worker_id', sa.String(length=24), nullable=False),
    sa.Column('start_day', sa.String(length=10), nullable=False),
    sa.Column('end_day', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('start_day <= end_day', name='leave_span'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rota_leave', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rota_leave_worker_id'), ['worker_id'],
                              unique=False)
    op.create_table('callups',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('called_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('callups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callups_incident_id'), ['incident_id'],
                              unique=False)
    op.create_table('callup_members',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('callup_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=24), nullable=False),
    sa.Column('worker_name', sa.String(length=40), nullable=False),
    sa.Column('told', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("answer is null or answer in ('coming', 'cannot')",
                       name='callup_answer'),
    sa.ForeignKeyConstraint(['callup_id'], ['callups.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('callup_id', 'worker_id', name='uq_callup_member')
    )
    with op.batch_alter_table('callup_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callup_members_callup_id'), ['callup_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_callup_members_worker_id'), ['worker_id'],
                              unique=False)
    op.create_table('town_tables',
    sa.Column('name', sa.String(length=24), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('town_tables')
    op.drop_table('callup_members')
    op.drop_table('callups')
    with op.batch_alter_table('rota_leave', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rota_leave_worker_id'))
    op.drop_table('rota_leave')
