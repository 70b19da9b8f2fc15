"""Playbook checklists: one row per task of an incident.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_tasks",
        sa.Column("incident", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["incident"], ["incidents.number"], ondelete="CASCADE",
                                name=op.f("fk_incident_tasks_incident_incidents")),
        sa.PrimaryKeyConstraint("incident", "number", name=op.f("pk_incident_tasks")),
    )


def downgrade() -> None:
    op.drop_table("incident_tasks")
