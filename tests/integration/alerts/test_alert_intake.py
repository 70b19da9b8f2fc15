"""Alerts over real HTTP: storms group into one incident, re-deliveries are idempotent, every
refusal has its status and a JSON body, and nothing refused is stored."""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import sqlite3
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alert_server import SECRET, Running, alertmanager, start
from standardwebhooks.webhooks import Webhook


def signed(secret: str, body: bytes, msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
           at: datetime | None = None) -> dict:
    """Headers as a Standard Webhooks sender signs them (now, or `at`)."""
    now = at or datetime.now(UTC)
    key = secret if secret.startswith("whsec_") else secret.encode()
    signature = Webhook(key).sign(msg_id, now, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature, "content-type": "application/json"}


def test_alertmanager_storm_opens_one_incident(server: Running) -> None:
    first = server.post("alertmanager", alertmanager())
    assert first.status_code == 200
    assert first.json()["alerts"][0] == {
        "dedup_key": first.json()["alerts"][0]["dedup_key"], "duplicate": False,
        "opened": True, "incident": "INC-1"}

    def send(i: int) -> int:
        return server.post("alertmanager", alertmanager(start=1 + i)).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(send, range(200)))
    assert codes == [200] * 200
    assert server.count("select count(*) from incidents") == 1
    assert server.count("select count(*) from alerts where incident = 1") == 201
    [channel] = server.channels()
    summary = server.texts(channel)[0]
    assert "INC-1: Checkout error rate above 5%" in summary
    assert "SEV1" in summary


def test_ten_thousand_more_alerts_open_nothing_new(server: Running) -> None:
    """The issue's acceptance: after INC-1 opens, 10,000 more alerts of its group (as
    Alertmanager sends them, 100 to a notification, from 8 senders at once) attach to it."""
    assert server.post("alertmanager", alertmanager()).json()["alerts"][0]["incident"] == "INC-1"

    def send(i: int) -> tuple[int, int]:
        answer = server.post("alertmanager", alertmanager(n=100, start=1 + 100 * i))
        return answer.status_code, answer.json()["accepted"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(100)))
    assert answers == [(200, 100)] * 100
    assert server.count("select count(*) from incidents") == 1
    assert server.count("select count(*) from alerts where incident = 1") == 10_001
    [channel] = server.channels()
    assert len(server.texts(channel)) < 10  # the opening, its summary and digests: no flood


def test_a_restart_still_tells_what_the_stopped_server_owed(tmp_path) -> None:
    """Alerts attached after the last digest were counted in memory only: the next start
    finds them in the database and tells them (channel and timeline)."""
    settings = {"alerts": {"secret": SECRET, "digest_seconds": 1}}
    first = start(tmp_path, **settings)
    first["running"].post("alertmanager", alertmanager())
    first["running"].post("alertmanager", alertmanager(n=5, start=1))
    first["stop"]()
    digests = "select data from timeline_events where kind = 'alerts_digest'"
    assert first["running"].count(digests.replace("data", "count(*)")) == 0

    second = start(tmp_path, **settings)
    try:
        for _ in range(100):
            with sqlite3.connect(second["running"].db) as conn:
                told = [json.loads(row[0]) for row in conn.execute(digests)]
            if told:
                break
            time.sleep(0.05)
        assert [d["count"] for d in told] == [5]
    finally:
        second["stop"]()


def test_redelivery_is_a_duplicate(server: Running) -> None:
    body = json.dumps(alertmanager(n=3)).encode()
    assert server.post("alertmanager", content=body).json()["accepted"] == 3
    again = server.post("alertmanager", content=body)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["accepted"] == 0
    assert server.count("select count(*) from alerts") == 3


def test_standard_webhooks_signature_and_webhook_id(server: Running) -> None:
    body = json.dumps({"title": "Login failures spike", "severity": "warning"}).encode()
    first = server.post("generic", content=body, bearer=None, headers=signed(SECRET, body))
    assert first.status_code == 200, first.text
    assert first.json()["alerts"][0]["incident"] == "INC-1"
    again = server.post("generic", content=body, bearer=None, headers=signed(SECRET, body))
    assert again.json()["duplicate"] is True
    other = server.post("generic", content=body, bearer=None,
                        headers=signed(SECRET, body, "msg_other"))
    assert other.json()["duplicate"] is False
    assert server.count("select count(*) from incidents") == 1


