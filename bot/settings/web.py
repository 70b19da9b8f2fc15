"""The web console's sessions and where approved statements are published."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from bot.core.rules import SIGN_IN_LONGEST
from bot.settings.durations import Duration


class WebSettings(BaseModel):
    """The web console's sessions."""

    secret: SecretStr | None = None
    """Signs session cookies; generated once and kept in the database when unset, so a restart
    keeps everyone signed in."""
    session_ttl: Duration = timedelta(hours=12)
    login_ttl: Duration = timedelta(minutes=10)
    """How long a sign-in link stays valid: one sent for `/crisis web`, or printed by
    `crisisbot login` unless `--ttl` says."""

    @field_validator("login_ttl")
    @classmethod
    def _a_link_is_no_lasting_key(cls, value: timedelta) -> timedelta:
        """Refused at start rather than by every `/crisis web` that would use it."""
        if value > SIGN_IN_LONGEST:
            raise ValueError(f"at most {SIGN_IN_LONGEST.days} days: a forgotten sign-in link "
                             "must not stay a key")
        return value


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
