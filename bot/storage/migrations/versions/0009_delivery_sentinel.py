"""A sentinel column on deliveries, so a batch of them is stored by one INSERT ... RETURNING
whose ids SQLAlchemy can match to the rows sent (SQLite gives no order guarantee for RETURNING;
without a sentinel each delivery costs a statement of its own).

Additive: one nullable column, filled only while a row is inserted.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("_sentinel", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("_sentinel")
