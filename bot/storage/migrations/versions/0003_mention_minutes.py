"""Per-minute mention series per topic, so spike checks, pulses and reports read minutes, not
every mention.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mention_minutes",
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("reach", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("topic", "minute", name="pk_mention_minutes"),
    )


def downgrade() -> None:
    op.drop_table("mention_minutes")
