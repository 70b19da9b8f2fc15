"""The raw delivery (exact body, headers without secrets) is stored in the transaction that
stores its alerts; re-deliveries and refusals store none."""

from __future__ import annotations

import json
import sqlite3

from alert_server import SECRET, Running, alertmanager
from test_alert_intake import signed


def rows(server: Running, sql: str) -> list[tuple]:
    with sqlite3.connect(server.db) as conn:
        return list(conn.execute(sql).fetchall())


def test_delivery_keeps_the_exact_body_and_no_secret(server: Running) -> None:
    body = json.dumps(alertmanager(n=2), indent=1).encode() + b"\n"
    headers = {"content-type": "application/json", "cookie": "session=abc",
               "x-grafana-alerting-signature": "deadbeef", "x-request-id": "r-1"}
    assert server.post("alertmanager", content=body, headers=headers).status_code == 200
    [(number, source, webhook_id, stored, raw_headers)] = rows(
        server, "select id, source, webhook_id, body, headers from deliveries")
    assert source == "alertmanager"
    assert webhook_id is None
    assert bytes(stored) == body
    kept = json.loads(raw_headers)
    assert kept["x-request-id"] == "r-1"
    assert kept["content-type"] == "application/json"
    for secret in ("authorization", "cookie", "x-grafana-alerting-signature"):
        assert secret not in kept
    assert SECRET not in raw_headers
    assert rows(server, "select distinct delivery from alerts") == [(number,)]


def test_signed_delivery_keeps_its_id_not_its_signature(server: Running) -> None:
    body = b'{"title": "Login failures spike"}'
    sent = signed(SECRET, body, "msg_raw1")
    assert server.post("generic", content=body, bearer=None, headers=sent).status_code == 200
    [(webhook_id, raw_headers)] = rows(server, "select webhook_id, headers from deliveries")
    assert webhook_id == "msg_raw1"
    kept = json.loads(raw_headers)
    assert "webhook-signature" not in kept
    assert kept["webhook-id"] == "msg_raw1"


def test_headers_are_kept_by_allow_list(server: Running) -> None:
    """Credentials under names no deny-list foresees stay out; a sender's ids stay in."""
    body = json.dumps(alertmanager(n=1)).encode()
    sent = {"content-type": "application/json", "user-agent": "Alertmanager/0.27.0",
            "x-forwarded-authorization": "Bearer upstream-token", "x-auth-key": "k-123",
            "x-api-secret-value": "v-456", "x-session": "s-789", "x-github-delivery": "d-1"}
    assert server.post("alertmanager", content=body, headers=sent).status_code == 200
    [(raw_headers,)] = rows(server, "select headers from deliveries")
    kept = json.loads(raw_headers)
    assert kept["user-agent"] == "Alertmanager/0.27.0"
    assert kept["x-github-delivery"] == "d-1"
    for leaked in ("upstream-token", "k-123", "v-456", "s-789"):
        assert leaked not in raw_headers


def test_redelivery_stores_no_new_delivery(server: Running) -> None:
    body = json.dumps(alertmanager(n=3)).encode()
    assert server.post("alertmanager", content=body).json()["accepted"] == 3
    assert server.post("alertmanager", content=body).json()["duplicate"] is True
    assert server.count("select count(*) from deliveries") == 1
    # One new alert among old ones: a new delivery, referenced by the new alert only.
    more = json.dumps(alertmanager(n=4)).encode()
    assert server.post("alertmanager", content=more).json()["accepted"] == 1
    assert server.count("select count(*) from deliveries") == 2
    assert rows(server, "select delivery, count(*) from alerts group by delivery") == [
        (1, 3), (2, 1)]


def test_refused_bodies_are_not_stored(server: Running) -> None:
    good = json.dumps(alertmanager()).encode()
    assert server.post("alertmanager", content=good, bearer="wrong").status_code == 401
    assert server.post("alertmanager", content=b"{not json").status_code == 422
    assert server.post("alertmanager", content=b'{"alerts": 3}').status_code == 422
    assert server.count("select count(*) from deliveries") == 0
    assert server.count("select count(*) from alerts") == 0
