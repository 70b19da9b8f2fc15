"""Hostile input over real HTTP, as found in issue #11: every route has a body limit, and
nothing an outsider (or a broken sender) sends gets a 5xx, which for an alert sender means
"retry forever", or stores anything."""

from __future__ import annotations

import json
import select
import socket
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import Request, Response

from bot.web import create_app
from tests.integration.hostile_server import Hostile, running
from tests.integration.telegram.fake_api import CHAT_ID
from tests.serving import serve

MIB = 1024 * 1024
DEEP = b"[" * 10_000 + b"]" * 10_000
HUGE = "9" * 40


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    yield from running(tmp_path_factory.mktemp("hostile"))


def refused(response: Any, *statuses: int) -> dict[str, Any]:
    """A JSON 4xx (one of `statuses` when given), never a 5xx or plain text."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.text[:300]
    answer: dict[str, Any] = response.json()
    assert answer.get("error"), answer
    return answer


# -- body limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/slack/events", "/telegram/webhook", "/alerts/generic",
                                  "/healthz", "/nosuch"])
def test_every_route_refuses_a_body_over_its_limit(server: Hostile, path: str) -> None:
    answer = refused(server.client.post(path, content=b"x" * (2 * MIB)), 413)
    assert 0 < answer["limit"] <= MIB


@pytest.mark.parametrize("path", ["/slack/events", "/telegram/webhook"])
def test_a_streamed_body_is_refused_before_it_is_read(server: Hostile, path: str) -> None:
    """No Content-Length (chunked), 200 MB on offer: the answer comes once the limit is
    passed, not after the server has read (and held) the rest."""
    host, port = server.url.removeprefix("http://").split(":")
    chunk = b"x" * (64 * 1024)
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                     "application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        while not select.select([conn], [], [], 0)[0]:
            assert sent < 200 * MIB, "the server read 200 MB without answering"
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        head = conn.recv(4096)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert sent < 16 * MIB, sent


# -- Slack ----------------------------------------------------------------------------------


FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("sign", [True, False])
@pytest.mark.parametrize(("body", "content_type"), [
    (b"{bad", "application/json"),
    (b"[1, 2]", "application/json"),
    (b"payload=%7Bbad", FORM),
    (b"payload=%5B1%5D", FORM),
    (DEEP, "application/json"),
    (b"payload=" + urllib.parse.quote(DEEP).encode(), FORM),
])
def test_slack_unreadable_bodies(server: Hostile, body: bytes, content_type: str,
                                 sign: bool) -> None:
    refused(server.slack(body, content_type, sign=sign), 400, 401)


@pytest.mark.parametrize("timestamp", ["soon", "", "1e9", HUGE, "-5"])
def test_slack_timestamps_that_are_not_numbers(server: Hostile, timestamp: str) -> None:
    body = urllib.parse.urlencode({"command": "/crisis", "text": "help"}).encode()
    refused(server.slack(body, FORM, sign=False, timestamp=timestamp), 401)
    refused(server.slack(body, FORM, timestamp=timestamp), 401)


# -- Telegram -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"[1, 2]", b"42", b"null", DEEP, b'{"update_id": "x"}',
                                  b'{"update_id": 1, "message": 5}',
                                  b'{"update_id": 1, "message": {"chat": []}}'])
def test_telegram_unreadable_updates(server: Hostile, body: bytes) -> None:
    refused(server.telegram(body), 400)


def _wait(check: Any, what: str) -> Any:
    deadline = time.monotonic() + 10
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return found


def test_a_huge_incident_number_gets_a_readable_refusal(server: Hostile) -> None:
    sent = len(server.fake_telegram.called("sendMessage"))
    text = f"/crisis ack INC-{HUGE}"
    update = {"update_id": 7001, "message": {
        "message_id": 501, "date": int(time.time()), "text": text,
        "chat": {"id": CHAT_ID, "type": "supergroup", "title": "Crisis room", "is_forum": True},
        "from": {"id": 101, "is_bot": False, "first_name": "Alice", "username": "alice"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}}
    assert server.telegram(json.dumps(update).encode()).status_code == 200
    replies = _wait(lambda: server.fake_telegram.called("sendMessage")[sent:], "a reply")
    assert f"INC-{HUGE[:16]}" in replies[-1]["text"], replies[-1]
    assert "large" in replies[-1]["text"], replies[-1]


def test_a_button_with_a_huge_number_is_answered(server: Hostile) -> None:
    update = {"update_id": 7002, "callback_query": {
        "id": "q-huge", "chat_instance": "room", "data": f"d:{HUGE}:1:1:a",
        "from": {"id": 101, "is_bot": False, "first_name": "Alice", "username": "alice"}}}
    assert server.telegram(json.dumps(update).encode()).status_code == 200
    _wait(lambda: [a for a in server.fake_telegram.called("answerCallbackQuery")
                   if a["callback_query_id"] == "q-huge"], "the button's answer")


# -- alert sources --------------------------------------------------------------------------

LATE = "9999-12-31T23:59:59-14:00"
EARLY = "0001-01-01T00:00:00+14:00"


def _am(at: str) -> dict[str, Any]:
    return {"version": "4", "groupKey": "g", "status": "firing", "receiver": "crisisbot",
            "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "startsAt": at}]}


DATED: list[tuple[str, Any, str, dict[str, str]]] = [
    ("alertmanager", _am, "body.alerts.0.startsAt", {}),
    ("grafana", _am, "body.alerts.0.startsAt", {}),
    ("generic", lambda at: {"title": "x", "occurred_at": at}, "body.occurred_at", {}),
    ("pagerduty", lambda at: {"routing_key": "r", "event_action": "trigger", "payload": {
        "summary": "s", "source": "s", "severity": "critical", "timestamp": at}},
     "body.payload.timestamp", {}),
    ("cloudevents", lambda at: {"specversion": "1.0", "id": "1", "source": "s", "type": "t",
                                "time": at}, "body.time", {}),
    ("mentions", lambda at: {"id": "1", "text": "t", "published_at": at},
     "body.published_at", {}),
]


@pytest.mark.parametrize("at", [LATE, EARLY])
@pytest.mark.parametrize(("source", "body", "loc", "headers"), DATED,
                         ids=[d[0] for d in DATED])
def test_alert_dates_out_of_range_are_422_with_the_field(
        server: Hostile, source: str, body: Any, loc: str, headers: dict[str, str],
        at: str) -> None:
    before = server.count("deliveries")
    answer = refused(server.alert(source, json.dumps(body(at)).encode(), **headers), 422)
    assert loc in {p["loc"] for p in answer["problems"]}, answer
    assert server.count("deliveries") == before


@pytest.mark.parametrize("source", [d[0] for d in DATED])
def test_alert_bodies_nested_10000_deep_are_422(server: Hostile, source: str) -> None:
    before = server.count("deliveries")
    for body in (DEEP, b'{"title": ' + DEEP + b"}", b'{"alerts": [' + DEEP + b"]}"):
        refused(server.alert(source, body), 422)
    assert server.count("deliveries") == before


BIG = "1" + "0" * 400
ABSURD = [
    ("generic", '{"title": "x", "metrics": {"rate": 1e400}}', "body.metrics.rate"),
    ("generic", '{"title": "x", "metrics": {"rate": ' + BIG + "}}", "body.metrics.rate"),
    ("mentions", '{"id": "1", "reach": 1e400}', "body.reach"),
    ("grafana", '{"status": "firing", "alerts": [{"status": "firing", "labels": {}, '
                '"values": {"B": ' + BIG + "}}]}", "body.alerts.0.values"),
]


@pytest.mark.parametrize(("source", "body", "loc"), ABSURD)
def test_absurd_numbers_are_422_with_the_field(server: Hostile, source: str, body: str,
                                               loc: str) -> None:
    before = server.count("deliveries")
    answer = refused(server.alert(source, body.encode()), 422)
    assert any(p["loc"].startswith(loc) for p in answer["problems"]), answer
    assert server.count("deliveries") == before


async def test_an_unforeseen_failure_is_a_json_503_not_a_plain_500() -> None:
    """The safety net under every route: what would be Starlette's plain-text 500."""

    async def broken(_request: Request) -> Response:
        raise RuntimeError("a bug")

    app = create_app(parsers={}, authenticate=lambda *_: False, submit=_nothing, ping=_up,
                     clock=_Now(), posts={"/broken": broken})
    served = await serve(app, lifespan="off")
    try:
        async with httpx.AsyncClient(base_url=served.url) as client:
            response = await client.post("/broken", content=b"{}")
    finally:
        await served.stop()
    assert response.status_code == 503
    assert response.json() == {"error": "temporarily unable to handle the request"}


async def _nothing(*_: Any) -> list[Any]:
    return []


async def _up() -> bool:
    return True


class _Now:
    def now(self) -> datetime:
        return datetime.now(UTC)
