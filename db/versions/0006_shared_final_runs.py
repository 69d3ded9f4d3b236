"""Identical final runs train once: `same_run_as` names the arm whose row trained a run that this row
shares (the same architecture, LR, seed, init, recipe and model options), NULL for a row that trained
its own run. Every existing row trained its own run, so it stays NULL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("archscale_trial") as batch:
        batch.add_column(sa.Column("same_run_as", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("archscale_trial") as batch:
        batch.drop_column("same_run_as")
