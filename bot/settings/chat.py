"""The chat platforms' credentials and limits, and how the outbox delivers their notices."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, Field, SecretStr, field_validator

from bot.settings.durations import Duration


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


CALLS_PER_NOTICE = 6
"""The most platform calls one outbox notice makes one after another (opening a Slack channel:
look-up, create, info, topic, purpose, announcement); each is bounded by the platform's
`timeout`, and the outbox client never retries inside a call."""
LEASE_MARGIN = 2
"""The outbox lease is at least this many times the longest a notice's calls can take."""
