"""A benchmark's published results: `archscale_benchmark_result`, one row per (benchmark, dataset,
architecture, seed, epochs) with the reported test accuracy (a fraction) and the file it came from.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "archscale_benchmark_result"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("benchmark", sa.String(32), nullable=False),
        sa.Column("dataset", sa.String(32), nullable=False),
        sa.Column("architecture_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("epochs", sa.Integer(), nullable=False),
        sa.Column("test_accuracy", sa.Double(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("benchmark", "dataset", "architecture_id", "seed", "epochs", name=f"pk_{TABLE}"),
        sa.ForeignKeyConstraint(["architecture_id"], ["archscale_architecture.id"], name=f"fk_{TABLE}_architecture_id"),
        sa.CheckConstraint("test_accuracy >= 0 AND test_accuracy <= 1", name=op.f(f"ck_{TABLE}_accuracy")),
        sa.CheckConstraint("seed >= 0 AND epochs > 0", name=op.f(f"ck_{TABLE}_numbers")),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
