"""Each source's native payload, as its sender posts it, becomes stored alerts."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time

from alert_server import SECRET, Running
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

GRAFANA = {
    "receiver": "crisisbot", "status": "firing", "orgId": 1, "version": "1",
    "groupKey": "{}/{}:{alertname=\"Reviews negative share\"}", "truncatedAlerts": 0,
    "title": "[FIRING:1] Reviews negative share", "state": "alerting",
    "message": "**Firing**\nValue: B=0.47", "externalURL": "http://grafana:3000/",
    "commonLabels": {"alertname": "Reviews negative share"},
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "Reviews negative share", "severity": "warning",
                   "crisis_kind": "negative_reviews", "brand": "BrightMilk"},
        "annotations": {"summary": "Negative share of reviews is 47%"},
        "startsAt": "2024-05-14T09:12:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://grafana:3000/alerting/grafana/abc/view",
        "fingerprint": "57c6d9296de2ad39", "silenceURL": "http://grafana:3000/alerting/silence",
        "dashboardURL": "http://grafana:3000/d/reviews", "panelURL": "http://grafana:3000/d/r?viewPanel=2",
        "values": {"B": 0.47, "C": 1}, "valueString": "[ var='B' value=0.47 ]",
    }],
}


def incidents(server: Running) -> list[tuple[str, str, str]]:
    with sqlite3.connect(server.db) as conn:
        return conn.execute(
            "select title, severity, kind from incidents order by number").fetchall()


def test_grafana_with_its_hmac_signature(server: Running) -> None:
    body = json.dumps(GRAFANA).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    for header in ("X-Grafana-Alerting-Signature", "X-Grafana-Alert-Signature"):
        response = server.post("grafana", content=body, bearer=None, headers={header: signature})
        assert response.status_code == 200, response.text
    now = str(int(time.time()))
    stamped = hmac.new(SECRET.encode(), now.encode() + b":" + body, hashlib.sha256).hexdigest()
    assert server.post("grafana", content=body, bearer=None, headers={
        "X-Grafana-Alerting-Signature": stamped,
        "X-Grafana-Alerting-Signature-Timestamp": now}).status_code == 200
    # Grafana signs its timestamp so that a receiver can refuse a replay: an hour-old one is.
    hour_ago = str(int(time.time()) - 3600)
    replayed = hmac.new(SECRET.encode(), hour_ago.encode() + b":" + body,
                        hashlib.sha256).hexdigest()
    refused = server.post("grafana", content=body, bearer=None, headers={
        "X-Grafana-Alerting-Signature": replayed,
        "X-Grafana-Alerting-Signature-Timestamp": hour_ago})
    assert refused.status_code == 401
    assert "5 minutes" in refused.json()["error"]
    assert server.post("grafana", content=body, bearer=None, headers={
        "X-Grafana-Alerting-Signature": "0" * 64}).status_code == 401
    assert incidents(server) == [("Negative share of reviews is 47%", "SEV3", "negative_reviews")]
    assert server.count("select count(*) from alerts") == 1


def test_pagerduty_trigger_acknowledge_resolve(server: Running) -> None:
    trigger = {"routing_key": "R0UT1NGKEY", "event_action": "trigger", "dedup_key": "disk-1",
               "payload": {"summary": "Disk full on db-1", "source": "db-1",
                           "severity": "critical", "timestamp": "2024-05-14T09:00:00Z"}}
    assert server.post("pagerduty", trigger).json()["alerts"][0]["opened"] is True
    ack = {"routing_key": "R0UT1NGKEY", "event_action": "acknowledge", "dedup_key": "disk-1"}
    assert server.post("pagerduty", ack).json() == {"accepted": 0, "duplicate": False,
                                                   "alerts": []}
    resolve = {"routing_key": "R0UT1NGKEY", "event_action": "resolve", "dedup_key": "disk-1"}
    assert server.post("pagerduty", resolve).json()["alerts"][0]["incident"] == "INC-1"
    bad = server.post("pagerduty", {"routing_key": "R", "event_action": "trigger"})
    assert bad.status_code == 422
    assert incidents(server) == [("Disk full on db-1", "SEV1", "other")]


def test_cloudevents_three_modes(server: Running) -> None:
    event = {"specversion": "1.0", "id": "e1", "source": "/monitor/reviews",
             "type": "com.example.review.spike", "time": "2024-05-14T09:00:00Z",
             "data": {"title": "Review spike", "severity": "warning"}}
    structured = server.post("cloudevents", content=json.dumps(event).encode(),
                             headers={"content-type": "application/cloudevents+json"})
    assert structured.json()["alerts"][0]["opened"] is True
    batch = [dict(event, id="e2"), dict(event, id="e3", data={"title": "Other", "group": "g2"})]
    response = server.post("cloudevents", content=json.dumps(batch).encode(),
                           headers={"content-type": "application/cloudevents-batch+json"})
    assert [a["incident"] for a in response.json()["alerts"]] == ["INC-1", "INC-2"]
    binary = server.post("cloudevents", content=b'{"title": "Review spike"}', headers={
        "content-type": "application/json", "ce-specversion": "1.0", "ce-id": "e4",
        "ce-source": "/monitor/reviews", "ce-type": "com.example.review.spike"})
    assert binary.json()["alerts"][0]["incident"] == "INC-1"
    missing = server.post("cloudevents", content=b"{}", headers={
        "content-type": "application/json", "ce-specversion": "1.0"})
    assert missing.status_code == 422
    assert {p["loc"] for p in missing.json()["problems"]} == {
        "headers.id", "headers.source", "headers.type"}
    assert server.post("cloudevents", content=json.dumps(event).encode(), headers={
        "content-type": "application/cloudevents+json"}).json()["duplicate"] is True


def test_mentions_native_and_tool_formats(server: Running) -> None:
    native = {"mentions": [
        {"id": 1, "text": "BrightMilk recalls all yogurt!!!", "author": "truthseeker",
         "network": "x", "published_at": "2024-05-14T09:00:00Z", "sentiment": "negative",
         "reach": 48000, "brand": "BrightMilk", "kind": "disinformation"},
        {"id": 2, "text": "is it true?", "network": "x", "sentiment": -0.4,
         "brand": "BrightMilk"}]}
    assert server.post("mentions", native).json()["accepted"] == 2
    youscan = {"id": "ys-9", "fullText": "BrightMilk poisoned us", "url": "https://t.example/9",
               "published": "2024-05-14T09:01:00Z", "sentiment": "negative",
               "source": "telegram", "author": {"name": "Ann", "subscribers": 1200},
               "potentialReach": 5000, "topicName": "BrightMilk"}
    assert server.post("mentions", youscan, params={"format": "youscan"}).status_code == 200
    meltwater = {"document_id": "mw-1", "content": "BrightMilk recall hoax spreads",
                 "url": "https://news.example/1", "published_date": "2024-05-14T09:02:00Z",
                 "source": {"name": "news.example"}, "sentiment": "negative",
                 "search_name": "BrightMilk"}
    assert server.post("mentions", meltwater, params={"format": "meltwater"}).status_code == 200
    assert server.post("mentions", native, params={"format": "nope"}).status_code == 422
    out_of_range = server.post("mentions", {"id": "3", "sentiment": 3})
    assert out_of_range.json()["problems"][0]["loc"] == "body.sentiment"
    # A handful of mentions is chatter, not a crisis: stored and counted, no incident.
    assert server.count("select count(*) from incidents") == 0
    assert server.count("select count(*) from alerts where incident is null") == 4
    assert server.count("select sum(mentions) from mention_minutes") == 4


def test_a_mention_spike_opens_one_incident(server: Running) -> None:
    wave = [{"id": f"w{i}", "text": "BrightMilk poisoned kids, recall now", "network": "x",
             "sentiment": -0.8, "brand": "BrightMilk"} for i in range(40)]
    first, rest = wave[:10], wave[10:]
    assert server.post("mentions", {"mentions": first}).json()["accepted"] == 10
    assert server.count("select count(*) from incidents") == 0  # below the minimum count
    assert server.post("mentions", {"mentions": rest}).json()["accepted"] == 30
    assert server.count("select count(*) from incidents") == 1
    assert server.count("select count(*) from alerts where incident = 1") >= 30
    flagged = {"id": "f1", "text": "Competitor paid bots attack us", "network": "x",
               "brand": "OtherBrand", "severity": "high"}
    assert server.post("mentions", flagged).json()["accepted"] == 1
    assert server.count("select count(*) from incidents") == 2  # the tool flagged it


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
KEYS = ["title", "status", "alerts", "groupKey", "id", "specversion", "source", "type", "data",
        "event_action", "payload", "routing_key", "labels", "values", "sentiment", "mentions",
        "event", "event_type", "resource_type", "documents", "request", "mentionId", "topicId",
        "truncatedAlerts"]
SHAPED = st.dictionaries(st.sampled_from(KEYS), JSON, max_size=6)
SOURCES = ["generic", "alertmanager", "grafana", "cloudevents", "mentions", "pagerduty"]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.sampled_from(SOURCES), body=st.one_of(JSON, SHAPED),
       raw=st.one_of(st.none(), st.binary(max_size=40)),
       content_type=st.sampled_from(["application/json", "application/cloudevents+json",
                                     "application/cloudevents-batch+json", "text/plain"]),
       ce=st.booleans(), fmt=st.sampled_from([None, "youscan", "meltwater", "x"]))
def test_fuzzed_alerts_never_500(server: Running, source, body, raw, content_type, ce,
                                 fmt) -> None:
    content = raw if raw is not None else json.dumps(body).encode()
    headers = {"content-type": content_type}
    if ce:
        headers |= {"ce-specversion": "1.0", "ce-id": "x", "ce-source": "s", "ce-type": "t"}
    response = server.post(source, content=content, headers=headers,
                           params={"format": fmt} if fmt else None)
    assert response.status_code in {200, 422}, response.text
    assert isinstance(response.json(), dict)
