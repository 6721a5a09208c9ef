"""people by id: work orders name their assignee's id, accounts their person, history
and audit the account that acted

Revision ID: 0009_person_ids
Revises: 0008_accounts
Create Date: 2026-12-01 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_person_ids'
down_revision = '0008_accounts'
branch_labels = None
depends_on = None

# The console wrote grid workers as "网格员 NAME" before assignees were ids.
_WORKER_PREFIX = '网格员 '


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy): audit_log's append-only triggers stay in place.
    op.add_column('users', sa.Column('person_id', sa.String(length=24), nullable=True))
    op.add_column('incidents', sa.Column('assignee_id', sa.String(length=40), nullable=True))
    op.create_index('ix_incidents_assignee_id', 'incidents', ['assignee_id'])
    op.add_column('incident_events', sa.Column('actor_user_id', sa.Integer(), nullable=True))
    op.add_column('audit_log', sa.Column('actor_user_id', sa.Integer(), nullable=True))
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """Fill the ids where the stored name names exactly one person (audit rows are
    append-only and keep their names only)."""
    workers: dict[str, list[tuple[str, str]]] = {}
    for wid, name, grid in conn.execute(sa.text(
            'SELECT id, name, grid_code FROM grid_workers')):
        workers.setdefault(name, []).append((wid, grid))
    teams = {name: code for code, name in conn.execute(sa.text('SELECT code, name FROM teams'))}
    for uid, name, display in conn.execute(sa.text(
            "SELECT id, name, display_name FROM users WHERE role = 'grid_worker' "
            "AND person_id IS NULL")).all():
        found = workers.get(name) or workers.get(display) or []
        if len(found) == 1:
            conn.execute(sa.text('UPDATE users SET person_id = :p WHERE id = :u'),
                         {'p': found[0][0], 'u': uid})
    for iid, assignee, grid in conn.execute(sa.text(
            'SELECT id, assignee, grid_code FROM incidents WHERE assignee IS NOT NULL '
            'AND assignee_id IS NULL')).all():
        name = assignee.removeprefix(_WORKER_PREFIX).strip()
        found = workers.get(name, [])
        local = [w for w in found if w[1] == grid]
        person = (local or found)[0][0] if len(local) == 1 or len(found) == 1 else None
        if person is not None:
            conn.execute(sa.text('UPDATE incidents SET assignee_id = :p, assignee = :n '
                                 'WHERE id = :i'), {'p': person, 'n': name, 'i': iid})
        elif assignee in teams:
            conn.execute(sa.text('UPDATE incidents SET assignee_id = :p WHERE id = :i'),
                         {'p': f'team:{teams[assignee]}', 'i': iid})
    conn.execute(sa.text(
        'UPDATE incident_events SET actor_user_id = '
        '(SELECT users.id FROM users WHERE users.name = incident_events.actor) '
        'WHERE actor_user_id IS NULL AND actor IN (SELECT name FROM users)'))


def downgrade() -> None:
    op.drop_column('audit_log', 'actor_user_id')
    op.drop_column('incident_events', 'actor_user_id')
    op.drop_index('ix_incidents_assignee_id', table_name='incidents')
    op.drop_column('incidents', 'assignee_id')
    op.drop_column('users', 'person_id')
