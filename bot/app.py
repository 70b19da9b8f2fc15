"""The composition root: the only place that names concrete classes and reads settings."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.chat.destinations import SignedWebhook, SlackChannel, StatusPage, TelegramChannel
from bot.chat.inbound import InboundWorker
from bot.chat.local import LocalChat, LocalSession
from bot.chat.outbox import Outbox, Pacing
from bot.chat.slack import PLATFORM as SLACK
from bot.chat.slack import SlackChat, slack_app, slack_escape, slack_mention
from bot.chat.slack import refusal as slack_refusal
from bot.chat.telegram import PLATFORM as TELEGRAM
from bot.chat.telegram import Limits, TelegramChat, TelegramUpdates, build_application
from bot.console.live import Changes
from bot.console.routes import Console, console_router
from bot.console.sessions import Sessions
from bot.console.signin import SignInLinks
from bot.content import PLAYBOOKS, TEMPLATES
from bot.content.loader import load_playbooks
from bot.content.statements import JinjaTemplates
from bot.core.delivery import Delivery
from bot.core.models import KIND_LABELS, CrisisKind, role_name
from bot.core.pace import EscalationStep, Schedule, Timers
from bot.core.playbooks import Playbook, PlaybookError
from bot.core.ports import Chat, Clock, RetryLater, Store
from bot.core.publication import Destination
from bot.core.publishing import PublishDelivery
from bot.core.rules import ApprovalStep, Route, Rules
from bot.core.service import Service
from bot.core.sources import FEEDS
from bot.core.spikes import SpikeRule, SpikeWatch
from bot.core.status_board import Board
from bot.core.text import LANGUAGES, Localized, Renderer, Text, Who, _, plain_mention, unescaped
from bot.i18n import renderer
from bot.ingest import PARSERS, SHAPES
from bot.ingest.auth import Authenticator, HmacHeader
from bot.ingest.common import json_schemas
from bot.ingest.feeds import Feed, FeedPoller
from bot.ingest.mapping import MappedSource, MappingError, MappingSpec
from bot.intake import GroupCommit, Parser, Submit
from bot.logsafe import guard
from bot.report_html import html_report
from bot.scheduler import Leader, Pacemaker
from bot.settings import ConfigError, Settings, secrets_of
from bot.settings.alerts import AlertSourceSettings
from bot.settings.schedule import WEEKDAYS
from bot.status.routes import status_routes
from bot.storage.console import ConsoleStore
from bot.storage.leader import AdvisoryLock
from bot.storage.migrate import upgrade
from bot.storage.sql import SqlRooms, SqlStore
from bot.web import Endpoint, create_app

log = logging.getLogger("crisisbot")
GRACE_S = 5
"""On SIGTERM, how long in-flight requests may finish; then open console event streams (a tab
left open) are closed rather than holding the shutdown."""

INTAKE_WORKERS = 4
"""Group-commit transactions in flight at once on PostgreSQL (see `GroupCommit`); measured in
docs/benchmarks.md."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def team_renderer(settings: Settings, language: str | None = None,
                  mention: Callable[[Who], str] = plain_mention,
                  escape: Callable[[str], str] = unescaped) -> Renderer:
    """A renderer in `language` (else the team's) with the team's timezone, calendar and names
    of its roles: the one way every adapter's words are written."""
    return renderer(language or settings.language, mention, escape,
                    timezone=ZoneInfo(settings.timezone), calendar=settings.calendar,
                    role_names=role_names_from(settings))


def role_names_from(settings: Settings) -> dict[str, Localized]:
    return {role: Localized.of(names) for role, names in settings.role_names.items()}


def role_aliases_from(settings: Settings) -> dict[str, str]:
    """Each role's name in every language (the team's and the catalogue's), lowercased -> the
    role: what people may type besides the id. A name two roles share is left out."""
    named: dict[str, set[str]] = {}
    for language in LANGUAGES:
        for render in (team_renderer(settings, language), renderer(language)):
            for role in settings.roles:
                name = render(Text("{role}", {"role": role_name(role)}))
                named.setdefault(" ".join(name.lower().split()), set()).add(role)
    return {name: next(iter(roles)) for name, roles in named.items()
            if len(roles) == 1 and name not in roles}


