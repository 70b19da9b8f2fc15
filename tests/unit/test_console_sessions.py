"""Console sessions: signed, tamper-proof, aged out, HttpOnly and SameSite cookies, each
naming a session the server keeps until it signs out or expires."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import time_machine
from starlette.requests import Request
from starlette.responses import Response

from bot.console.sessions import COOKIE, Session, Sessions


@dataclass
class MemoryRows:
    """Signed-in sessions in a dict (id hash -> person, expiry), as the console store keeps
    them."""

    rows: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    async def add_session(self, id_hash: str, person: str, _created: datetime,
                          expires: datetime) -> None:
        self.rows[id_hash] = (person, expires)

    async def session_person(self, id_hash: str, now: datetime) -> str | None:
        person, expires = self.rows.get(id_hash, ("", now))
        return person if expires > now else None

    async def end_session(self, id_hash: str) -> None:
        self.rows.pop(id_hash, None)


def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def cookie_of(response: Response) -> str:
    header = response.headers["set-cookie"]
    return header.split(";", 1)[0].split("=", 1)[1]


async def test_a_session_round_trips_and_a_forged_or_old_one_does_not() -> None:
    rows = MemoryRows()
    sessions = Sessions("key", timedelta(hours=1), rows, secure=True)
    response = Response()
    with time_machine.travel(1_800_000_000, tick=False):
        signed = await sessions.sign_in(Session("token", language="fa"), "local:alice")
        sessions.write(response, signed)
        value = cookie_of(response)
        back = await sessions.read(request_with(value))
    assert (back.person, back.csrf, back.language, back.fresh) == \
        ("local:alice", signed.csrf, "fa", False)
    assert signed.id is not None
    assert signed.id not in rows.rows  # only its hash is kept
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "secure" in header
    with time_machine.travel(1_800_000_000 + 3601, tick=False):
        assert (await sessions.read(request_with(value))).person is None
    other_key = Sessions("another key", timedelta(hours=1), rows, secure=False)
    with time_machine.travel(1_800_000_000, tick=False):
        assert (await other_key.read(request_with(value))).person is None
        assert (await sessions.read(request_with(value[:-2] + "xx"))).person is None


async def test_signing_in_starts_a_new_session_and_checks_tokens_exactly() -> None:
    sessions = Sessions("key", timedelta(hours=1), MemoryRows(), secure=False)
    anonymous = Session("before")
    signed = await sessions.sign_in(anonymous, "local:bob")
    assert signed.person == "local:bob"
    assert signed.csrf != "before"
    assert signed.accepts(signed.csrf)
    assert not signed.accepts("before")
    assert not signed.accepts("")
    assert not signed.accepts(None)
    assert not (await sessions.read(request_with(None))).person


async def test_signing_out_refuses_every_copy_of_the_cookie() -> None:
    """The cookie names a session the server keeps: once it signs out, a copy taken before
    (another tab's, a stolen one) signs nobody in, and the rest of that session's cookie (the
    CSRF token, the language) stays an anonymous one's."""
    rows = MemoryRows()
    sessions = Sessions("key", timedelta(hours=1), rows, secure=False)
    response = Response()
    signed = await sessions.sign_in(Session("before", language="ru"), "local:alice")
    sessions.write(response, signed)
    copy = cookie_of(response)
    out = await sessions.sign_out(await sessions.read(request_with(copy)))
    assert (out.person, out.id, out.language) == (None, None, "ru")
    assert rows.rows == {}
    after = await sessions.read(request_with(copy))
    assert (after.person, after.id, after.language) == (None, None, "ru")


async def test_rewriting_the_cookie_does_not_extend_the_session() -> None:
    """Choosing a language rewrites the cookie; the session still ends its lifetime after
    signing in, so a stolen cookie cannot be kept alive by changing the language."""
    sessions = Sessions("key", timedelta(hours=1), MemoryRows(), secure=False)
    signed_in, rewritten = Response(), Response()
    with time_machine.travel(1_800_000_000, tick=False):
        sessions.write(signed_in, await sessions.sign_in(Session("before"), "local:alice"))
    with time_machine.travel(1_800_000_000 + 3000, tick=False):
        session = await sessions.read(request_with(cookie_of(signed_in)))
        assert session.person == "local:alice"
        sessions.write(rewritten, session.speaking("fa"))
    with time_machine.travel(1_800_000_000 + 3601, tick=False):
        assert (await sessions.read(request_with(cookie_of(rewritten)))).person is None
