"""The Ray node each trial ran on (`node_id`), so that users (and the cluster tests) can see where
work went.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("archscale_trial") as batch:
        batch.add_column(sa.Column("node_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("archscale_trial") as batch:
        batch.drop_column("node_id")
