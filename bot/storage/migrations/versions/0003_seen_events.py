"""Inbound event ids already handled (Slack's `event_id`), so a re-delivery is processed once
even across restarts and processes; and an index for the outbox's claim of due notices.

Revision ID: 0003_seen_events
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_seen_events"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_events",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_seen_events")),
    )
    op.create_index(op.f("ix_seen_events_seen_at"), "seen_events", ["seen_at"])
    op.create_index("ix_notices_due", "notices", ["delivered_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_due", table_name="notices")
    op.drop_index(op.f("ix_seen_events_seen_at"), table_name="seen_events")
    op.drop_table("seen_events")
