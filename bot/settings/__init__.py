"""Every knob in one place, and the only module that reads the environment.

Sources, strongest first: environment (`CRISISBOT_*`, nested with `__`), `.env`, the TOML file
named by `CRISISBOT_CONFIG`, then defaults.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.core.models import Severity
from bot.core.rules import DEFAULT_ROLES
from bot.core.text import LANGUAGES, Text, _
from bot.logsafe import Redactor, url_secrets
from bot.settings.access import (
    AccessSettings,
    ApprovalStepSettings,
    PersonSettings,
    default_approval,
)
from bot.settings.alerts import AlertSettings
from bot.settings.chat import (
    CALLS_PER_NOTICE,
    LEASE_MARGIN,
    OutboxSettings,
    SlackSettings,
    TelegramSettings,
)
from bot.settings.database import database_url_problem
from bot.settings.schedule import ScheduleSettings
from bot.settings.web import PublishSettings, WebSettings


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
        default_factory=default_approval
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
        return {**default_approval(), **value}

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
        catalogue lacks, a severity with no approval step."""
        problems = []
        for severity, steps in self.approval.items():
            if not steps:  # a statement nobody can approve would stay pending for ever
                problems.append(f"approval.{severity.value}: at least one approval step is "
                                "needed (roles and count)")
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
    """Every secret the settings hold (each `SecretStr`, wherever it sits, the database
    password, and the credentials in feed and publish webhook URLs): what the log must never
    show."""
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
    for url in [feed.url for feed in settings.alerts.feeds] + [settings.publish.webhook_url]:
        found += url_secrets(url or "")
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
    password and the credentials in feed and publish webhook URLs included."""
    shown = settings.model_dump(mode="json")
    shown["database_url"] = make_url(settings.database_url).render_as_string(hide_password=True)
    hide = Redactor()
    hide.add(secrets_of(settings))
    for feed in shown["alerts"]["feeds"]:
        feed["url"] = hide.redact(feed["url"])
    if settings.publish.webhook_url:
        shown["publish"]["webhook_url"] = hide.redact(settings.publish.webhook_url)
    return shown
