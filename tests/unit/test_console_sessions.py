"""Console sessions: signed, tamper-proof, aged out, HttpOnly and SameSite cookies."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from starlette.requests import Request
from starlette.responses import Response

from bot.console.sessions import COOKIE, Session, Sessions


def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def cookie_of(response: Response) -> str:
    header = response.headers["set-cookie"]
    return header.split(";", 1)[0].split("=", 1)[1]


def test_a_session_round_trips_and_a_forged_or_old_one_does_not() -> None:
    sessions = Sessions("key", timedelta(hours=1), secure=True)
    response = Response()
    with time_machine.travel(1_800_000_000, tick=False):
        sessions.write(response, Session("token", "local:alice", "fa"))
        value = cookie_of(response)
        back = sessions.read(request_with(value))
    assert (back.person, back.csrf, back.language, back.fresh) == \
        ("local:alice", "token", "fa", False)
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "secure" in header
    with time_machine.travel(1_800_000_000 + 3601, tick=False):
        assert sessions.read(request_with(value)).person is None
    other_key = Sessions("another key", timedelta(hours=1), secure=False)
    with time_machine.travel(1_800_000_000, tick=False):
        assert other_key.read(request_with(value)).person is None
        assert sessions.read(request_with(value[:-2] + "xx")).person is None


def test_signing_in_starts_a_new_session_and_checks_tokens_exactly() -> None:
    anonymous = Session("before")
    signed = anonymous.signed_in_as("local:bob")
    assert signed.person == "local:bob"
    assert signed.csrf != "before"
    assert signed.accepts(signed.csrf)
    assert not signed.accepts("before")
    assert not signed.accepts("")
    assert not signed.accepts(None)
    assert not Sessions("key", timedelta(hours=1), secure=False).read(request_with(None)).person


def test_rewriting_the_cookie_does_not_extend_the_session() -> None:
    """Choosing a language rewrites the cookie; the session still ends its lifetime after
    signing in, so a stolen cookie cannot be kept alive by changing the language."""
    sessions = Sessions("key", timedelta(hours=1), secure=False)
    signed_in, rewritten = Response(), Response()
    with time_machine.travel(1_800_000_000, tick=False):
        sessions.write(signed_in, Session("before").signed_in_as("local:alice"))
    with time_machine.travel(1_800_000_000 + 3000, tick=False):
        session = sessions.read(request_with(cookie_of(signed_in)))
        assert session.person == "local:alice"
        sessions.write(rewritten, session.speaking("fa"))
    with time_machine.travel(1_800_000_000 + 3601, tick=False):
        assert sessions.read(request_with(cookie_of(rewritten))).person is None
