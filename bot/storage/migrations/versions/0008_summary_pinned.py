"""Remember whether the incident summary is pinned, so a retry after a failed pin pins the
message already posted.

Additive: one column; existing summaries count as not pinned, and pinning them again on their
next refresh is harmless (Slack answers `already_pinned`, taken as success).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("summary_pinned", sa.Boolean(), server_default=sa.false(),
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("summary_pinned")
