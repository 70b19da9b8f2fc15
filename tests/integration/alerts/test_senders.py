"""Senders as they really send: each one's own documented payloads (tests/integration/alerts/
senders/, origins in SOURCES.md) replayed over HTTP with that sender's own authentication,
expecting what a user of that sender expects: a trigger opens, a resolve resolves, an update
is told, a repeat is a duplicate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import time
import tomllib
from pathlib import Path
from typing import Any

from alert_server import SECRET, Running, alertmanager

SENDERS = Path(__file__).parent / "senders"
MAPPINGS = Path(__file__).parents[3] / "config" / "mappings.example.toml"


def fixture(path: str) -> dict[str, Any]:
    return json.loads((SENDERS / path).read_text(encoding="utf-8"))


def body_of(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def said(server: Running, text: str) -> bool:
    """Whether some channel was told `text` (chat delivery runs after the commit)."""
    for _ in range(100):
        if any(text in said for said in server.texts()):
            return True
        time.sleep(0.05)
    return False


def timeline(server: Running, kind: str) -> list[dict[str, Any]]:
    with sqlite3.connect(server.db) as conn:
        rows = conn.execute("select data from timeline_events where kind = ? order by seq",
                            (kind,)).fetchall()
    return [json.loads(row[0]) for row in rows]


def one(server: Running, sql: str) -> Any:
    with sqlite3.connect(server.db) as conn:
        return conn.execute(sql).fetchone()


# PagerDuty ---------------------------------------------------------------------------------

PD_SECRET = "pd-webhook-secret-from-the-subscription"


def pagerduty_signed(body: bytes, *secrets: str) -> dict[str, str]:
    """`X-PagerDuty-Signature` as PagerDuty sends it: `v1=<hex HMAC-SHA256 of the body>`, one
    per secret while a subscription's secret rotates."""
    return {"X-PagerDuty-Signature": ",".join(
        "v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)}


def on_incident(data: dict[str, Any], incident_id: str) -> dict[str, Any]:
    """A fixture event about another PagerDuty incident, made about `incident_id` (the
    fixtures were recorded on different incidents)."""
    event = json.loads(json.dumps(data))
    target = event["event"]["data"]
    target.get("incident", target)["id"] = incident_id
    return event


def test_pagerduty_v3_webhooks_signed_as_pagerduty_signs(serve) -> None:
    server = serve(alerts={"sources": {"pagerduty": {"secret": PD_SECRET}}})

    def send(data: dict[str, Any], *secrets: str) -> Any:
        body = body_of(data)
        return server.post("pagerduty", content=body, bearer=None,
                           headers=pagerduty_signed(body, *(secrets or (PD_SECRET,))))

    triggered = fixture("pagerduty/triggered_v3.json")
    first = send(triggered)
    assert first.status_code == 200, first.text
    assert first.json()["alerts"][0] == {**first.json()["alerts"][0], "opened": True,
                                         "incident": "INC-1"}
    assert one(server, "select title, severity from incidents") == ("Test Incident 3", "SEV2")

    incident = triggered["event"]["data"]["id"]
    for name in ("acknowledged_v3", "reassigned_v3", "priority_updated_v3", "annotated_v3",
                 "status_updated_v3"):
        response = send(on_incident(fixture(f"pagerduty/{name}.json"), incident))
        assert response.status_code == 200, (name, response.text)
        assert response.json()["alerts"][0]["incident"] == "INC-1", name
    updates = timeline(server, "alert_update")
    assert [u["update"] for u in updates] == ["acknowledged", "reassigned", "priority_updated",
                                              "annotated", "status_update_published"]
    assert updates[0]["detail"] == "PIG 208"  # who acknowledged
    assert updates[1]["detail"] == "Test User"  # to whom it was reassigned
    assert updates[2]["detail"] == "P2"
    assert updates[3]["detail"].startswith("Running KILL on long-running queries")
    assert updates[4]["detail"].startswith("Investigating a P1 incident with the Checkout API")
    # PagerDuty's acknowledgement is its own responders' state, not an ack in our incident.
    assert one(server, "select status from incidents") == ("triggered",)
    assert server.count("select count(*) from incidents") == 1

    resolved = on_incident(fixture("pagerduty/resolved_v3.json"), incident)
    # During a secret rotation PagerDuty signs with both secrets; either one will do.
    assert send(resolved, "the-old-secret", PD_SECRET).json()["alerts"][0]["incident"] == "INC-1"
    assert said(server, "The alert of INC-1 has resolved.")
    assert send(resolved).json()["duplicate"] is True

    # Events about other resources are accepted and not stored.
    assert send(fixture("pagerduty/service_created_v3.json")).json() == {
        "accepted": 0, "duplicate": False, "alerts": []}
    # An update about an incident crisisbot never heard of opens nothing.
    stray = send(fixture("pagerduty/acknowledged_v3.json"))
    assert stray.status_code == 200
    assert stray.json()["alerts"][0]["incident"] is None
    assert server.count("select count(*) from incidents") == 1

    body = body_of(triggered)
    assert server.post("pagerduty", content=body, bearer=None, headers={
        "X-PagerDuty-Signature": "v1=" + "0" * 64}).status_code == 401
    assert server.post("pagerduty", content=body, bearer=None).status_code == 401


def test_pagerduty_v2_resolve_finds_the_incident_its_trigger_opened(server: Running) -> None:
    trigger = fixture("pagerduty/trigger_v2.json")  # carries payload.group
    opened = server.post("pagerduty", trigger).json()["alerts"][0]
    assert opened["opened"] is True
    resolve = server.post("pagerduty", fixture("pagerduty/resolve_v2.json"))  # dedup_key only
    assert resolve.json()["alerts"][0]["incident"] == opened["incident"]
    assert said(server, f"The alert of {opened['incident']} has resolved.")
    assert server.post("pagerduty", fixture("pagerduty/resolve_v2.json")).json()["duplicate"]


# Social listening ---------------------------------------------------------------------------

def test_youscan_mention_with_credentials_in_the_callback_url(serve) -> None:
    server = serve(alerts={"secret": SECRET,
                           "sources": {"mentions": {"secret": "ys-0123456789abcdef",
                                                    "url_credentials": True}}})
    body = body_of(fixture("youscan/mention.json"))
    params = {"format": "youscan"}
    # https://crisisbot:ys-0123...@host/alerts/mentions?format=youscan: the client sends Basic.
    basic = "Basic " + base64.b64encode(b"crisisbot:ys-0123456789abcdef").decode()
    response = server.post("mentions", content=body, bearer=None, params=params,
                           headers={"Authorization": basic})
    assert response.status_code == 200, response.text
    assert response.json()["alerts"][0]["dedup_key"] == "mentions:youscan.io:1:241032672"
    again = server.post("mentions", content=body, bearer=None,
                        params={**params, "token": "ys-0123456789abcdef"})
    assert again.json()["duplicate"] is True

    wrong = "Basic " + base64.b64encode(b"crisisbot:guess").decode()
    assert server.post("mentions", content=body, bearer=None, params=params,
                       headers={"Authorization": wrong}).status_code == 401
    assert server.post("mentions", content=body, bearer=None,
                       params={**params, "token": "guess"}).status_code == 401
    # Not base64 at all (a Latin-1 byte): a 401, where it was a 503.
    garbled = server.post("mentions", content=body, bearer=None, params=params,
                          headers={"Authorization": "Basic caf\xe9".encode("latin-1")})
    assert garbled.status_code == 401, garbled.text
    # Only a source that opts in takes credentials from the URL.
    assert server.post("generic", {"title": "x"}, bearer=None,
                       params={"token": SECRET}).status_code == 401

    labels, title = one(server, "select labels, title from alerts")
    assert json.loads(labels) == {"network": "youscan.io", "author": "Elena Teselko",
                                  "language": "eng", "topic": "YouScan"}
    assert title.startswith("The second year in a row")
    # The token never reaches the stored delivery.
    [(headers,)] = sqlite3.connect(server.db).execute("select headers from deliveries")
    assert "authorization" not in json.loads(headers)
    assert "ys-0123456789abcdef" not in headers


def test_meltwater_stream_signed_with_x_hub_signature(serve) -> None:
    secret = "meltwater-hook-secret-0123"
    server = serve(alerts={"sources": {"mentions": {"secret": secret}}})
    body = body_of(fixture("meltwater/stream.json"))
    signature = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    params = {"format": "meltwater"}
    response = server.post("mentions", content=body, bearer=None, params=params,
                           headers={"X-Hub-Signature": signature})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    rows = sqlite3.connect(server.db).execute(
        "select group_key, metrics from alerts order by id").fetchall()
    assert [r[0] for r in rows] == ["mentions:BrightMilk", "mentions:BrightMilk"]
    assert json.loads(rows[0][1]) == {"mentions": 1.0, "sentiment": -1.0, "reach": 185000.0}
    assert server.post("mentions", content=body, bearer=None, params=params, headers={
        "X-Hub-Signature": "sha1=" + "0" * 40}).status_code == 401


# Truncated groups ---------------------------------------------------------------------------

def test_truncated_alerts_are_told_in_the_incident(server: Running) -> None:
    grafana = fixture("grafana/webhook.json")
    grafana["truncatedAlerts"] = 3  # the contact point's max_alerts was 2; the group held 5
    assert server.post("grafana", grafana).json()["alerts"][0]["opened"] is True
    assert said(server, "+3 alerts the sender did not include")
    assert timeline(server, "alerts_truncated") == [
        {"count": 3, "source": "grafana", "group": "grafana:{}:{}"}]

    hook = alertmanager(group="{}:{alertname=\"Disk\"}", n=2)
    hook["truncatedAlerts"] = 40
    server.post("alertmanager", hook)
    assert said(server, "+40 alerts the sender did not include")
    assert server.post("alertmanager", hook).json()["duplicate"] is True
    assert len(timeline(server, "alerts_truncated")) == 2


# Mappings -----------------------------------------------------------------------------------

def shipped_mappings(**secrets: str) -> list[dict[str, Any]]:
    """config/mappings.example.toml as a team copies it, with their secrets."""
    mappings = tomllib.loads(MAPPINGS.read_text(encoding="utf-8"))["alerts"]["mappings"]
    return [{**m, "secret": secrets.get(m["name"], m.get("secret"))} for m in mappings]


def test_shipped_mappings_open_and_resolve(serve) -> None:
    sentry_secret = "sentry-client-secret-0123456789"
    server = serve(alerts={"secret": SECRET,
                           "mappings": shipped_mappings(sentry=sentry_secret)})

    def sentry(data: dict[str, Any]) -> Any:
        body = body_of(data)
        signature = hmac.new(sentry_secret.encode(), body, hashlib.sha256).hexdigest()
        return server.post("sentry", content=body, bearer=None,
                           headers={"Sentry-Hook-Signature": signature})

    created = fixture("sentry/issue_created.json")
    assert sentry(created).json()["alerts"][0]["opened"] is True
    resolved = fixture("sentry/issue_resolved.json")
    resolved["data"]["issue"]["id"] = created["data"]["issue"]["id"]  # the same issue
    assert sentry(resolved).json()["alerts"][0]["incident"] == "INC-1"
    assert said(server, "The alert of INC-1 has resolved.")
    assert sentry(created).json()["duplicate"] is True
    assert server.post("sentry", created).status_code == 401  # its own secret, not the shared

    triggered = server.post("datadog", fixture("datadog/triggered.json")).json()["alerts"][0]
    assert triggered == {**triggered, "opened": True, "incident": "INC-2"}
    assert server.post("datadog", fixture("datadog/recovered.json")).json()["alerts"][0][
        "incident"] == "INC-2"
    assert said(server, "The alert of INC-2 has resolved.")
    assert server.post("datadog", fixture("datadog/triggered.json")).json()["duplicate"]

    assert server.post("uptime-kuma", fixture("uptime-kuma/down.json")).json()["alerts"][0][
        "opened"] is True
    assert server.post("uptime-kuma", fixture("uptime-kuma/up.json")).json()["alerts"][0][
        "incident"] == "INC-3"
    assert said(server, "The alert of INC-3 has resolved.")

    severities = sqlite3.connect(server.db).execute(
        "select title, severity from incidents order by number").fetchall()
    assert severities == [("Exception: Custom exception!", "SEV2"),
                          ("[Triggered] Checkout error rate above 5%", "SEV1"),
                          ("[Shop] [🔴 Down] getaddrinfo ENOTFOUND shop.example.com", "SEV3")]


def test_a_mapping_refuses_what_it_cannot_read(serve) -> None:
    server = serve(alerts={"secret": SECRET, "mappings": [
        {"name": "tool", "title": "alert.name", "status": "alert.state",
         "items": "alerts", "labels": "alert.tags"}]})
    good = {"alerts": [{"alert": {"name": "Queue stuck", "state": "firing",
                                  "tags": {"team": "ops", "n": 3}}},
                       {"alert": {"name": "Queue stuck", "state": "resolved"}}]}
    response = server.post("tool", good)
    assert response.json()["accepted"] == 2
    assert json.loads(one(server, "select labels from alerts order by id")[0]) == {
        "team": "ops", "n": "3"}
    bad = server.post("tool", {"alerts": [{"alert": {"name": "x", "state": "weird"}},
                                          {"alert": {"state": "firing"}}]})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["loc"] == "body.0"
    assert "status gave 'weird'" in bad.json()["problems"][0]["msg"]
    assert server.post("tool", {"alerts": {"not": "a list"}}).status_code == 422


def test_a_mapping_refuses_a_body_nested_too_deeply_to_read(serve) -> None:
    """JSON just shallow enough to load but too deep to turn into a label raised
    RecursionError: a 503 the sender would retry forever, where it is a 422. Where that window
    lies depends on the server's stack, so every depth around Python's limit is tried."""
    server = serve(alerts={"secret": SECRET, "mappings": [
        {"name": "tool", "title": "name", "labels": "tags"}]})
    for depth in range(940, 1010):
        deep = "[" * depth + "]" * depth
        response = server.post("tool", content=b'{"name": "x", "tags": {"a": %s}}'
                               % deep.encode())
        assert response.status_code in {200, 422}, (depth, response.text)
        if response.status_code == 422:
            assert "nested too deeply" in response.json()["problems"][0]["msg"], depth


def test_a_mapping_refusal_quoting_a_lone_surrogate(serve) -> None:
    """JMESPath's error quotes the value; one holding JSON's `\\ud800` made the 422 itself
    unencodable, answered 503."""
    server = serve(alerts={"secret": SECRET, "mappings": [{"name": "tool", "title": "abs(x)"}]})
    response = server.post("tool", content=b'{"x": "a\\ud800"}')
    assert response.status_code == 422, response.text
    assert "abs()" in response.json()["problems"][0]["msg"]
