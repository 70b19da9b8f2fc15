"""Fuzzing every HTTP route over loopback: schemathesis draws requests from the app's own
`/openapi.json`, where each alert source's request body is its parser's pydantic schema (so
examples reach the parsers: fitting bodies, schemathesis's negative ones, and fitting ones with
a field poisoned), and Slack's and Telegram's routes are fuzzed with hypothesis, signed as the
platforms sign them and unsigned.

Whatever comes in: never a 5xx (a sender would retry poison forever), refusals are JSON, and
a refused request stores nothing (the raw deliveries and alerts tables are unchanged).
Deterministic (`derandomize`) and bounded: a few hundred requests in all."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.openapi import from_dict
from slack_sdk.signature import SignatureVerifier

from bot.ingest import SHAPES
from tests.integration.hostile_server import (
    ALERT_SECRET,
    SIGNING_SECRET,
    TELEGRAM_SECRET,
    Hostile,
    running,
)
from tests.integration.telegram.fake_api import CHAT_ID

FUZZ = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    yield from running(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def openapi(server: Hostile) -> dict[str, Any]:
    document: dict[str, Any] = server.client.get("/openapi.json").json()
    return document


def check(server: Hostile, send: Any) -> httpx.Response:
    """Send; the answer is never a 5xx; a refusal is JSON and leaves no trace."""
    before = server.count("deliveries"), server.count("alerts")
    response: httpx.Response = send()
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/json"), response.text
        assert (server.count("deliveries"), server.count("alerts")) == before, response.text
    return response


# -- what is sent around the schema's bodies -----------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from([10**40, -(10**40), 1e308]))
junk_json = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12)
dates = st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",
                         "2024-05-14T09:12:03Z", "not a date", "1e400"])


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


def bodies(operation: Any) -> st.SearchStrategy[bytes]:
    """Bodies that fit the operation's schema (so the parser's checks run), negative ones,
    fitting ones with a field poisoned, JSON of any shape, too-deep JSON, bytes."""
    fitting = operation.as_strategy().map(lambda case: case.body)
    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE).map(
        lambda case: case.body)

    def poison(value: Any, data: st.DataObject) -> Any:
        if isinstance(value, dict) and value:
            key = data.draw(st.sampled_from(sorted(value)))
            return {**value, key: data.draw(st.one_of(junk_json, dates))}
        if isinstance(value, list) and value:
            return [poison(value[0], data), *value[1:]]
        return value

    @st.composite
    def poisoned(draw: st.DrawFn) -> Any:
        return poison(draw(fitting), draw(st.data()))

    return st.one_of(
        fitting.map(encoded), negative.map(raw), poisoned().map(encoded), junk_json.map(encoded),
        st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n), st.binary(max_size=64))


def raw(body: Any) -> bytes:
    return body if isinstance(body, bytes) else encoded(body)


# -- the alert sources, from the OpenAPI document ---------------------------------------------


def test_the_document_gives_each_source_its_schema(openapi: dict[str, Any]) -> None:
    for source in SHAPES:
        operation = openapi["paths"][f"/alerts/{source}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema != {"type": "object"}, source
    assert "/alerts/{source}" in openapi["paths"]


@pytest.mark.parametrize("path", [f"/alerts/{s}" for s in SHAPES] + ["/alerts/{source}"])
def test_fuzz_alert_routes(server: Hostile, openapi: dict[str, Any], path: str) -> None:
    operation = from_dict(openapi)[path]["POST"]
    sources = st.sampled_from([*SHAPES, "nosuch", "x" * 300]) if "{" in path else \
        st.just(path.rsplit("/", 1)[1])
    auth = st.sampled_from([f"Bearer {ALERT_SECRET}"] * 4 + ["Bearer wrong", ""])

    @FUZZ
    @given(source=sources, body=bodies(operation), bearer=auth,
           query=st.dictionaries(st.sampled_from(["format", "x"]),
                                 st.sampled_from(["native", "youscan", "meltwater", "?"]),
                                 max_size=1))
    def fuzz(source: str, body: bytes, bearer: str, query: dict[str, str]) -> None:
        check(server, lambda: server.client.post(
            f"/alerts/{source}", content=body, params=query,
            headers={"content-type": "application/json", "authorization": bearer}))

    fuzz()


def test_fuzz_the_other_documented_routes(server: Hostile, openapi: dict[str, Any]) -> None:
    gets = [p for p, ops in openapi["paths"].items() if "get" in ops and "{" not in p]
    assert "/healthz" in gets

    @FUZZ
    @given(path=st.sampled_from([*gets, "/nosuch", "/alerts/", "/alerts/generic/x"]),
           method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
           query=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2),
           body=st.binary(max_size=128))
    def fuzz(path: str, method: str, query: dict[str, str], body: bytes) -> None:
        check(server, lambda: server.client.request(method, path, params=query, content=body))

    fuzz()


# -- Slack and Telegram, signed as they sign --------------------------------------------------

FORM = "application/x-www-form-urlencoded"
commands = st.builds(lambda text: "/crisis " + text, st.one_of(
    st.text(max_size=40), st.sampled_from([
        "declare Leak", "ack", "ack INC-1", f"ack INC-{'9' * 40}", f"approve {'9' * 40}",
        "severity sev1", "role @U2 comms", "note hello", "status", "help", "resolve"])))


texts = st.text(max_size=12)
ids = st.one_of(st.sampled_from(["T1", "U1", "U2", "CGENERAL", ""]), texts)


@st.composite
def slack_bodies(draw: st.DrawFn, url: str) -> tuple[bytes, str]:
    """What Slack posts (a slash command, an interaction payload, an Events API callback)
    with fuzzed values: bolt trusts the shape of what Slack signs, and only Slack can sign."""
    kind = draw(st.sampled_from(["command", "payload", "event"]))
    if kind == "command":
        form = {"team_id": "T1", "channel_id": draw(ids), "user_id": draw(ids),
                "command": "/crisis", "text": draw(commands), "trigger_id": "1.2.3",
                "response_url": f"{url}/respond/U1"}
        return urllib.parse.urlencode(form).encode(), FORM
    if kind == "payload":
        payload = draw(st.fixed_dictionaries({
            "type": st.sampled_from(["block_actions", "view_submission", "shortcut", "?"]),
            "team": st.fixed_dictionaries({"id": ids}),
            "user": st.fixed_dictionaries({"id": ids}),
            "channel": st.fixed_dictionaries({"id": ids}),
            "message": st.fixed_dictionaries({"ts": texts}),
            "actions": st.lists(st.fixed_dictionaries({
                "action_id": st.sampled_from(["crisis_approve", "crisis_reject", "x"]),
                "value": st.one_of(texts, st.sampled_from(["1:1:1", f"{'9' * 40}:1:1"]))}),
                max_size=2)}))
        return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode(), FORM
    event = draw(st.fixed_dictionaries({
        "type": st.sampled_from(["event_callback", "url_verification", "?"]),
        "team_id": st.just("T1"), "challenge": texts, "event_id": texts,
        "event": st.fixed_dictionaries({
            "type": st.sampled_from(["reaction_added", "message", "app_mention", "?"]),
            "user": ids, "text": st.one_of(texts, commands), "reaction": texts,
            "channel": ids, "ts": texts,
            "item": st.fixed_dictionaries({"type": st.just("message"), "channel": ids,
                                           "ts": texts})})}))
    return encoded(event), "application/json"


def test_fuzz_slack_events(server: Hostile) -> None:
    """Signed as Slack signs, and (with anything in the body) unsigned or badly signed."""
    unsigned = st.tuples(st.one_of(junk_json.map(encoded), st.binary(max_size=64)),
                         st.sampled_from(["application/json", FORM, "text/plain"]))

    @FUZZ
    @given(sign=st.sampled_from([True, True, True, False]), data=st.data(),
           stamp=st.sampled_from(["now"] * 6 + ["soon", "1e9", "9" * 40, ""]))
    def fuzz(sign: bool, data: st.DataObject, stamp: str) -> None:
        shaped = slack_bodies(server.fake_slack.url)
        body, content_type = data.draw(shaped if sign else st.one_of(shaped, unsigned))
        ts = str(int(time.time())) if stamp == "now" else stamp
        headers = {"content-type": content_type, "x-slack-request-timestamp": ts}
        if sign:
            headers["x-slack-signature"] = SignatureVerifier(SIGNING_SECRET).generate_signature(
                timestamp=ts, body=body.decode("utf-8", errors="replace"))
        check(server, lambda: server.client.post("/slack/events", content=body,
                                                 headers=headers))

    fuzz()


users = st.fixed_dictionaries({"id": st.one_of(st.integers(1, 10**12), st.just(10**40)),
                               "is_bot": st.booleans(), "first_name": st.text(max_size=10)})
chats = st.one_of(st.fixed_dictionaries({"id": st.just(CHAT_ID), "type": st.just("supergroup"),
                                         "is_forum": st.just(True)}), junk_json)


@st.composite
def telegram_updates(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["message", "callback_query", "junk"]))
    update_id = draw(st.one_of(st.integers(1, 10**9), st.just(10**40), junk_json))
    if kind == "message":
        text = draw(commands)
        return encoded({"update_id": update_id, "message": {
            "message_id": draw(st.integers(1, 10**6)), "date": int(time.time()),
            "chat": draw(chats), "from": draw(users), "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len("/crisis")}]}})
    if kind == "callback_query":
        data = draw(st.one_of(st.text(max_size=64), st.builds(
            lambda a, b, c, d: f"d:{a}:{b}:{c}:{d}", *[st.sampled_from(
                ["1", "9" * 40, "-1", "x", ""])] * 3, st.sampled_from("arv?"))))
        return encoded({"update_id": update_id, "callback_query": {
            "id": "q1", "chat_instance": "room", "from": draw(users), "data": data}})
    return draw(st.one_of(junk_json.map(encoded), st.binary(max_size=64)))


def test_fuzz_telegram_webhook(server: Hostile) -> None:
    @FUZZ
    @given(body=telegram_updates(), secret=st.sampled_from([TELEGRAM_SECRET] * 4 + ["", "x"]))
    def fuzz(body: bytes, secret: str) -> None:
        check(server, lambda: server.client.post(
            "/telegram/webhook", content=body,
            headers={"content-type": "application/json",
                     "x-telegram-bot-api-secret-token": secret}))

    fuzz()
