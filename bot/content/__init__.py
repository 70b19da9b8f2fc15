"""The playbooks and statement templates shipped inside the package (so an installed bot finds
them), and their loaders: TOML playbooks into core dataclasses, Jinja2 templates behind the
core's `StatementTemplates` port. Paths come from the caller; settings are never read here."""

from __future__ import annotations

from pathlib import Path

SHIPPED = Path(__file__).resolve().parent
PLAYBOOKS = SHIPPED / "playbooks"
TEMPLATES = SHIPPED / "templates"
