"""The built-in chat's rooms in the database (spaces, members, messages, reactions), so they
outlive a restart and are shared by replicas; the web console reads them too.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_spaces",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("direct", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_chat_spaces"),
    )
    op.create_table(
        "chat_members",
        sa.Column("space", sa.String(255), nullable=False),
        sa.Column("person", sa.String(255), nullable=False),
        sa.Column("joined", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["space"], ["chat_spaces.name"], ondelete="CASCADE",
                                name="fk_chat_members_space_chat_spaces"),
        sa.PrimaryKeyConstraint("space", "person", name="pk_chat_members"),
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("space", sa.String(255), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("thread", sa.String(32), nullable=True),
        sa.Column("draft", sa.Integer(), nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("edits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["space"], ["chat_spaces.name"], ondelete="CASCADE",
                                name="fk_chat_messages_space_chat_spaces"),
        sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
    )
    op.create_index("ix_chat_messages_space", "chat_messages", ["space"])
    op.create_table(
        "chat_reactions",
        sa.Column("message", BIG_ID, nullable=False),
        sa.Column("person", sa.String(255), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message"], ["chat_messages.id"], ondelete="CASCADE",
                                name="fk_chat_reactions_message_chat_messages"),
        sa.PrimaryKeyConstraint("message", "person", "name", name="pk_chat_reactions"),
    )


def downgrade() -> None:
    op.drop_table("chat_reactions")
    op.drop_index("ix_chat_messages_space", "chat_messages")
    op.drop_table("chat_messages")
    op.drop_table("chat_members")
    op.drop_table("chat_spaces")
