"""The database URL: what makes one unusable before anything connects, and where it points,
to name in a refusal."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.core.text import Text, _

DATABASE_DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")
"""The SQLAlchemy drivers the store runs on (async ones)."""
GOOD_DATABASE_URLS = _("{postgresql} or {sqlite}",
                       postgresql="postgresql+asyncpg://crisisbot:password@db.example:5432/crisisbot",
                       sqlite="sqlite+aiosqlite:///./crisisbot.db")


def database_url_problem(url: str) -> Text | None:
    """What makes `url` unusable before anything connects (its form, its driver, an SQLite
    file's missing folder), never showing its password; None when it may work."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not a URL; a port that is not a number
        shown = re.sub(r"(?<=://)[^@/]*@", "…@", url)  # whatever may be a password
        return _("CRISISBOT_DATABASE_URL: “{url}” is not a database URL; e.g. {examples}",
                 url=shown, examples=GOOD_DATABASE_URLS)
    if parsed.drivername not in DATABASE_DRIVERS:
        return _("CRISISBOT_DATABASE_URL: the driver “{driver}” is not supported (use "
                 "{drivers}); e.g. {examples}", driver=parsed.drivername,
                 drivers=", ".join(DATABASE_DRIVERS), examples=GOOD_DATABASE_URLS)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        # SQLite's URI form (`file:/path?mode=ro` with `?uri=true`) names the file after `file:`.
        uri = parsed.query.get("uri") == "true" and parsed.database.startswith("file:")
        folder = Path(parsed.database.removeprefix("file:") if uri else parsed.database).parent
        if not folder.is_dir():
            return _("CRISISBOT_DATABASE_URL: no such folder for the SQLite file: {folder}; "
                     "e.g. {examples}", folder=str(folder), examples=GOOD_DATABASE_URLS)
    return None


def database_place(url: str) -> str:
    """Where a database lives, to name in a refusal: `host:port`, or the SQLite file."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return str(parsed.database or ":memory:")
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
