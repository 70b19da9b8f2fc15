"""People a chat platform has shown us (name, @username), so a command's `@username` resolves
to the person's id and mentions show names.

Additive: one new table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("person", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("username_key", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("person", name=op.f("pk_people")),
    )
    op.create_index("ix_people_username", "people", ["platform", "username_key"])


def downgrade() -> None:
    op.drop_index("ix_people_username", table_name="people")
    op.drop_table("people")
