"""`alerts try`: what a sample body becomes, without storing anything."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli.common import EXIT_REFUSED, say
from bot.core.errors import CrisisError
from bot.core.intake import MAX_ALERTS, PayloadError, TooMany
from bot.core.models import Alert
from bot.core.text import Renderer, _
from bot.intake import Inbound, alerts_of
from bot.settings import load


def add_alerts_verbs(verbs: Any, render: Renderer) -> None:
    alerts = verbs.add_parser("alerts", help=render(_("alert sources and mappings")),
                              render=render)
    alerts_verbs = alerts.add_subparsers(dest="alerts_verb", required=True, metavar="VERB")
    try_ = alerts_verbs.add_parser("try", help=render(_("show what a sample body becomes")),
                                   render=render)
    try_.add_argument("source", help=render(_("a mapping's name (or a built-in source)")))
    try_.add_argument("file", type=Path, help=render(_("a sample body (JSON)")))
    try_.set_defaults(func=_alerts_try)


def _alerts_try(args: argparse.Namespace) -> int:
    """Parse a sample body as the webhook would, without storing anything: one line per
    alert, or one line per problem. What the webhook refuses with a 413 (a body over its
    limit, more than `MAX_ALERTS` alerts) is refused here too, in one line."""
    from bot.app.intake import alert_parsers
    from bot.web import MAX_BODY

    render: Renderer = args.render
    parsers = alert_parsers(load())
    parser = parsers.get(args.source)
    if parser is None:
        raise CrisisError(_("unknown source {source}; use one of {names}", source=args.source,
                            names=", ".join(sorted(parsers))))
    path = str(args.file)
    try:
        with args.file.open("rb") as file:
            body = file.read(MAX_BODY + 1)  # no further: /dev/zero is a file too
    except OSError as error:
        raise CrisisError(_("cannot read {path}: {reason}", path=path,
                            reason=error.strerror or str(error))) from None
    if len(body) > MAX_BODY:
        raise CrisisError(_("{path}: more than {limit} bytes; the webhook refuses a larger "
                            "body (413)", path=path, limit=MAX_BODY))
    try:
        alerts = alerts_of(parser, Inbound(args.source, body, datetime.now(UTC)))
    except TooMany:
        raise CrisisError(_("{path}: more than {limit} alerts in one request; send them in "
                            "smaller batches", path=path, limit=MAX_ALERTS)) from None
    except PayloadError as bad:
        for problem in bad.problems:
            say(f"{path}: {problem.loc}: {problem.msg}")
        return EXIT_REFUSED
    for alert in alerts:
        print(_described(alert))
    if not alerts:
        print(render(_("no alerts (accepted and not stored)")))
    return 0


def _described(alert: Alert) -> str:
    fields = [alert.status.value, alert.severity.value if alert.severity else "-",
              f"title={alert.title!r}", f"group={alert.group_key!r}",
              f"dedup={alert.dedup_key!r}", f"fingerprint={alert.fingerprint!r}"]
    fields += [f"kind={alert.kind.value}"] if alert.kind else []
    fields += [f"url={alert.url}"] if alert.url else []
    fields += [f"labels={dict(alert.labels)}"] if alert.labels else []
    fields += [f"update={alert.update}"] if alert.update else []
    fields += [f"truncated={alert.truncated}"] if alert.truncated else []
    return " ".join(fields)
