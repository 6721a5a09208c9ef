"""the standard's side steps: 返工 and 延期 counted per work order, a pending 延期 request,
the start of a 缓办; the old 回访不满意重办 steps are 返工 steps

Revision ID: 0012_flow_states
Revises: 0011_notify
Create Date: 2026-12-05 07:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_flow_states'
down_revision = '0011_notify'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents') as t:
        t.add_column(sa.Column('rework_count', sa.Integer(), nullable=False, server_default='0'))
        t.add_column(sa.Column('extend_count', sa.Integer(), nullable=False, server_default='0'))
        t.add_column(sa.Column('extend_request', sa.String(length=8), nullable=True))
        t.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
    # 回访不满意重办 ('reopen') became 返工 ('rework'), which also counts it.
    op.execute("UPDATE incident_events SET action = 'rework' WHERE action = 'reopen'")
    op.execute("UPDATE incidents SET rework_count = (SELECT COUNT(*) FROM incident_events e "
               "WHERE e.incident_id = incidents.id AND e.action = 'rework')")


def downgrade() -> None:
    op.execute("UPDATE incident_events SET action = 'reopen' WHERE action = 'rework'")
    with op.batch_alter_table('incidents') as t:
        t.drop_column('suspended_at')
        t.drop_column('extend_request')
        t.drop_column('extend_count')
        t.drop_column('rework_count')