def test_standard_webhooks_refusals_say_why(server: Running) -> None:
    body = json.dumps({"title": "Replayed"}).encode()
    hour_ago = signed(SECRET, body, at=datetime.now(UTC) - timedelta(hours=1))
    replay = server.post("generic", content=body, bearer=None, headers=hour_ago)
    assert replay.status_code == 401
    assert "more than 5 minutes from now" in replay.json()["error"]
    no_id = {k: v for k, v in signed(SECRET, body).items() if k != "webhook-id"}
    missing = server.post("generic", content=body, bearer=None, headers=no_id)
    assert missing.status_code == 401
    assert "webhook-id" in missing.json()["error"]
    assert server.count("select count(*) from alerts") == 0


def test_whsec_secret(serve) -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    server = serve(alerts={"secret": secret})
    body = b'{"title": "Queue backlog"}'
    assert server.post("generic", content=body, bearer=None,
                       headers=signed(secret, body)).status_code == 200


def test_refusals(server: Running) -> None:
    good = json.dumps(alertmanager()).encode()
    cases = [
        (server.post("nosuch", content=good), 404),
        (server.post("alertmanager", content=good, bearer=None), 401),
        (server.post("alertmanager", content=good, bearer="wrong"), 401),
        (server.post("alertmanager", content=good, bearer=None,
                     headers={"authorization": f"Basic {SECRET}"}), 401),
        (server.post("alertmanager", content=good, bearer=None,
                     headers=signed("not-the-secret", good)), 401),
        (server.post("alertmanager", content=good, bearer=None,
                     headers={**signed(SECRET, good), "webhook-signature": "v1,@@@"}), 401),
        (server.post("alertmanager", content=good, bearer=None,
                     headers={**signed(SECRET, good), "webhook-timestamp": "1"}), 401),
        (server.post("alertmanager", content=b"{not json"), 422),
        (server.post("alertmanager", content=b"\xff\xfe"), 422),
        (server.post("alertmanager", content=b"a" * (1024 * 1024 + 1)), 413),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        assert "error" in response.json()
    assert server.count("select count(*) from alerts") == 0


def test_another_method_on_a_source_says_to_post(server: Running) -> None:
    """Grafana's webhook offers PUT: it was told "Not Found" about a source that exists."""
    for method in ("PUT", "GET", "DELETE"):
        response = server.client.request(method, "/alerts/grafana")
        assert response.status_code == 405, (method, response.text)
        assert response.headers["allow"] == "POST"
        assert "POST" in response.json()["error"]


def test_compressed_bodies_are_refused_as_unsupported(server: Running) -> None:
    """A gzip body read as JSON was a confusing 422 ("not valid JSON"), and a plain body
    labelled gzip was taken: a coded body is a 415 that names the encoding."""
    body = json.dumps(alertmanager()).encode()
    for encoding, content in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body)),
                              ("gzip", body), ("br, gzip", body)):
        response = server.post("alertmanager", content=content,
                               headers={"content-encoding": encoding})
        assert response.status_code == 415, response.text
        assert encoding in response.json()["error"]
    assert server.count("select count(*) from alerts") == 0
    plain = server.post("alertmanager", content=body, headers={"content-encoding": "identity"})
    assert plain.status_code == 200, plain.text


def nul_and_long_id(server: Running) -> list[httpx.Response]:
    """What PostgreSQL cannot store as sent: U+0000 in text (JSON's `\\u0000`, here in a
    title, a label and a metric's name) and a `webhook-id` wider than its column."""
    body = (b'{"title": "disk\\u0000full", "labels": {"host\\u0000": "a\\u0000b"},'
            b' "metrics": {"m\\u0000": 1}}')
    return [server.post("generic", content=body),
            server.post("generic", {"title": "long id"}, headers={"webhook-id": "i" * 300})]


def test_a_lone_surrogate_is_stored_readably(server: Running) -> None:
    """JSON's `\\ud800` (or its raw UTF-8-like bytes) in a CloudEvent's text `data` is no
    UTF-8 at all: the description failed the batch, a 503, on SQLite and PostgreSQL alike."""
    for number, data in enumerate((b'"d\\ud800"', b'"d\xed\xa0\x80"')):
        body = b'{"specversion": "1.0", "id": "%d", "source": "s", "type": "t", "data": %s}' % (
            number, data)
        response = server.post("cloudevents", content=body)
        assert response.status_code == 200, response.text
    with sqlite3.connect(server.db) as conn:
        assert conn.execute("select description from alerts").fetchall() == [("d\ufffd",)] * 2


