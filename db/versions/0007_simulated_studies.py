"""A study run with `archscale run --simulate` (a synthetic trainer, no training arithmetic) is marked
`simulated`, so that its rows never pass for real results; every existing study trained for real, so it
stays false. The `archscale_results` view carries the flag as its last column.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LR = {
    "sqlite": "json_extract(t.hyperparameters, '$.lr')",
    "postgresql": (
        "CASE WHEN jsonb_typeof(t.hyperparameters -> 'lr') = 'number' "
        "THEN (t.hyperparameters ->> 'lr')::double precision END"
    ),
}
VIEW = """
CREATE VIEW archscale_results AS
SELECT s.name AS study, a.notation AS architecture, a.family, a.graph_hash,
       t.arm, t.kind, t.phase, t.repeat, t.seed, t.trial_number, t.status, {lr} AS lr,
       t.budget_reached, t.selected_epoch, t.val_loss, t.val_accuracy, t.test_loss, t.test_accuracy,
       t.device_kind, t.device_seconds, t.wall_seconds, t.started_at, t.finished_at, t.id AS trial_id{simulated}
FROM archscale_trial t
JOIN archscale_study s ON s.id = t.study_id
JOIN archscale_architecture a ON a.id = t.architecture_id
"""


def _view(simulated: bool) -> str:
    return VIEW.format(lr=LR[op.get_bind().dialect.name], simulated=", s.simulated" if simulated else "")


def upgrade() -> None:
    op.execute("DROP VIEW archscale_results")
    op.add_column("archscale_study", sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(_view(simulated=True))


def downgrade() -> None:
    op.execute("DROP VIEW archscale_results")
    # not a batch rebuild: on SQLite that would drop the table and cascade to its trials
    op.execute("ALTER TABLE archscale_study DROP COLUMN simulated")
    op.execute(_view(simulated=False))
