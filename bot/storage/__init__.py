"""Stores behind the core's Store port: SQLAlchemy (SQLite, PostgreSQL) and in-memory."""
