"""The core tables: study, architecture, trial, epoch.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "archscale_study",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("yaml_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("package_version", sa.String(64), nullable=False),
        sa.Column("git_revision", sa.String(64), nullable=True),
        sa.Column("host", sa.Text(), nullable=True),
        sa.Column("devices", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_archscale_study"),
        sa.UniqueConstraint("name", name="uq_archscale_study_name"),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'interrupted', 'failed')", name="ck_archscale_study_status"
        ),
    )
    op.create_table(
        "archscale_architecture",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("graph_hash", sa.String(64), nullable=False),
        sa.Column("notation", sa.Text(), nullable=False),
        sa.Column("family", sa.String(16), nullable=False),
        sa.Column("kernel_size", sa.Integer(), nullable=True),
        sa.Column("n_params", sa.BigInteger(), nullable=True),
        sa.Column("paths", sa.Double(), nullable=True),
        sa.Column("depth_cubed_sum", sa.Double(), nullable=True),
        sa.Column("principled_scale", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_archscale_architecture"),
        sa.UniqueConstraint("graph_hash", name="uq_archscale_architecture_graph_hash"),
        sa.CheckConstraint("family IN ('mlp', 'cnn', 'nb201')", name="ck_archscale_architecture_family"),
    )
    op.create_table(
        "archscale_trial",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("architecture_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("trial_number", sa.Integer(), nullable=False),
        sa.Column("hyperparameters", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("budget_reached", sa.Integer(), nullable=True),
        sa.Column("selected_epoch", sa.Integer(), nullable=True),
        sa.Column("val_loss", sa.Double(), nullable=True),
        sa.Column("val_accuracy", sa.Double(), nullable=True),
        sa.Column("test_loss", sa.Double(), nullable=True),
        sa.Column("test_accuracy", sa.Double(), nullable=True),
        sa.Column("device_kind", sa.String(64), nullable=True),
        sa.Column("device_seconds", sa.Double(), nullable=True),
        sa.Column("wall_seconds", sa.Double(), nullable=True),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("ray_trial_id", sa.String(64), nullable=True),
        sa.Column("optuna_study", sa.String(255), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_archscale_trial"),
        sa.ForeignKeyConstraint(
            ["study_id"], ["archscale_study.id"], name="fk_archscale_trial_study_id", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["architecture_id"], ["archscale_architecture.id"], name="fk_archscale_trial_architecture_id"
        ),
        sa.UniqueConstraint(
            "study_id", "architecture_id", "strategy", "phase", "seed", "trial_number", name="uq_archscale_trial_key"
        ),
        sa.CheckConstraint("strategy IN ('fixed', 'principled', 'tuned', 'probe')", name="ck_archscale_trial_strategy"),
        sa.CheckConstraint("phase IN ('base-search', 'search', 'final', 'probe')", name="ck_archscale_trial_phase"),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'pruned', 'diverged', 'failed')",
            name="ck_archscale_trial_status",
        ),
        sa.CheckConstraint("seed >= 0 AND trial_number >= 0", name="ck_archscale_trial_numbers"),
    )
    op.create_table(
        "archscale_epoch",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("train_loss", sa.Double(), nullable=True),
        sa.Column("train_accuracy", sa.Double(), nullable=True),
        sa.Column("val_loss", sa.Double(), nullable=True),
        sa.Column("val_accuracy", sa.Double(), nullable=True),
        sa.Column("test_loss", sa.Double(), nullable=True),
        sa.Column("test_accuracy", sa.Double(), nullable=True),
        sa.Column("lr", sa.Double(), nullable=True),
        sa.Column("seconds", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("trial_id", "epoch", name="pk_archscale_epoch"),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["archscale_trial.id"], name="fk_archscale_epoch_trial_id", ondelete="CASCADE"
        ),
        sa.CheckConstraint("epoch >= 0", name="ck_archscale_epoch_epoch"),
    )


def downgrade() -> None:
    for table in ("archscale_epoch", "archscale_trial", "archscale_architecture", "archscale_study"):
        op.drop_table(table)