def test_text_a_database_cannot_hold_is_stored_readably(server: Running) -> None:
    for response in nul_and_long_id(server):
        assert response.status_code == 200, response.text
    with sqlite3.connect(server.db) as conn:
        title, labels, metrics = conn.execute(
            "select title, labels, metrics from alerts order by id").fetchone()
        assert (title, json.loads(labels), json.loads(metrics)) == (
            "disk\ufffdfull", {"host\ufffd": "a\ufffdb"}, {"m\ufffd": 1.0})
        assert conn.execute("select webhook_id from deliveries where webhook_id is not null"
                            ).fetchone() == ("i" * 255,)


@pytest.mark.postgres
def test_text_a_database_cannot_hold_is_not_a_503_on_postgres(serve, postgres_url) -> None:
    """Both were a 503 on PostgreSQL (a sender retries it forever)."""
    server = serve(database_url=postgres_url)
    for response in nul_and_long_id(server):
        assert response.status_code == 200, response.text


def long_keys_group_and_dedupe(server: Running) -> None:
    """Keys longer than PostgreSQL indexes (about 2.7 kB: an Alertmanager `groupKey` of many
    long group labels, a fingerprint, a mention's brand) still group a storm into one incident
    and make a re-delivery a duplicate."""
    group = "{}:{" + ", ".join(f'label{i}="{secrets.token_hex(40)}"' for i in range(40)) + "}"
    first, second = alertmanager(group, start=0), alertmanager(group, start=1)
    first["alerts"][0]["fingerprint"] = secrets.token_hex(2000)
    answers = [server.post("alertmanager", body) for body in (first, second, first)]
    assert [a.status_code for a in answers] == [200, 200, 200], answers[0].text
    opened, joined, again = (a.json()["alerts"][0] for a in answers)
    assert (opened["opened"], joined["opened"], again["duplicate"]) == (True, False, True)
    assert joined["incident"] == opened["incident"]
    assert again["dedup_key"] == opened["dedup_key"]
    brand = secrets.token_hex(2000)
    mentions = [server.post("mentions", {"id": "1", "brand": brand, "text": "recall",
                                         "severity": "high"}) for _ in range(2)]
    assert [m.status_code for m in mentions] == [200, 200], mentions[0].text
    assert mentions[1].json()["duplicate"] is True


def test_long_keys_group_and_dedupe(server: Running) -> None:
    long_keys_group_and_dedupe(server)


@pytest.mark.postgres
def test_long_keys_group_and_dedupe_on_postgres(serve, postgres_url) -> None:
    """Each was a 503 on PostgreSQL ("index row size exceeds btree maximum")."""
    long_keys_group_and_dedupe(serve(database_url=postgres_url))


def test_a_truncated_count_past_64_bits_is_refused(server: Running) -> None:
    """It reached the timeline event's JSON encoder and answered 503, retried forever."""
    grafana = {"status": "firing", "orgId": 1, "groupKey": "{}:{}", "alerts": [
        {"status": "firing", "labels": {"alertname": "Disk"}, "fingerprint": "f"}]}
    for source, body in (("alertmanager", alertmanager()), ("grafana", grafana)):
        response = server.post(source, body | {"truncatedAlerts": 2 ** 64})
        assert response.status_code == 422, response.text
        assert response.json()["problems"][0]["loc"] == "body.truncatedAlerts"
    assert server.count("select count(*) from alerts") == 0
    assert server.post("alertmanager", alertmanager() | {"truncatedAlerts": 2 ** 63 - 1}
                       ).status_code == 200


def test_schema_errors_name_fields(server: Running) -> None:
    body = alertmanager()
    del body["groupKey"]
    body["alerts"][0]["status"] = "burning"
    response = server.post("alertmanager", body)
    assert response.status_code == 422
    locs = {p["loc"] for p in response.json()["problems"]}
    assert locs == {"body.groupKey", "body.alerts.0.status"}
    assert server.count("select count(*) from alerts") == 0


def test_no_secret_refuses_everything(serve) -> None:
    server = serve(alerts={})
    assert server.post("generic", {"title": "x"}).status_code == 401
    assert server.post("generic", {"title": "x"}, bearer="").status_code == 401


