"""Who is signed in, in a signed cookie: the person, a per-session CSRF token and the language
they chose. The cookie is HttpOnly and SameSite=Lax (Secure when the console is served over
HTTPS); its signature (itsdangerous, keyed by the console's secret) makes it tamper-proof and
its age is checked on every read, so a stolen-then-expired cookie is worthless. The age
counts from signing in: rewriting the cookie (choosing a language) does not extend it."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, replace
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from bot.core.models import PersonId
from bot.core.text import LANGUAGES

COOKIE = "crisisbot_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Session:
    csrf: str
    person: PersonId | None = None
    language: str | None = None
    fresh: bool = False
    """Not read from a cookie: the answer must set one."""
    started: int | None = None
    """When it began (Unix seconds); None for one not written yet."""

    def signed_in_as(self, person: PersonId) -> Session:
        """A new session for `person` (a new CSRF token too: nothing from before carries)."""
        return Session(secrets.token_urlsafe(24), person, self.language, fresh=True)

    def signed_out(self) -> Session:
        """An anonymous session keeping only the language (a new CSRF token: the signed-in
        one is worthless from now on)."""
        return Session(secrets.token_urlsafe(24), None, self.language, fresh=True)

    def speaking(self, language: str) -> Session:
        return replace(self, language=language, fresh=True)

    def accepts(self, submitted: str | None) -> bool:
        """Does a form's or a header's CSRF token match this session's? (Compared as bytes:
        `compare_digest` refuses to compare a non-ASCII string.)"""
        return bool(submitted) and hmac.compare_digest(str(submitted).encode(),
                                                       self.csrf.encode())


class Sessions:
    def __init__(self, secret: str, ttl: timedelta, *, secure: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="crisisbot-console-session")
        self._ttl = ttl
        self._secure = secure

    def read(self, request: Request) -> Session:
        """The request's session; a new anonymous one when the cookie is missing, forged or
        too old."""
        cookie = request.cookies.get(COOKIE)
        if cookie:
            try:
                data, signed = self._signer.loads(cookie, max_age=int(self._ttl.total_seconds()),
                                                  return_timestamp=True)
            except BadSignature:
                data = None
            if isinstance(data, dict) and isinstance(data.get("c"), str):
                started = data.get("s")
                if not isinstance(started, int):
                    started = int(signed.timestamp())
                language = data.get("l")
                if time.time() - started <= self._ttl.total_seconds():
                    return Session(data["c"], data.get("p") or None,
                                   language if language in LANGUAGES else None,
                                   started=started)
        return Session(secrets.token_urlsafe(24), fresh=True)

    def write(self, response: Response, session: Session) -> None:
        value = self._signer.dumps({"c": session.csrf, "p": session.person,
                                    "l": session.language,
                                    "s": session.started or int(time.time())})
        response.set_cookie(COOKIE, value, max_age=int(self._ttl.total_seconds()), path="/",
                            httponly=True, samesite="lax", secure=self._secure)
