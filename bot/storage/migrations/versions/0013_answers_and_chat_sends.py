"""Answers through the outbox, delivered by queue and priority, and chat sending limits shared
by every process.

`notices` gains `queue` (an incident's notices, or the answers in one chat: each delivered in
order by one process at a time), `priority` (answers first) and `answer` (where and what to
answer); `incident` may be empty (an answer about no incident). `chat_sends` keeps when the
last messages went to each chat. Existing notices keep their order: their queue is their
incident's.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("queue", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), server_default="1",
                                   nullable=False))
        batch.add_column(sa.Column("answer", sa.JSON(), nullable=True))
        batch.alter_column("incident", existing_type=sa.Integer(), nullable=True)
    op.execute("UPDATE notices SET queue = 'incident:' || CAST(incident AS VARCHAR(20))")
    with op.batch_alter_table("notices") as batch:
        batch.alter_column("queue", existing_type=sa.String(length=255), nullable=False)
        batch.create_index(batch.f("ix_notices_queue"), ["queue", "delivered_at"])
    op.create_table(
        "chat_sends",
        sa.Column("chat", sa.String(length=255), nullable=False),
        sa.Column("sent", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("chat", name=op.f("pk_chat_sends")),
    )


def downgrade() -> None:
    op.drop_table("chat_sends")
    op.execute("DELETE FROM notices WHERE incident IS NULL")
    with op.batch_alter_table("notices") as batch:
        batch.drop_index(batch.f("ix_notices_queue"))
        batch.alter_column("incident", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("answer")
        batch.drop_column("priority")
        batch.drop_column("queue")
