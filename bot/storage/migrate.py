"""Apply the Alembic migrations shipped inside the package, from any cwd and from async code.

The app calls `upgrade(url)` at start and `crisisbot db upgrade` calls it too; the URL is passed
in, never read from settings here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().with_name("migrations")


def alembic_config(url: str) -> Config:
    """A Config without an ini file; the URL travels in `attributes`, so a password with `%`
    in it survives (ini options are interpolated)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["url"] = url
    return cfg


async def upgrade(url: str) -> None:
    """Bring the database to the newest schema; a no-op when it is already there.

    Alembic's env.py runs its own event loop, so the command runs in a worker thread and the
    caller's loop stays free.
    """
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
