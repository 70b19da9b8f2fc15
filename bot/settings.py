"""Every knob in one place, and the only module that reads the environment.

Sources, strongest first: environment (`CRISISBOT_*`, nested with `__`), `.env`, the TOML file
named by `CRISISBOT_CONFIG`, then defaults.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Sequence
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.core.models import CrisisKind, Severity
from bot.core.pace import DEFAULT_TIMERS
from bot.core.rules import COMMANDER, DEFAULT_POLICIES, DEFAULT_ROLES
from bot.core.text import LANGUAGES, Text, _


class SlackSettings(BaseModel):
    """Slack credentials and where incident channels go. `channel_pattern` may use `{number}`,
    `{slug}` (of the title), `{severity}` and `{kind}`; `broadcast_channel` (`#name` or an id)
    hears about every new incident; `pin_reaction` marks messages for the timeline."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    channel_pattern: str = "crisis-{number}-{slug}"
    broadcast_channel: str | None = None
    pin_reaction: str = "pushpin"
    timeout: Duration = timedelta(seconds=10)
    """The longest one Web API call may take (connect to last byte) before it is given up
    and retried later; see `CALLS_PER_NOTICE` for how it bounds the outbox lease."""

    @field_validator("channel_pattern")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        fields = set(re.findall(r"\{(\w*)\}", value))
        unknown = fields - {"number", "slug", "severity", "kind"}
        if unknown or "number" not in fields:
            raise ValueError("use {number} and optionally {slug}, {severity}, {kind}")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token and self.signing_secret)


class TelegramSettings(BaseModel):
    bot_token: SecretStr | None = None
    api_url: str = "https://api.telegram.org/bot"
    webhook_secret: SecretStr | None = None
    chat_id: int | None = None
    per_chat_per_second: float = Field(default=1.0, gt=0)
    """Messages a second the bot sends to any one chat (Telegram: about 1)."""
    per_group_per_minute: int = Field(default=20, ge=1)
    """Messages a minute the bot sends to any one group (Telegram: 20)."""
    timeout: Duration = timedelta(seconds=10)
    """The longest one Bot API request may take (connect, write, read, pool each)."""

    @property
    def enabled(self) -> bool:
        return self.bot_token is not None


class AlertSourceSettings(BaseModel):
    secret: SecretStr | None = None
    url_credentials: bool = False
    """Also accept the secret in the URL (HTTP Basic userinfo or `?token=`), for senders that
    cannot set headers (YouScan)."""


class RouteMatch(BaseModel):
    source: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    kind: CrisisKind | None = None


class RouteSettings(BaseModel):
    """`[[alerts.routes]]`: the first rule whose `match` fits an alert decides how its
    incident opens."""

    match: RouteMatch = Field(default_factory=RouteMatch)
    severity: Severity | None = None
    kind: CrisisKind | None = None
    platform: str | None = None
    invite: list[str] = Field(default_factory=list)
    playbook: str | None = None
    publish_to: list[Literal["status", "telegram", "slack", "webhook"]] | None = None
    """Where the statements of incidents this rule opens may go (a subset of [publish])."""


class SpikeSettings(BaseModel):
    """When unflagged mentions of a topic become an incident: the last `window` against the
    same window on each of the previous `baseline_days` days."""

    z: float = Field(default=3.0, gt=0)
    min_count: int = Field(default=30, ge=1)
    negative_share: float = Field(default=0.40, gt=0, le=1)
    negative_margin: float = Field(default=0.15, gt=0, le=1)
    min_negative_count: int = Field(default=20, ge=1)
    window_minutes: int = Field(default=60, ge=1, le=1440)
    baseline_days: int = Field(default=7, ge=1, le=60)


class ApprovalStepSettings(BaseModel):
    roles: list[str] = Field(min_length=1)
    count: int = Field(ge=1, le=20)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_OFF = frozenset({"off", "none", "never"})


def parse_duration(value: Any) -> Any:
    """`90` or `"90"` (seconds), `"90s"`, `"15m"`, `"1h"`, `"2d"`, `"1h30m"`; `"off"` is None.
    Anything else is passed on for pydantic to refuse."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        return value
    text = value.strip().lower().replace(" ", "")
    if text in _OFF:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return timedelta(seconds=float(text))
    if text and re.fullmatch(f"(?:{_DURATION.pattern})+", text):
        return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text)))
    raise ValueError("a duration: seconds, or like 90s, 15m, 1h, 2d, 1h30m (or off)")


def _positive(value: timedelta | None) -> timedelta | None:
    if value is not None and value <= timedelta(0):
        raise ValueError("a duration must be positive (use off to switch it off)")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""A duration that must be given (may be zero, e.g. an escalation step right at the deadline)."""
