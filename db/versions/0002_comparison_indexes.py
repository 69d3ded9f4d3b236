"""Indexes for the comparison queries, and the `archscale_results` view for SQL users.

The view is one row per trial with the study name, the architecture's notation and family, and the
learning rate taken out of the hyperparameters JSON.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LR = {
    "sqlite": "json_extract(t.hyperparameters, '$.lr')",
    "postgresql": (
        "CASE WHEN jsonb_typeof(t.hyperparameters -> 'lr') = 'number' "
        "THEN (t.hyperparameters ->> 'lr')::double precision END"
    ),
}

RESULTS_VIEW = """
CREATE VIEW archscale_results AS
SELECT s.name AS study, a.notation AS architecture, a.family, a.graph_hash,
       t.strategy, t.phase, t.seed, t.trial_number, t.status, {lr} AS lr,
       t.budget_reached, t.selected_epoch, t.val_loss, t.val_accuracy, t.test_loss, t.test_accuracy,
       t.device_kind, t.device_seconds, t.wall_seconds, t.started_at, t.finished_at, t.id AS trial_id
FROM archscale_trial t
JOIN archscale_study s ON s.id = t.study_id
JOIN archscale_architecture a ON a.id = t.architecture_id
"""


def upgrade() -> None:
    op.create_index("ix_archscale_trial_study_strategy", "archscale_trial", ["study_id", "strategy", "phase"])
    op.create_index("ix_archscale_trial_architecture", "archscale_trial", ["architecture_id", "strategy"])
    op.execute(RESULTS_VIEW.format(lr=LR[op.get_bind().dialect.name]))


def downgrade() -> None:
    op.execute("DROP VIEW archscale_results")
    op.drop_index("ix_archscale_trial_architecture", "archscale_trial")
    op.drop_index("ix_archscale_trial_study_strategy", "archscale_trial")
