"""Digest state in the database: each incident's digest window, and which alerts a digest has
yet to tell, so replicas and restarts keep to one digest per incident per window.

Additive: existing alerts count as told (the in-memory count they had is gone).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("told", sa.Boolean(), server_default=sa.true(),
                                   nullable=False))
    untold = sa.text("told IS false") if op.get_context().dialect.name == "postgresql" \
        else sa.text("told = 0")
    op.create_index("ix_alerts_untold", "alerts", ["incident"], postgresql_where=untold,
                    sqlite_where=untold)
    op.create_table(
        "digests",
        sa.Column("incident", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident"], ["incidents.number"], ondelete="CASCADE",
                                name="fk_digests_incident_incidents"),
        sa.PrimaryKeyConstraint("incident", name="pk_digests"),
    )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_index("ix_alerts_untold", "alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("told")
