"""Who is signed in: a signed cookie carries the session's id, a per-session CSRF token and the
language they chose; the database keeps each signed-in session (the SHA-256 of its id, whose
it is, until when), read on every request. Signing out deletes that row, so every copy of the
cookie (another tab's, a stolen one) stops working at once, on every replica.

The cookie is HttpOnly and SameSite=Lax (Secure when the console is served over HTTPS); its
signature (itsdangerous, keyed by the console's secret) makes it tamper-proof and its age is
checked on every read, as the row's expiry is. The age counts from signing in: rewriting the
cookie (choosing a language) does not extend it."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from bot.console.signin import token_hash
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
    id: str | None = None
    """A signed-in session's id (the server keeps its hash); None for an anonymous one."""

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


class SessionRows(Protocol):
    """Where signed-in sessions are kept (the console store), by their ids' hashes."""

    async def add_session(self, id_hash: str, person: PersonId, created_at: datetime,
                          expires_at: datetime) -> None: ...
    async def session_person(self, id_hash: str, now: datetime) -> PersonId | None: ...
    async def end_session(self, id_hash: str) -> None: ...


class Sessions:
    def __init__(self, secret: str, ttl: timedelta, rows: SessionRows, *,
                 secure: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="crisisbot-console-session")
        self._ttl = ttl
        self._rows = rows
        self._secure = secure

    async def read(self, request: Request) -> Session:
        """The request's session; a new anonymous one when the cookie is missing, forged or
        too old; an anonymous one keeping its CSRF token and language when its session ended
        (signed out) or expired on the server."""
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
                now = time.time()
                if now - started <= self._ttl.total_seconds():
                    sid = data.get("i")
                    person = await self._rows.session_person(
                        token_hash(sid), datetime.fromtimestamp(now, UTC)) \
                        if isinstance(sid, str) else None
                    return Session(data["c"], person,
                                   language if language in LANGUAGES else None,
                                   started=started, id=sid if person else None)
        return Session(secrets.token_urlsafe(24), fresh=True)

    async def sign_in(self, session: Session, person: PersonId) -> Session:
        """A new session for `person`, kept on the server until it ends or expires (a new
        id and CSRF token: nothing from before carries)."""
        sid, now = secrets.token_urlsafe(32), int(time.time())
        started = datetime.fromtimestamp(now, UTC)
        await self._rows.add_session(token_hash(sid), person, started, started + self._ttl)
        return Session(secrets.token_urlsafe(24), person, session.language, fresh=True,
                       started=now, id=sid)

    async def sign_out(self, session: Session) -> Session:
        """Ends the session on the server (every copy of its cookie is refused from now on)."""
        if session.id is not None:
            await self._rows.end_session(token_hash(session.id))
        return session.signed_out()

    def write(self, response: Response, session: Session) -> None:
        value = self._signer.dumps({"c": session.csrf, "i": session.id,
                                    "l": session.language,
                                    "s": session.started or int(time.time())})
        response.set_cookie(COOKIE, value, max_age=int(self._ttl.total_seconds()), path="/",
                            httponly=True, samesite="lax", secure=self._secure)