OptionalDuration = Annotated[timedelta | None, BeforeValidator(parse_duration)]
"""A positive duration, or `off`."""


class FeedSettings(BaseModel):
    """`[[alerts.feeds]]`: an RSS/Atom feed (e.g. a Google Alert delivered as a feed) polled
    every `every`; each new entry is a mention of `brand` (else of `name`)."""

    name: str = Field(min_length=1, max_length=100)
    url: str = Field(pattern=r"^https?://\S+$")
    brand: str | None = None
    every: Duration = timedelta(minutes=10)

    @field_validator("every")
    @classmethod
    def _every_positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("a feed is polled at most every second")
        return value


class SignatureSettings(BaseModel):
    """A sender's own HMAC signature header: `prefix` + hex digest of the raw body."""

    header: str = Field(min_length=1, pattern=r"^[A-Za-z0-9-]+$")
    algorithm: Literal["sha256", "sha1", "sha512"] = "sha256"
    prefix: str = ""


class MappingSettings(AlertSourceSettings):
    """`[[alerts.mappings]]`: a JSON sender described by JMESPath expressions; `name` is its
    source (`POST /alerts/<name>`). Authenticates like any source (its `secret`, else the
    shared one; `url_credentials`), or by its own `signature` header."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    signature: SignatureSettings | None = None
    title: str
    group: str | None = None
    dedup: str | None = None
    fingerprint: str | None = None
    severity: str | None = None
    status: str | None = None
    resolved_when: list[str | int | float | bool] = Field(default_factory=list)
    labels: str | None = None
    url: str | None = None
    description: str | None = None
    kind: str | None = None
    items: str | None = None

    def expressions(self) -> dict[str, str]:
        """The JMESPath expression of each field this mapping sets (compiled by app.py, which
        refuses bad ones with their place)."""
        return self.model_dump(exclude_none=True, exclude={
            "name", "secret", "url_credentials", "signature", "resolved_when"})


class AlertSettings(BaseModel):
    secret: SecretStr | None = None
    sources: dict[str, AlertSourceSettings] = Field(default_factory=dict)
    routes: list[RouteSettings] = Field(default_factory=list)
    digest_seconds: float = Field(default=60.0, gt=0, le=86400)
    spike: SpikeSettings = Field(default_factory=SpikeSettings)
    feeds: list[FeedSettings] = Field(default_factory=list)
    mappings: list[MappingSettings] = Field(default_factory=list)

    @field_validator("feeds")
    @classmethod
    def _feed_names_unique(cls, value: list[FeedSettings]) -> list[FeedSettings]:
        names = [f.name for f in value]
        if len(set(names)) != len(names):
            raise ValueError("each feed needs a name of its own")
        return value


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TimerSettings(BaseModel):
    """One severity's deadlines (see `[schedule.severity.SEV1]` in the example TOML)."""

    ack_timeout: OptionalDuration = None
    update_every: OptionalDuration = None
    approval_reminder: OptionalDuration = None

    @field_validator("ack_timeout", "update_every", "approval_reminder")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        return _positive(value)


class EscalationStepSettings(BaseModel):
    after: Duration = timedelta(0)
    people: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    @field_validator("people", "groups")
    @classmethod
    def _platform_ids(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if ":" not in p]
        if bad:
            raise ValueError(f"name people as platform:id, e.g. slack:U024BE7LH (got {bad})")
        return value


class PersonSettings(BaseModel):
    """One human and their ids on each platform (`[[people]]` in the TOML file); the first id
    is the one under which they hold roles and decide."""

    name: str
    ids: list[str] = Field(min_length=1)

    @field_validator("ids")
    @classmethod
    def _platform_ids(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if ":" not in p or not p.split(":", 1)[1]]
        if bad:
            raise ValueError(f"name ids as platform:id, e.g. telegram:93372553 (got {bad})")
        return value


def _default_timers() -> dict[Severity, TimerSettings]:
    return {
        severity: TimerSettings(ack_timeout=t.ack_timeout, update_every=t.update_every,
                                approval_reminder=t.approval_reminder)
        for severity, t in DEFAULT_TIMERS.items()
    }


