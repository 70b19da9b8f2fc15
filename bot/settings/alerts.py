"""`[alerts]`: the webhook secrets, routing rules, spike detection, polled feeds and
JMESPath mappings."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.core.models import CrisisKind, Severity
from bot.settings.durations import Duration


class AlertSourceSettings(BaseModel):
    secret: SecretStr | None = None
    previous_secret: SecretStr | None = None
    """Also accepted while senders move to a new `secret` (rotation without a gap); remove it
    once they all use the new one."""
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
        """The JMESPath expression of each field this mapping sets (compiled by
        `bot/app/intake.py`, which refuses bad ones with their place)."""
        return self.model_dump(exclude_none=True, exclude={
            "name", "secret", "previous_secret", "url_credentials", "signature",
            "resolved_when"})


class AlertSettings(BaseModel):
    secret: SecretStr | None = None
    previous_secret: SecretStr | None = None
    """Also accepted while senders move to a new `secret` (see `AlertSourceSettings`)."""
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