def rules_from(settings: Settings) -> Rules:
    return Rules(
        roles=tuple(settings.roles),
        policies={
            severity: tuple(ApprovalStep(frozenset(s.roles), s.count) for s in steps)
            for severity, steps in settings.approval.items()
        },
        veto_roles=frozenset(settings.veto_roles),
        default_severity=settings.default_severity,
        routes=tuple(
            Route(source=r.match.source, labels=r.match.labels, kind=r.match.kind,
                  severity=r.severity, set_kind=r.kind, platform=r.platform,
                  invite=tuple(r.invite), playbook=r.playbook,
                  publish_to=None if r.publish_to is None else tuple(r.publish_to))
            for r in settings.alerts.routes
        ),
        digest_seconds=settings.alerts.digest_seconds,
        spike=spike_from(settings),
        people=people_from(settings),
        assign_roles=frozenset(settings.access.assign_roles),
        role_aliases=role_aliases_from(settings),
    )


def people_from(settings: Settings) -> dict[str, str]:
    """`[[people]]` -> each bound id mapped to the person's first id."""
    return {person_id: person.ids[0] for person in settings.people for person_id in person.ids}


def spike_from(settings: Settings) -> SpikeWatch:
    spike = settings.alerts.spike
    return SpikeWatch(
        SpikeRule(z=spike.z, min_count=spike.min_count, negative_share=spike.negative_share,
                  negative_margin=spike.negative_margin,
                  min_negative_count=spike.min_negative_count),
        window=timedelta(minutes=spike.window_minutes), baseline_days=spike.baseline_days,
    )