def test_per_source_secret_overrides(serve) -> None:
    server = serve(alerts={"secret": SECRET, "sources": {"mentions": {"secret": "m-secret"}}})
    mention = {"id": "1", "text": "BrightMilk is poison", "brand": "BrightMilk"}
    assert server.post("mentions", mention).status_code == 401
    assert server.post("mentions", mention, bearer="m-secret").status_code == 200
    assert server.post("generic", {"title": "x"}).status_code == 200


def test_a_secret_rotation_takes_the_old_and_the_new_secret(serve) -> None:
    """`previous_secret` (shared and per source) keeps senders not yet moved working."""
    server = serve(alerts={"secret": SECRET, "previous_secret": "old-shared-secret",
                           "sources": {"mentions": {"secret": "m-new",
                                                    "previous_secret": "m-old"}}})
    mention = {"id": "1", "text": "BrightMilk is poison", "brand": "BrightMilk"}
    assert server.post("generic", {"title": "x"}, bearer="old-shared-secret").status_code == 200
    assert server.post("generic", {"title": "y"}).status_code == 200
    assert server.post("mentions", mention, bearer="m-old").status_code == 200
    assert server.post("mentions", mention, bearer="old-shared-secret").status_code == 401
    assert server.post("generic", {"title": "z"}, bearer="older").status_code == 401


def test_health_metrics_openapi(server: Running) -> None:
    assert server.client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    server.post("alertmanager", alertmanager(n=2))
    server.post("alertmanager", alertmanager(n=2))
    server.post("generic", {"title": "x"}, bearer="bad")
    text = server.client.get("/metrics").text
    assert 'crisisbot_alerts_accepted_total{source="alertmanager"} 2.0' in text
    assert 'crisisbot_alerts_duplicate_total{source="alertmanager"} 2.0' in text
    assert 'crisisbot_alerts_rejected_total{reason="unauthorized",source="generic"} 1.0' in text
    assert 'crisisbot_incidents_opened_total{source="alertmanager"} 1.0' in text
    assert "crisisbot_http_request_duration_seconds_bucket" in text
    spec = server.client.get("/openapi.json").json()
    assert "/alerts/{source}" in spec["paths"]
    assert {"/healthz", "/metrics"} <= set(spec["paths"])


def test_a_generic_fingerprint_without_its_time_fires_again_after_a_resolve(
        server: Running) -> None:
    """Without `occurred_at` a fingerprint's deliveries are told apart by their `webhook-id`
    (a sender's retry keeps it): the next firing, after a resolve, is not a duplicate."""
    def send(status: str, delivery: str) -> dict[str, object]:
        body = {"title": "Checkout errors", "fingerprint": "checkout-5xx", "status": status}
        answer = server.post("generic", body, headers={"webhook-id": delivery})
        assert answer.status_code == 200
        return dict(answer.json()["alerts"][0])

    assert send("firing", "msg-1")["duplicate"] is False
    assert send("firing", "msg-1")["duplicate"] is True  # the sender's retry
    assert send("resolved", "msg-2")["duplicate"] is False
    assert send("firing", "msg-3")["duplicate"] is False  # it fires again


def test_resolved_alerts_tell_the_channel(server: Running) -> None:
    server.post("alertmanager", alertmanager(n=2))
    server.post("alertmanager", alertmanager(n=1, status="resolved"))
    server.post("alertmanager", alertmanager(n=1, start=1, status="resolved"))
    assert server.count("select count(*) from alerts where status = 'resolved'") == 2
    server.client.get("/healthz")  # let delivery catch up
    texts = server.texts()
    for _ in range(50):
        if any("have resolved" in t for t in texts):
            break
        import time
        time.sleep(0.05)
        texts = server.texts()
    assert "All 2 alerts of INC-1 have resolved." in texts


def test_routing_rules(serve) -> None:
    server = serve(alerts={"secret": SECRET, "routes": [
        {"match": {"source": "alertmanager", "labels": {"job": "checkout"}},
         "severity": "SEV2", "kind": "service_outage", "invite": ["local:oncall"],
         "playbook": "checkout-down"}]})
    server.post("alertmanager", alertmanager(severity="warning"))
    with __import__("sqlite3").connect(server.db) as conn:
        row = conn.execute("select severity, kind from incidents").fetchone()
    assert row == ("SEV2", "service_outage")
