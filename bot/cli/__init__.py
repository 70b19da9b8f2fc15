"""The `crisisbot` verbs. Thin: parse arguments, load settings, call the app; refusals and bad
configuration are one readable line each in the team's language and a non-zero exit, never a
traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bot.cli.alerts import add_alerts_verbs
from bot.cli.common import EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_REFUSED, CliParser, say
from bot.cli.console import add_console_verbs
from bot.cli.rehearsals import add_demo, add_drill
from bot.cli.reports import add_report, add_stats
from bot.cli.serving import add_check_config, add_db, add_serve
from bot.core.errors import CrisisError
from bot.core.text import LANGUAGES, Renderer, Text, _
from bot.i18n import renderer
from bot.settings import ConfigError, language_hint, load


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    render = renderer(_language(arguments))
    try:
        args = _parser(render).parse_args(arguments)
        result: int = args.func(args)
        return result
    except ConfigError as error:
        for problem in error.problems:
            say(render(problem) if isinstance(problem, Text) else problem)
        return EXIT_CONFIG
    except CrisisError as refused:
        say(render(refused.text))
        return EXIT_REFUSED
    except BrokenPipeError:
        # The reader went away (`crisisbot demo | head`): stop quietly; point stdout at
        # /dev/null so the interpreter's last flush cannot complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _language(argv: Sequence[str]) -> str:
    """The language of the CLI's own words: `--lang`, else the settings' (else, when they
    cannot be read, `CRISISBOT_LANGUAGE`), else English."""
    for index, arg in enumerate(argv):
        value = (argv[index + 1] if arg == "--lang" and index + 1 < len(argv)
                 else arg.removeprefix("--lang=") if arg.startswith("--lang=") else None)
        if value in LANGUAGES:
            return str(value)
    try:
        return load().language
    except ConfigError:
        return language_hint()


def _parser(render: Renderer) -> argparse.ArgumentParser:
    parser = CliParser(render=render, prog="crisisbot", description=render(_(
        "crisisbot: a chatbot for crisis response teams. Every refusal is one line on stderr; "
        "exit 1, or 2 for bad configuration.")))
    parser.set_defaults(render=render)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_text: Text) -> argparse.ArgumentParser:
        said = render(help_text)
        return verbs.add_parser(name, help=said, description=said, render=render)

    add_demo(verb, render)
    add_db(verb, render)
    add_report(verb, render)
    add_serve(verb)
    add_stats(verb, render)
    add_drill(verb, render)
    add_check_config(verb)
    add_alerts_verbs(verbs, render)
    add_console_verbs(verbs, render)
    return parser
