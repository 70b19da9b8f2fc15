"""Fixtures for the alert tests (the server itself lives in alert_server.py)."""

from alert_server import serve, server

__all__ = ["serve", "server"]
