"""How alerts come into `serve`: the sources' parsers and mappings, who may send, and the
polled feeds."""

from __future__ import annotations

from bot.core.ports import Clock
from bot.core.sources import FEEDS
from bot.ingest import PARSERS
from bot.ingest.auth import Authenticator, HmacHeader
from bot.ingest.feeds import Feed, FeedPoller
from bot.ingest.mapping import MappedSource, MappingError, MappingSpec
from bot.intake import Parser, Submit
from bot.settings import ConfigError, Settings
from bot.settings.alerts import AlertSourceSettings

INTAKE_WORKERS = 4
"""Group-commit transactions in flight at once on PostgreSQL (see `GroupCommit`); measured in
docs/benchmarks.md."""


def authenticator(settings: Settings, clock: Clock) -> Authenticator:
    alerts = settings.alerts
    sources: dict[str, AlertSourceSettings] = {**alerts.sources,
                                               **{m.name: m for m in alerts.mappings}}
    return Authenticator(
        alerts.secret.get_secret_value() if alerts.secret else None,
        {name: s.secret.get_secret_value() for name, s in sources.items() if s.secret},
        previous=alerts.previous_secret.get_secret_value() if alerts.previous_secret else None,
        previous_per_source={name: s.previous_secret.get_secret_value()
                             for name, s in sources.items() if s.previous_secret},
        url_credentials=[name for name, s in sources.items() if s.url_credentials],
        signatures={m.name: HmacHeader(m.signature.header.lower(), m.signature.algorithm,
                                       m.signature.prefix.lower())
                    for m in alerts.mappings if m.signature},
        now=clock.now,
    )


def alert_parsers(settings: Settings) -> dict[str, Parser]:
    """The built-in sources and one per `[[alerts.mappings]]`; `ConfigError` names every
    expression that does not compile and every name already taken, by its place."""
    parsers: dict[str, Parser] = dict(PARSERS)
    problems = []
    for index, mapping in enumerate(settings.alerts.mappings):
        where = f"alerts.mappings[{index}]"
        if mapping.name in parsers or mapping.name == FEEDS:
            problems.append(f"{where}.name: {mapping.name} is already a source")
        try:
            parsers[mapping.name] = MappedSource(
                MappingSpec(mapping.name, mapping.expressions(), mapping.resolved_when))
        except MappingError as error:
            problems += [f"{where}.{name}: {why}" for name, why in error.problems]
    if problems:
        raise ConfigError(problems)
    return parsers


def feed_poller(settings: Settings, submit: Submit, clock: Clock) -> FeedPoller | None:
    """The `[[alerts.feeds]]` poller, or None when no feed is configured."""
    if not settings.alerts.feeds:
        return None
    feeds = [Feed(f.name, f.url, f.brand, f.every) for f in settings.alerts.feeds]
    return FeedPoller(feeds, submit, clock)
