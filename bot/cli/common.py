"""What every verb shares: its parser, its settings (with `--db`), its database (a failure is
one line), its `Bot`, and a line on stderr."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import CrisisError
from bot.core.text import Renderer, Text, _
from bot.settings import Settings, load
from bot.settings.database import database_place
from bot.settings.durations import parse_duration

if TYPE_CHECKING:
    from bot.app.wiring import Bot

EXIT_REFUSED, EXIT_CONFIG, EXIT_INTERRUPTED = 1, 2, 130
T = TypeVar("T")

DB_HELP = _("the SQLite file to use instead of CRISISBOT_DATABASE_URL")
LANG_HELP = _("language of the transcript and report")
Verb = Callable[[str, Text], argparse.ArgumentParser]
"""Adds a verb: its name and its help line (also its description)."""


def say(line: str) -> None:
    print(f"crisisbot: {line}", file=sys.stderr)


class CliParser(argparse.ArgumentParser):
    """argparse with its own frame words (usage, the group titles, `-h`) in the CLI's language;
    its error messages stay as argparse words them."""

    def __init__(self, *, render: Renderer, **kwargs: Any) -> None:
        class Formatter(argparse.HelpFormatter):
            def add_usage(self, usage: str | None, actions: Any, groups: Any,
                          prefix: str | None = None) -> None:
                super().add_usage(usage, actions, groups,
                                  render(_("usage: ")) if prefix is None else prefix)

        super().__init__(add_help=False, formatter_class=Formatter, **kwargs)
        self._positionals.title = render(_("positional arguments"))
        self._optionals.title = render(_("options"))
        self.add_argument("-h", "--help", action="help",
                          help=render(_("show this help message and exit")))
        self.render = render

    def error(self, message: str) -> NoReturn:
        """A usage mistake is one line too (argparse's words), and where to read more."""
        self.exit(EXIT_CONFIG, f"crisisbot: {message} "
                               f"({self.render(_('see: {command} --help', command=self.prog))})\n")


def settings_for(args: argparse.Namespace, *, reading: bool = False, **overrides: Any) -> Settings:
    """The settings, with `--db FILE` (where the verb has it) as the database; a verb that only
    reads (`reading`) refuses a file that is not there rather than create an empty one."""
    db: Path | None = getattr(args, "db", None)
    if db is not None:
        if not db.parent.is_dir():
            raise CrisisError(_("--db: no such folder: {folder}", folder=str(db.parent)))
        if reading and not db.is_file():
            raise CrisisError(_("--db: no such database file: {path}", path=str(db)))
        overrides["database_url"] = f"sqlite+aiosqlite:///{db}"
    return load(**overrides)


@contextmanager
def using_database(url: str) -> Iterator[None]:
    """A database that cannot be reached or used is one line: where it is and the driver's
    reason (first line only, never the URL's password). What opening a database raises when it
    cannot be reached or used: a refused connection, a bad password, not a database file, a
    schema newer than this version (alembic's error: imported here, where it is loaded anyway,
    not by every verb)."""
    from alembic.util.exc import CommandError

    try:
        yield
    except (OSError, SQLAlchemyError, CommandError) as error:
        raise CrisisError(_("cannot use the database at {place}: {reason}",
                            place=database_place(url), reason=reason_of(error))) from None


def reason_of(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
        return os.strerror(cause.errno)
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


async def open_bot(settings: Settings, **kwargs: Any) -> Bot:
    from bot.app.wiring import build  # lazily: `--help` and `check-config` need no app

    with using_database(settings.database_url):
        return await build(settings, **kwargs)


def with_bot(settings: Settings, work: Callable[[Bot], Awaitable[T]]) -> T:
    async def go() -> T:
        bot = await open_bot(settings)
        try:
            return await work(bot)
        finally:
            await bot.close()

    return asyncio.run(go())


def duration(value: str) -> timedelta:
    try:
        parsed = parse_duration(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not isinstance(parsed, timedelta):
        raise argparse.ArgumentTypeError("a duration like 30d, 12h or 90m")
    return parsed
