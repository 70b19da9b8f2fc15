"""Raw alert deliveries: the exact body and the headers (without secrets) of each delivery that
produced new alerts, and on each alert the delivery it came in.

Additive: one new table and one nullable column.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index(op.f("ix_deliveries_received_at"), "deliveries", ["received_at"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("delivery", BIG_ID, nullable=True))
        batch.create_index(batch.f("ix_alerts_delivery"), ["delivery"])
        batch.create_foreign_key(batch.f("fk_alerts_delivery_deliveries"), "deliveries",
                                 ["delivery"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("fk_alerts_delivery_deliveries", type_="foreignkey")
        batch.drop_index("ix_alerts_delivery")
        batch.drop_column("delivery")
    op.drop_index(op.f("ix_deliveries_received_at"), table_name="deliveries")
    op.drop_table("deliveries")
