"""The authenticator's edges that the HTTP stories do not reach: rotation lists, odd Basic
headers, Grafana timestamps at the window's edges."""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime, timedelta

from bot.ingest.auth import Authenticator, HmacHeader

NOW = datetime(2024, 5, 14, 9, 0, tzinfo=UTC)
BODY = b'{"alerts": []}'


def auth(**options) -> Authenticator:
    return Authenticator("s3cret", now=lambda: NOW, **options)


def hex_hmac(secret: str, message: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), message, algorithm).hexdigest()


def test_any_one_of_several_rotated_signatures_will_do() -> None:
    good = "v1=" + hex_hmac("s3cret", BODY)
    for header in (good, f"v1=deadbeef, {good}", f"{good},v1=00"):
        assert auth()("pagerduty", {"x-pagerduty-signature": header}, BODY) is None
    assert auth()("pagerduty", {"x-pagerduty-signature": "v1=00,v0=11"}, BODY) is not None
    assert auth()("pagerduty", {"x-pagerduty-signature": good.removeprefix("v1=")},
                  BODY) is not None  # the scheme prefix is part of the format


def test_a_mappings_own_header() -> None:
    sentry = {"sentry": HmacHeader("sentry-hook-signature")}
    signed = {"sentry-hook-signature": hex_hmac("s3cret", BODY)}
    assert auth(signatures=sentry)("sentry", signed, BODY) is None
    assert auth()("sentry", signed, BODY) is not None  # only where configured


def test_url_credentials_only_where_opted_in() -> None:
    def basic(text: bytes) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(text).decode()}

    opted = auth(url_credentials=["mentions"])
    assert opted("mentions", basic(b"anyone:s3cret"), BODY) is None
    assert opted("mentions", basic(b"s3cret"), BODY) is not None  # no password part
    assert opted("mentions", {"authorization": "Basic %%%"}, BODY) is not None
    assert opted("mentions", {}, BODY, {"token": "s3cret"}) is None
    assert opted("mentions", {}, BODY, {"token": "s3cre"}) is not None
    assert opted("generic", basic(b"anyone:s3cret"), BODY) is not None
    assert auth()("mentions", {}, BODY, {"token": "s3cret"}) is not None


def test_grafana_timestamp_window() -> None:
    def grafana(at: datetime | str) -> str | None:
        stamp = at if isinstance(at, str) else str(int(at.timestamp()))
        signature = hex_hmac("s3cret", stamp.encode() + b":" + BODY)
        return auth()("grafana", {"x-grafana-alerting-signature": signature,
                                  "x-grafana-alerting-signature-timestamp": stamp}, BODY)

    assert grafana(NOW - timedelta(minutes=4, seconds=59)) is None
    assert grafana(NOW + timedelta(minutes=4)) is None
    assert "5 minutes" in (grafana(NOW - timedelta(minutes=6)) or "")
    assert "5 minutes" in (grafana(NOW + timedelta(hours=1)) or "")
    assert "not a number" in (grafana("yesterday") or "")
    unstamped = {"x-grafana-alerting-signature": hex_hmac("s3cret", BODY)}
    assert auth()("grafana", unstamped, BODY) is None