def authenticator(settings: Settings, clock: Clock) -> Authenticator:
    alerts = settings.alerts
    sources: dict[str, AlertSourceSettings] = {**alerts.sources,
                                               **{m.name: m for m in alerts.mappings}}
    return Authenticator(
        alerts.secret.get_secret_value() if alerts.secret else None,
        {name: s.secret.get_secret_value() for name, s in sources.items() if s.secret},
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


def pacing_from(settings: Settings) -> Pacing:
    config = settings.outbox
    return Pacing(poll=config.poll.total_seconds(), lease=config.lease.total_seconds(),
                  backoff=config.backoff.total_seconds(),
                  max_backoff=config.max_backoff.total_seconds(),
                  max_attempts=config.max_attempts)


def schedule_from(settings: Settings) -> Schedule:
    """Plain values for the core: timedeltas and a zoneinfo, no pydantic."""
    config = settings.schedule
    return Schedule(
        timers={severity: Timers(t.ack_timeout, t.update_every, t.approval_reminder)
                for severity, t in config.severity.items()},
        escalation=tuple(EscalationStep(step.after, tuple(step.people), tuple(step.groups))
                         for step in config.escalation),
        timezone=ZoneInfo(settings.timezone),
        review_time=config.review_time,
        working_days=frozenset(WEEKDAYS.index(day) for day in config.working_days),
        pulse_every=config.pulse_every,
        pulse_severities=frozenset(config.pulse_severities),
        archive_after=config.archive_after,
    )


def playbooks_from(settings: Settings) -> dict[CrisisKind, Playbook]:
    """The shipped playbooks, each replaced by the team's own of the same kind."""
    directories = [PLAYBOOKS, *([settings.playbooks_dir] if settings.playbooks_dir else [])]
    try:
        return load_playbooks(directories)
    except PlaybookError as error:
        raise ConfigError(f"CRISISBOT_PLAYBOOKS_DIR: {error}") from None


def templates_from(settings: Settings) -> JinjaTemplates:
    """The team's templates first, then the shipped ones; the kind is named in the template's
    language."""

    def kind_label(kind: CrisisKind, language: str) -> str:
        return team_renderer(settings, language)(KIND_LABELS[kind])

    def moment(at: datetime, language: str) -> str:
        return team_renderer(settings, language)(Text("{at}", {"at": at}))

    directories = [*([settings.templates_dir] if settings.templates_dir else []), TEMPLATES]
    return JinjaTemplates(directories, kind_label, moment=moment)


@dataclass
class Bot:
    settings: Settings
    store: SqlStore
    service: Service
    delivery: Delivery
    local: LocalChat
    clock: Clock
    outbox: Outbox
    inbound: InboundWorker
    console: ConsoleStore
    console_key: str
    scheduler: Pacemaker | None = None
    slack: AsyncApp | None = None
    telegram: TelegramUpdates | None = None

    def renderer(self, language: str | None = None) -> Renderer:
        """Text as the team reads it (the CLI's report and stats)."""
        return team_renderer(self.settings, language)

    def session(self) -> LocalSession:
        return LocalSession(self.service, self.local, self.delivery)

    async def close(self) -> None:
        await self.outbox.stop()
        await self.inbound.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.store.close()


def build_scheduler(bot: Bot) -> Pacemaker:
    """Tick, then deliver what is due (claimed like the outbox worker does, so the two never
    send one notice twice); on PostgreSQL only the lock holder ticks. Not started here: `serve`
    starts it inside its event loop."""

    async def tick() -> None:
        await bot.service.tick()
        await bot.outbox.drain()

    url = bot.settings.database_url
    leader: Leader | None = AdvisoryLock(url) if url.startswith("postgresql") else None
    return Pacemaker(tick, bot.settings.schedule.tick, leader=leader)


async def build(settings: Settings, *, clock: Clock | None = None,
                echo: Callable[[str], None] | None = None) -> Bot:
    """Wire store, rules, chat adapters and the service from settings (migrating the DB)."""
    guard(secrets_of(settings))  # no secret in any log line from here on
    playbooks = playbooks_from(settings)  # a broken playbook is refused before any migration
    await upgrade(settings.database_url)
    store = SqlStore(settings.database_url)
    rules = rules_from(settings)

    def render_for(language: str | None) -> Renderer:
        return team_renderer(
            settings, language,
            lambda who: plain_mention(Who(rules.on(LocalChat.platform, who.person))))

    clock = clock or SystemClock()
    local = LocalChat(render_for, SqlRooms(store), echo, now=clock.now)
    chats: dict[str, Chat] = {local.platform: local}
    slack = slack_chat(settings, rules) if settings.slack.enabled else None
    if slack is not None:
        chats[slack.platform] = slack
    telegram = telegram_chat(settings, rules, store) if settings.telegram.enabled else None
    if telegram is not None:
        chats[telegram.platform] = telegram
    destinations = destinations_from(settings, rules, slack, telegram)
    delivery = Delivery(store, chats, rules, PublishDelivery(store, clock, destinations))
    outbox = Outbox(store, delivery, clock, pacing_from(settings))
    console = ConsoleStore(store)
    service = Service(store, clock, rules, platform=(slack or telegram or local).platform,
                      after_commit=outbox.wake, schedule=schedule_from(settings),
                      playbooks=playbooks, templates=templates_from(settings),
                      language=settings.language, publish_to=tuple(destinations),
                      sign_in=links_on(console, clock, settings),
                      sign_in_ttl=settings.web.login_ttl)
    key = settings.web.secret.get_secret_value() if settings.web.secret else \
        await console.session_key()
    bot = Bot(settings, store, service, delivery, local, clock, outbox,
              InboundWorker(store, clock, pacing_from(settings)), console, key)
    bot.scheduler = build_scheduler(bot)
    if slack is not None:
        bot.slack = slack_app(service, slack, client=slack_client(settings, interactive=True),
                              signing_secret=_secret(settings.slack.signing_secret),
                              jobs=bot.inbound, pin_reaction=settings.slack.pin_reaction)
    if telegram is not None:
        secret = settings.telegram.webhook_secret
        bot.telegram = TelegramUpdates(telegram, service, store,
                                       secret=secret.get_secret_value() if secret else None)
    return bot


class CannotStart(Exception):
    """`serve` cannot run here (the database takes no write, Slack refuses the token); the
    message is one line for the operator."""


async def ready(bot: Bot) -> None:
    """What `serve` checks before it takes requests. The database must take a write (else
    every alert would be refused while /healthz said all was well); Slack must confirm the
    token with `auth.test`, retried while it fails transiently, and the identity it answers
    is kept, so no request waits on Slack to be authorized."""
    problem = await bot.store.writable()
    if problem is not None:
        raise CannotStart(f"the database cannot take a write: {problem}")
    slack = bot.delivery.chats.get(SLACK)
    if not isinstance(slack, SlackChat):
        return
    try:
        await slack.identify()
    except (RetryLater, SlackApiError) as error:
        reason = error.reason if isinstance(error, RetryLater) else error.response.get("error")
        raise CannotStart(f"Slack did not confirm the bot token (auth.test): {reason}") from None


def _first_line(error: SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def destinations_from(settings: Settings, rules: Rules, slack: SlackChat | None,
                      telegram: TelegramChat | None) -> dict[str, Destination]:
    """The `[publish]` destinations that are set; a channel needs its platform's bot token
    (a team on Telegram may announce in Slack with the token alone, and the other way)."""
    config = settings.publish

    def render(text: Text, language: str) -> str:
        return team_renderer(settings, language)(text)

    found: dict[str, Destination] = {}
    if config.status_page:
        found["status"] = StatusPage(settings.base_url)
    if config.telegram_channel:
        if telegram is None:
            raise ConfigError("publish.telegram_channel needs CRISISBOT_TELEGRAM__BOT_TOKEN")
        found["telegram"] = TelegramChannel(telegram.app.bot, config.telegram_channel, render)
    if config.slack_channel:
        if settings.slack.bot_token is None:
            raise ConfigError("publish.slack_channel needs CRISISBOT_SLACK__BOT_TOKEN")
        found["slack"] = SlackChannel(slack or slack_chat(settings, rules),
                                      config.slack_channel, render)
    if config.webhook_url and config.webhook_secret is not None:
        found["webhook"] = SignedWebhook(config.webhook_url,
                                         config.webhook_secret.get_secret_value())
    return found


def slack_client(settings: Settings, *, interactive: bool) -> AsyncWebClient:
    """The outbox's client never retries by itself (the outbox owns retries and checks for an
    earlier post first); the interactive one (ephemeral answers, modals) retries a dropped
    connection and one rate limit, as a person is waiting; bolt gives it the token with each
    request (from the identity fetched at start-up). Both wait at most `slack.timeout`."""
    handlers = ([AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(1)]
                if interactive else [])
    url = settings.slack.api_url
    return AsyncWebClient(token=None if interactive else _secret(settings.slack.bot_token),
                          base_url=url if url.endswith("/") else url + "/",
                          timeout=math.ceil(settings.slack.timeout.total_seconds()),
                          retry_handlers=handlers)


def slack_chat(settings: Settings, rules: Rules) -> SlackChat:
    def mention(who: Who) -> str:  # a bound person under their Slack id
        return slack_mention(Who(rules.on(SLACK, who.person)))

    def render_for(language: str | None) -> Renderer:
        return team_renderer(settings, language, mention=mention, escape=slack_escape)

    return SlackChat(slack_client(settings, interactive=False), render_for,
                     channel_pattern=settings.slack.channel_pattern,
                     broadcast_channel=settings.slack.broadcast_channel,
                     publishing=settings.publish.configured)


def _secret(value: SecretStr | None) -> str:
    if value is None:
        raise ValueError("a Slack credential is missing")
    return str(value.get_secret_value())


def telegram_chat(settings: Settings, rules: Rules, store: Store) -> TelegramChat:
    """The Telegram chat on its PTB `Application` (Telegram mentions, a bound person under
    their Telegram id, the configured language unless the incident has its own), pacing its
    chats through `store`, shared with every other process on the database."""
    config = settings.telegram
    if config.bot_token is None:
        raise ValueError("Telegram needs CRISISBOT_TELEGRAM__BOT_TOKEN")

    def render_for(language: str | None, mention: Callable[[Who], str]) -> Renderer:
        return team_renderer(settings, language,
                             lambda who: mention(Who(rules.on(TELEGRAM, who.person))))

    app = build_application(config.bot_token.get_secret_value(), config.api_url,
                            config.timeout.total_seconds())
    limits = Limits(per_chat_per_second=config.per_chat_per_second,
                    per_group=config.per_group_per_minute, group_window=60.0)
    return TelegramChat(app, config.chat_id, render_for, store,
                        name_pattern=settings.slack.channel_pattern, limits=limits,
                        publishing=settings.publish.configured)


def web_app(bot: Bot) -> FastAPI:
    """The HTTP app of `serve`, with its background work (group commit, chat delivery,
    digests) started and stopped by the app's lifespan."""
    authenticate = authenticator(bot.settings, bot.clock)
    if not authenticate.configured:
        log.warning("no CRISISBOT_ALERTS__SECRET (or per-source secret) is set: every alert "
                    "webhook will be refused with 401")
    postgres = bot.settings.database_url.startswith("postgresql")
    intake = GroupCommit(bot.service.handle_alerts, workers=INTAKE_WORKERS if postgres else 1)
    feeds = feed_poller(bot.settings, intake.submit, bot.clock)
    posts: dict[str, Endpoint] = {}
    socket: AsyncSocketModeHandler | None = None
    if bot.slack is not None and bot.settings.slack.app_token is not None:
        socket = AsyncSocketModeHandler(bot.slack, _secret(bot.settings.slack.app_token))
    elif bot.slack is not None:
        handler = AsyncSlackRequestHandler(bot.slack)
        verifier = SignatureVerifier(_secret(bot.settings.slack.signing_secret))

        async def slack_events(request: Request) -> Response:
            refused = slack_refusal(verifier, request.headers, await request.body())
            if refused is not None:
                return JSONResponse({"error": refused[1]}, status_code=refused[0])
            return await handler.handle(request)

        posts["/slack/events"] = slack_events
    if bot.telegram is not None:
        posts["/telegram/webhook"] = telegram_endpoint(bot.telegram)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        intake.start()
        if bot.telegram is not None:
            await bot.telegram.start()
        if bot.scheduler is not None:
            bot.scheduler.start()
        bot.outbox.start()  # first delivers what an earlier run left behind
        bot.inbound.start()  # and does the event work it had accepted
        if socket is not None:
            await socket.connect_async()  # type: ignore[no-untyped-call]
        digests = asyncio.create_task(_digests_forever(bot))
        if feeds is not None:
            feeds.start()
        try:
            yield
        finally:
            if socket is not None:
                await socket.close_async()  # type: ignore[no-untyped-call]
            if feeds is not None:
                await feeds.stop()
            await intake.stop()
            if bot.scheduler is not None:
                await bot.scheduler.stop()
            digests.cancel()
            await asyncio.gather(digests, return_exceptions=True)
            await bot.outbox.stop()
            await bot.inbound.stop()
            try:
                await bot.service.send_digests()
                async with asyncio.timeout(bot.settings.outbox.drain_on_stop.total_seconds()):
                    await bot.outbox.drain()
            except Exception:
                log.exception("could not deliver every chat notice before stopping; they "
                              "stay queued for the next start")
            if bot.telegram is not None:
                await bot.telegram.stop()

    schemas, definitions = json_schemas(SHAPES)
    app = create_app(parsers=alert_parsers(bot.settings), authenticate=authenticate,
                     submit=intake.submit, ping=bot.store.writable, clock=bot.clock,
                     lifespan=lifespan, posts=posts, schemas=schemas, definitions=definitions)
    app.include_router(console_router(web_console(bot)))
    if bot.settings.publish.status_page:
        app.include_router(status_page(bot))
    return app


def sign_in_links(bot: Bot) -> SignInLinks:
    """One-time sign-in links to the console, under `CRISISBOT_PUBLIC_URL`."""
    return links_on(bot.console, bot.clock, bot.settings)


def links_on(console: ConsoleStore, clock: Clock, settings: Settings) -> SignInLinks:
    return SignInLinks(console.add_link, console.use_link, console.link_usable, clock,
                       settings.base_url)


def web_console(bot: Bot) -> Console:
    """The web console: sessions signed with the stored (or configured) key, Secure cookies
    when the public URL is HTTPS, people shown as in the built-in chat."""
    settings = bot.settings
    rules = bot.service.rules

    def render_for(language: str) -> Renderer:
        return team_renderer(settings, language,
                             lambda who: plain_mention(Who(rules.on(LocalChat.platform,
                                                                    who.person))))

    async def report(number: int, language: str) -> str:
        return await report_text(bot, number, language, html=True)

    sessions = Sessions(bot.console_key, settings.web.session_ttl,
                        secure=settings.base_url.startswith("https://"))
    return Console(bot.service, sessions, sign_in_links(bot), Changes(bot.console.last_event),
                   bot.console.incident_page, render_for, settings.language, report)


async def report_text(bot: Bot, number: int, language: str | None = None, *,
                      html: bool = False) -> str:
    """The report in `language` (else the incident's, else the team's), as Markdown or
    HTML."""
    report = await bot.service.report(number)
    language = language or report.incident.language or bot.settings.language
    render = bot.renderer(language)
    lines = [render(line) for line in report.lines()]
    if not html:
        return "\n".join(lines)
    labels = (render(_("mentions per interval")), render(_("negative share, %")))
    return html_report(lines, language=language, series=report.series, chart_labels=labels,
                       words=render)


def status_page(bot: Bot) -> APIRouter:
    """`/status`, `/status/feed.atom`, `/status.json` (see `bot/status/routes.py`)."""
    keep = timedelta(days=bot.settings.publish.status_days)

    def render(text: Text, language: str) -> str:
        return team_renderer(bot.settings, language)(text)

    async def board() -> list[Board]:
        return await bot.service.status_board(keep)

    return status_routes(board, render, language=bot.settings.language,
                         base_url=bot.settings.base_url)


def feed_poller(settings: Settings, submit: Submit, clock: Clock) -> FeedPoller | None:
    """The `[[alerts.feeds]]` poller, or None when no feed is configured."""
    if not settings.alerts.feeds:
        return None
    feeds = [Feed(f.name, f.url, f.brand, f.every) for f in settings.alerts.feeds]
    return FeedPoller(feeds, submit, clock)


def telegram_endpoint(updates: TelegramUpdates) -> Endpoint:
    """`POST /telegram/webhook`: the adapter checks the secret token and handles the update."""

    async def receive(request: Request) -> Response:
        status, answer = await updates.webhook(request.headers, await request.body())
        return JSONResponse(answer, status_code=status)

    return receive


async def _digests_forever(bot: Bot) -> None:
    """Tell storm digests that came due after their storm went quiet."""
    interval = min(bot.settings.alerts.digest_seconds / 4, 5.0)
    while True:
        await asyncio.sleep(interval)
        try:
            await bot.service.send_digests()
        except Exception:
            log.exception("could not send alert digests")


def _settle_heap() -> None:
    """What is built by now (modules, app, settings) lives as long as the process: collect
    once, then keep it out of the cycle collector's sight. Otherwise every full collection
    walks it again and pauses the event loop for 60-130 ms, the slowest requests of an alert
    storm."""
    gc.collect()
    gc.freeze()


async def serve(settings: Settings) -> None:
    """Run the bot until SIGTERM/SIGINT; uvicorn finishes in-flight requests, then the
    lifespan drains the intake and the outbox."""
    alert_parsers(settings)  # bad mappings are refused before the database is touched
    try:
        bot = await build(settings, echo=logging.getLogger("crisisbot.chat.local").info)
    except SQLAlchemyError as error:  # e.g. a migration on a read-only file
        raise CannotStart(f"the database cannot be prepared: {_first_line(error)}") from None
    try:
        await ready(bot)
        # No access log, no `Server` header, no X-Forwarded-* rewriting: nothing here uses
        # the client's address, and each is work on every request of an alert storm.
        config = uvicorn.Config(web_app(bot), host=settings.host, port=settings.port,
                                log_config=None, lifespan="on", access_log=False,
                                proxy_headers=False, server_header=False,
                                timeout_graceful_shutdown=GRACE_S)
        server = uvicorn.Server(config)
        _settle_heap()
        await server.serve()
    finally:
        await bot.close()