class ScheduleSettings(BaseModel):
    """Escalations, reminders and follow-ups; the three top-level durations, when set, apply to
    every severity (e.g. `CRISISBOT_SCHEDULE__ACK_TIMEOUT=2m`)."""

    tick: Duration = timedelta(seconds=5)
    ack_timeout: OptionalDuration = None
    update_every: OptionalDuration = None
    approval_reminder: OptionalDuration = None
    severity: dict[Severity, TimerSettings] = Field(default_factory=_default_timers)
    escalation: list[EscalationStepSettings] = Field(default_factory=list)
    review_time: time = time(10, 0)
    working_days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    pulse_every: OptionalDuration = timedelta(minutes=15)
    pulse_severities: list[Severity] = Field(
        default_factory=lambda: [Severity.SEV1, Severity.SEV2])
    archive_after: OptionalDuration = None
    """Archive the incident channel this long after resolution (e.g. `7d`); off by default."""

    @field_validator("ack_timeout", "update_every", "approval_reminder", "pulse_every",
                     "archive_after")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        return _positive(value)

    @field_validator("tick")
    @classmethod
    def _tick_positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the tick must be positive")
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        """A severity table in the TOML overrides only the keys it names."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {s.value: t.model_dump() for s, t in _default_timers().items()}
        for key, timers in value.items():
            name = str(key.value if isinstance(key, Severity) else key).upper()
            extra = (timers.model_dump(exclude_unset=True) if isinstance(timers, TimerSettings)
                     else timers)
            merged[name] = {**merged.get(name, {}), **extra} if isinstance(extra, dict) else extra
        return merged

    @field_validator("working_days")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise ValueError(f"weekdays are {', '.join(WEEKDAYS)} (got {unknown})")
        return days

    @model_validator(mode="after")
    def _overrides(self) -> ScheduleSettings:
        """Apply the global durations to every severity."""
        for name in ("ack_timeout", "update_every", "approval_reminder"):
            value = getattr(self, name)
            if value is not None:
                for timers in self.severity.values():
                    setattr(timers, name, value)
        return self


class OutboxSettings(BaseModel):
    """How chat notices are delivered: the worker polls every `poll` (it is also woken by every
    change), holds a claimed notice for `lease`, retries failures after `backoff` doubling up to
    `max_backoff`, and gives up on a notice failing otherwise than "retry later" after
    `max_attempts`."""

    poll: Duration = timedelta(seconds=5)
    lease: Duration = timedelta(minutes=2)
    backoff: Duration = timedelta(seconds=1)
    max_backoff: Duration = timedelta(minutes=5)
    max_attempts: int = Field(default=10, ge=1)
    drain_on_stop: Duration = timedelta(seconds=5)

    @field_validator("poll", "lease", "backoff", "max_backoff")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be positive")
        return value


class AccessSettings(BaseModel):
    """Who may do what beyond the fixed table (README, "Who may do what"): the roles whose
    holders give and take back roles (`CRISISBOT_ACCESS__ASSIGN_ROLES='["commander"]'`)."""

    assign_roles: list[str] = Field(default_factory=lambda: [COMMANDER], min_length=1)

    @field_validator("assign_roles")
    @classmethod
    def _lowercase(cls, value: list[str]) -> list[str]:
        return [role.strip().lower() for role in value]


def _default_approval() -> dict[Severity, list[ApprovalStepSettings]]:
    return {
        severity: [ApprovalStepSettings(roles=sorted(s.roles), count=s.count) for s in steps]
        for severity, steps in DEFAULT_POLICIES.items()
    }


class WebSettings(BaseModel):
    """The web console's sessions."""

    secret: SecretStr | None = None
    """Signs session cookies; generated once and kept in the database when unset, so a restart
    keeps everyone signed in."""
    session_ttl: Duration = timedelta(hours=12)
    login_ttl: Duration = timedelta(minutes=10)
    """How long a sign-in link stays valid: one sent for `/crisis web`, or printed by
    `crisisbot login` unless `--ttl` says."""


