"""Chat platforms: events already processed (Telegram `update_id`s) and the people seen, so an
update is handled once and `@username` resolves to an id.

Additive: two new tables.

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

CODE = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "inbound_events",
        sa.Column("platform", CODE, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "key", name=op.f("pk_inbound_events")),
    )
    op.create_table(
        "people",
        sa.Column("person", sa.String(length=255), nullable=False),
        sa.Column("platform", CODE, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("username_key", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("person", name=op.f("pk_people")),
    )
    op.create_index("ix_people_username", "people", ["platform", "username_key"])


def downgrade() -> None:
    op.drop_index("ix_people_username", table_name="people")
    op.drop_table("people")
    op.drop_table("inbound_events")
