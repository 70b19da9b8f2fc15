"""The SQL store: SQLAlchemy 2 rows for the core's nouns, on SQLite or PostgreSQL.

Rows (`tables`) are mapped to and from the core dataclasses by hand (`mappers`, `codec`), so
the core never sees SQLAlchemy and the schema can evolve (through the Alembic migrations next
to this package) without touching it. Each port of `bot.core.store` has its implementation
module here (`incidents`, `drafts`, `alerts`, `outbox`, ...); `store.SqlUnit` offers them all
in one transaction, on the connections `engine` makes.
"""
