"""Who holds an inbound job's claim, so a restarted process takes back its dead predecessor's
jobs at once instead of waiting out the lease (as 0017 did for the outbox).

Additive: one nullable column.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_jobs") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_jobs") as batch:
        batch.drop_column("claimed_by")
