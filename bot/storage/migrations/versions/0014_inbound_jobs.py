"""Inbound event work (a 📌, a button press, a thread reply) stored before the platform is
answered and retried while it fails, so an acknowledged event is never lost.

Additive: one table.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "inbound_jobs",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_jobs")),
    )
    op.create_index("ix_inbound_jobs_due", "inbound_jobs", ["done_at", "next_attempt_at"])
    op.create_index(op.f("ix_inbound_jobs_done_at"), "inbound_jobs", ["done_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_inbound_jobs_done_at"), table_name="inbound_jobs")
    op.drop_index("ix_inbound_jobs_due", table_name="inbound_jobs")
    op.drop_table("inbound_jobs")