class PublishSettings(BaseModel):
    """Where approved statements are published (`/crisis publish`); each destination is off
    until set. `status_page` serves `/status`, `/status/feed.atom` and `/status.json`;
    `telegram_channel` (`@name` or a numeric id; the bot must be its admin) uses the Telegram
    bot token; `slack_channel` (an id or `#name`) the Slack bot token; `webhook_url` receives
    each statement signed with `webhook_secret` (Standard Webhooks, `whsec_...`)."""

    status_page: bool = False
    status_days: int = Field(default=7, ge=0)
    """How many days a resolved incident stays on the status page."""
    telegram_channel: str | None = None
    slack_channel: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    @property
    def configured(self) -> bool:
        """Some destination is set (approved cards then carry a Publish button)."""
        return bool(self.status_page or self.telegram_channel or self.slack_channel
                    or self.webhook_url)

    @model_validator(mode="after")
    def _webhook_signed(self) -> PublishSettings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("webhook_url needs webhook_secret (whsec_<base64>) to sign with")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CRISISBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: str = "sqlite+aiosqlite:///./crisisbot.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = None
    """The externally reachable base URL of `serve`, for links the bot sends; None means
    `http://HOST:PORT`."""
    language: str = "en"
    timezone: str = "UTC"
    calendar: Literal["gregorian", "persian"] = "gregorian"
    """Dates in the Gregorian or (`persian`) the Solar Hijri calendar, in every language."""
    default_severity: Severity = Severity.SEV3
    roles: list[str] = Field(default_factory=lambda: list(DEFAULT_ROLES), min_length=1)
    role_names: dict[str, dict[str, str]] = Field(default_factory=dict)
    """What each role is called per language (`[role_names.duty_officer] ru = "дежурный"`);
    the built-in roles are named by the catalogues unless given here."""
    veto_roles: list[str] = Field(default_factory=lambda: ["legal"])
    approval: dict[Severity, list[ApprovalStepSettings]] = Field(
        default_factory=_default_approval
    )
    slack: SlackSettings = Field(default_factory=SlackSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    playbooks_dir: Path | None = None
    """The team's playbooks (`<kind>.toml`); each replaces the shipped one of its kind."""
    templates_dir: Path | None = None
    """The team's statement templates (`<lang>/[<kind>/]<name>.j2`), searched before ours."""
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    people: list[PersonSettings] = Field(default_factory=list)
    web: WebSettings = Field(default_factory=WebSettings)
    """Bindings of one person's Slack and Telegram ids (roles and approvals count once)."""
    access: AccessSettings = Field(default_factory=AccessSettings)
    publish: PublishSettings = Field(default_factory=PublishSettings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("an IANA timezone, e.g. Europe/Berlin") from None
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("roles", "veto_roles")
    @classmethod
    def _lowercase_roles(cls, value: list[str]) -> list[str]:
        return [role.strip().lower() for role in value]

    @field_validator("role_names")
    @classmethod
    def _named_in_known_languages(
        cls, value: dict[str, dict[str, str]]
    ) -> dict[str, dict[str, str]]:
        for names in value.values():
            unknown = sorted(set(names) - set(LANGUAGES))
            if unknown:
                raise ValueError(f"languages must be among {', '.join(LANGUAGES)}, "
                                 f"not {', '.join(unknown)}")
        return {role.strip().lower(): names for role, names in value.items()}

    @field_validator("approval")
    @classmethod
    def _every_severity(
        cls, value: dict[Severity, list[ApprovalStepSettings]]
    ) -> dict[Severity, list[ApprovalStepSettings]]:
        return {**_default_approval(), **value}

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, dotenv_settings]
        config = os.environ.get("CRISISBOT_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return (*sources, file_secret_settings)

    @property
    def base_url(self) -> str:
        """`public_url` without its trailing slash, else where `serve` listens."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def check_consistency(self) -> list[str]:
        """Problems pydantic cannot see field by field: roles that policies name but the
        catalogue lacks."""
        problems = []
        for severity, steps in self.approval.items():
            for step in steps:
                unknown = sorted(set(step.roles) - set(self.roles))
                if unknown:
                    problems.append(
                        f"approval.{severity.value}: unknown role(s) {', '.join(unknown)}"
                    )
        platforms = {"local"}
        platforms |= {"slack"} if self.slack.enabled else set()
        platforms |= {"telegram"} if self.telegram.enabled else set()
        for index, route in enumerate(self.alerts.routes):
            if route.platform is not None and route.platform not in platforms:
                problems.append(f"alerts.routes.{index}.platform: {route.platform} is not "
                                f"configured (configured: {', '.join(sorted(platforms))})")
        for name in ("playbooks_dir", "templates_dir"):
            folder = getattr(self, name)
            if folder is not None and not folder.is_dir():
                problems.append(f"CRISISBOT_{name.upper()}: no such directory: {folder}")
        owners: dict[str, str] = {}
        for person in self.people:
            for person_id in person.ids:
                other = owners.setdefault(person_id, person.name)
                if other != person.name:
                    problems.append(f"people: {person_id} is bound to both {other} and "
                                    f"{person.name}")
        call = max(self.slack.timeout, self.telegram.timeout)
        if self.outbox.lease < call * CALLS_PER_NOTICE * LEASE_MARGIN:
            problems.append(
                f"outbox.lease: {_seconds(self.outbox.lease)} is too short: one notice makes up "
                f"to {CALLS_PER_NOTICE} platform calls of up to {_seconds(call)} each; make it "
                f"at least {_seconds(call * CALLS_PER_NOTICE * LEASE_MARGIN)} (or the timeouts "
                f"shorter), so a slow call never outlives its claim and is sent twice")
        unknown_veto = sorted(set(self.veto_roles) - set(self.roles))
        if unknown_veto:
            problems.append(f"veto_roles: unknown role(s) {', '.join(unknown_veto)}")
        unknown_assigners = sorted(set(self.access.assign_roles) - set(self.roles))
        if unknown_assigners:
            problems.append(f"access.assign_roles: unknown role(s) "
                            f"{', '.join(unknown_assigners)}")
        unknown_named = sorted(set(self.role_names) - set(self.roles))
        if unknown_named:
            problems.append(f"role_names: unknown role(s) {', '.join(unknown_named)}")
        return problems


CALLS_PER_NOTICE = 6
"""The most platform calls one outbox notice makes one after another (opening a Slack channel:
look-up, create, info, topic, purpose, announcement); each is bounded by the platform's
`timeout`, and the outbox client never retries inside a call."""
LEASE_MARGIN = 2
"""The outbox lease is at least this many times the longest a notice's calls can take."""


def _seconds(value: timedelta) -> str:
    return f"{value.total_seconds():g} s"


class ConfigError(Exception):
    """Settings that cannot be used, one problem per item (a message to translate, or pydantic's
    own English words)."""

    def __init__(self, problems: Text | str | Sequence[Text | str]) -> None:
        listed = [problems] if isinstance(problems, Text | str) else list(problems)
        super().__init__("\n".join(str(p) for p in listed))
        self.problems = listed


def load(**overrides: Any) -> Settings:
    """Read settings, turning validation errors into a readable `ConfigError`."""
    config = os.environ.get("CRISISBOT_CONFIG")
    if config and not Path(config).is_file():
        raise ConfigError([_("CRISISBOT_CONFIG: no such file: {path}", path=config)])
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise ConfigError([_describe(e) for e in error.errors()]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        # tomllib's reason already ends "(at line 2, column 7)".
        raise ConfigError([_("{path}: not valid TOML: {reason}", path=config,
                             reason=str(error))]) from None
    problem = database_url_problem(settings.database_url)
    if problem is not None:
        raise ConfigError([problem])
    problems = settings.check_consistency()
    if problems:
        raise ConfigError(problems)
    return settings


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


def half_configured(settings: Settings) -> list[Text]:
    """Platforms given some of what they need but not all: said by `check-config`, because
    such a platform stays off (Slack) or has nowhere to open incidents (Telegram)."""
    found = []
    slack = settings.slack
    if (slack.bot_token is None) != (slack.signing_secret is None):
        given, missing = (("BOT_TOKEN", "SIGNING_SECRET") if slack.signing_secret is None
                          else ("SIGNING_SECRET", "BOT_TOKEN"))
        found.append(_("CRISISBOT_SLACK__{given} is set but CRISISBOT_SLACK__{missing} is not: "
                       "Slack stays off until both are set.", given=given, missing=missing))
    if settings.telegram.bot_token is not None and settings.telegram.chat_id is None:
        found.append(_("CRISISBOT_TELEGRAM__BOT_TOKEN is set but CRISISBOT_TELEGRAM__CHAT_ID "
                       "is not: Telegram has no team chat to open incidents in."))
    return found


def secrets_of(settings: Settings) -> list[str]:
    """Every secret the settings hold (each `SecretStr`, wherever it sits, and the database
    password): what the log must never show."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(settings)
    with contextlib.suppress(ArgumentError, ValueError):
        password = make_url(settings.database_url).password
        if password:
            found.append(str(password))
    return found


def language_hint() -> str:
    """The team's language when the settings cannot be read (to refuse them in it):
    `CRISISBOT_LANGUAGE` if it names a known language, else English."""
    language = os.environ.get("CRISISBOT_LANGUAGE", "")
    return language if language in LANGUAGES else LANGUAGES[0]


def _describe(error: Any) -> str:
    path = "__".join(str(part) for part in error["loc"]).upper()
    return f"CRISISBOT_{path}: {error['msg']} (got {error.get('input')!r})"


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings with every secret shown as `**********` (or unset), database
    password included."""
    shown = settings.model_dump(mode="json")
    shown["database_url"] = make_url(settings.database_url).render_as_string(hide_password=True)
    return shown
