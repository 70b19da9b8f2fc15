"""No secret in any log line: a logging filter that redacts every configured secret, the
token inside a Telegram Bot API URL (httpx logs each request's URL) and a key read from the
database, from each record's message, arguments, exception and stack text.

It runs where records are made (the log record factory), not on one handler, so every handler
sees the redacted record: ours, uvicorn's, a test's capture.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus, urlsplit

MASK = "**********"
BOT_API_TOKEN = re.compile(r"(?<=/bot)\d+:[\w-]+")
"""The token in `https://api.telegram.org/bot<token>/<method>`, configured or not."""
SIGN_IN_TOKEN = re.compile(r"(?<=/signin/)[\w-]+")
"""The token of a console sign-in link (`<public url>/signin/<token>`: a request line, an
answer in the local chat)."""
CREDENTIAL_PARAMETER = re.compile(r"token|key|secret|sig|auth|pass", re.IGNORECASE)
"""A query parameter named like this carries a credential (`token`, `api_key`, `sig`, ...)."""
TOKEN_SEGMENT = re.compile(r"[A-Za-z0-9_\-]{16,}")
"""A URL path segment that reads as a token: a Slack or Discord webhook keeps its secret in
the path (`/services/T…/B…/<token>`), long and of token characters only."""
STORED_KEY_MARK = "crisisbot-stored-key:"
STORED_KEY = re.compile(rf"(?<={STORED_KEY_MARK})[\w-]+")
"""A key the bot keeps in its database, read as `STORED_KEY_MARK` + the key: SQLAlchemy at
DEBUG logs each row it reads, before the key is known and could be registered."""
PATTERNS = "|".join(p.pattern for p in (BOT_API_TOKEN, SIGN_IN_TOKEN, STORED_KEY))
SHORTEST_SECRET = 4
"""Shorter values are not redacted: masking every `a` would make the log unreadable, and such
a value is no secret."""


def url_secrets(url: str) -> list[str]:
    """The credentials a configured URL may carry, for the redactor: the userinfo password (or
    a lone user name, then the token itself: `https://<token>@host/`), the whole query string,
    each value of a parameter named like a credential, and each path segment that reads as a
    token (`TOKEN_SEGMENT`), as written and decoded."""
    try:
        parts = urlsplit(url)
        user = parts.password or parts.username
    except ValueError:  # not a URL (`http://[::1/`): nothing to take from it
        return []
    found = [user, parts.query, *(seg for seg in parts.path.split("/")
                                   if TOKEN_SEGMENT.fullmatch(seg))]
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if CREDENTIAL_PARAMETER.search(name):
            found.append(value)
    return list(dict.fromkeys(text for raw in found if raw for text in (raw, unquote_plus(raw))))


class Redactor(logging.Filter):
    """Replaces known secrets with `MASK` in a record; never drops a record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] = re.compile(PATTERNS)

    def add(self, secrets: Iterable[str | None]) -> None:
        """Redact these too (secrets of every bot built in this process are kept)."""
        found = self._secrets | {s for s in secrets if s and len(s) >= SHORTEST_SECRET}
        if found == self._secrets:
            return
        self._secrets = found
        # Longest first, so a secret containing another is masked whole.
        known = "|".join(re.escape(s) for s in sorted(found, key=len, reverse=True))
        self._pattern = re.compile(f"{PATTERNS}|{known}")

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit: the handler will say so
            message = str(record.msg)
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # The formatted text is what handlers print; the exception object (whose message
            # may hold a token, e.g. "The token `123:abc` was rejected") goes.
            record.exc_text, record.exc_info = self.redact(record.exc_text), None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = Redactor()
_installing = threading.Lock()
_installed = False


def guard(secrets: Iterable[str | None]) -> None:
    """Redact `secrets` (and Bot API tokens) from every log record made from now on."""
    global _installed
    REDACTOR.add(secrets)
    with _installing:
        if _installed:
            return
        made = logging.getLogRecordFactory()

        def redacted(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = made(*args, **kwargs)
            REDACTOR.filter(record)
            return record

        logging.setLogRecordFactory(redacted)
        _installed = True
