"""`demo` and `drill`: a scripted crisis played on SQLite and the local chat, then its report."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import LANG_HELP, Verb, open_bot, reason_of, settings_for
from bot.core.errors import CrisisError
from bot.core.models import CrisisKind
from bot.core.text import LANGUAGES, Renderer, _
from bot.i18n import renderer

if TYPE_CHECKING:
    from bot.app.wiring import Bot
    from bot.demo import ScriptedClock


def add_demo(verb: Verb, render: Renderer) -> None:
    demo = verb("demo", _("a scripted crisis on SQLite and the local chat"))
    demo.add_argument("--db", type=Path, help=render(_(
        "keep the demo database at this path (a new file)")))
    demo.add_argument("--force", action="store_true", help=render(_(
        "replace the --db file if it exists (its incidents are lost)")))
    demo.add_argument("--lang", choices=LANGUAGES, help=render(LANG_HELP))
    demo.set_defaults(func=_demo)


def add_drill(verb: Verb, render: Renderer) -> None:
    drill = verb("drill", _("a training drill on SQLite and the local chat"))
    drill.add_argument("kind", choices=[k.value for k in CrisisKind if k is not CrisisKind.OTHER])
    drill.add_argument("--db", type=Path, help=render(_(
        "run the drill in this database (kept; an existing one is added to, never wiped)")))
    drill.add_argument("--lang", choices=LANGUAGES, help=render(LANG_HELP))
    drill.set_defaults(func=_drill)


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run

    if args.db is not None and args.db.exists():
        if not args.force:
            raise CrisisError(_("{path} already exists; the demo needs a new database. Choose "
                                "another --db, or add --force to replace it (its incidents "
                                "are lost).", path=str(args.db)))
        settings_for(args)  # refuse bad settings before deleting anything
        try:  # with SQLite's WAL files: a stale one must not be replayed into the new file
            for path in (args.db, Path(f"{args.db}-wal"), Path(f"{args.db}-shm")):
                path.unlink(missing_ok=True)
        except OSError as error:
            raise CrisisError(_("cannot write {path}: {reason}", path=str(args.db),
                                reason=reason_of(error))) from None
    return _scripted(args, "demo", run)


def _scripted(args: argparse.Namespace, name: str,
              play: Callable[[Bot, ScriptedClock, Callable[[str], None]], Awaitable[int]]
              ) -> int:
    """Play a scripted crisis (the demo, a drill) on SQLite and the local chat, then print
    its report: in a scratch file, or in `--db` (kept, never wiped here)."""
    from bot.app.console import report_text
    from bot.demo import DEMO_START, ScriptedClock

    overrides: dict[str, Any] = {"language": args.lang} if args.lang else {}
    # Only the local chat, even where the team's platforms are configured: a rehearsal never
    # opens a channel or posts in the team's real chats.
    overrides |= {"slack": {"bot_token": None, "signing_secret": None, "app_token": None},
                  "telegram": {"bot_token": None}}
    with tempfile.TemporaryDirectory(prefix=f"crisisbot-{name}-") as scratch:
        if args.db is None:
            overrides["database_url"] = f"sqlite+aiosqlite:///{Path(scratch) / f'{name}.db'}"
        settings = settings_for(args, **overrides)
        render = renderer(settings.language)
        clock = ScriptedClock(DEMO_START)

        async def go() -> int:
            bot = await open_bot(settings, clock=clock, echo=print)
            try:
                number = await play(bot, clock, print)
                print("\n" + render(_("== Post-incident report")) + "\n")
                print(await report_text(bot, number))
            finally:
                await bot.close()
            return 0

        result = asyncio.run(go())
        if args.db:
            print("\n" + render(_("(database kept at {path})", path=str(args.db))))
        return result


def _drill(args: argparse.Namespace) -> int:
    from bot.drill import run_drill

    kind = CrisisKind(args.kind)
    return _scripted(args, "drill",
                     lambda bot, clock, out: run_drill(bot, clock, kind, out))
