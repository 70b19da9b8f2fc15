"""The SQL store: SQLAlchemy 2 async rows for the core's nouns, on SQLite or PostgreSQL.

Rows are mapped to and from the core dataclasses by hand, so the core never sees SQLAlchemy and
the schema can evolve (through the Alembic migrations next to this module) without touching it.
"""
