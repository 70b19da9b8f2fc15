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


def standard(secret: bytes, msg_id: bytes, stamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, over the bytes the sender sends."""
    signed = msg_id + b"." + stamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(secret, signed, "sha256").digest()).decode()


def headers(msg_id: bytes, stamp: str, signature: str) -> dict[str, str]:
    """As the web route hands them on: ASGI header bytes decoded as Latin-1."""
    return {"webhook-id": msg_id.decode("latin-1"), "webhook-timestamp": stamp,
            "webhook-signature": signature}


def test_standard_webhooks_says_why_a_delivery_is_refused() -> None:
    stamp = str(int(NOW.timestamp()))
    good = standard(b"s3cret", b"msg_1", stamp, BODY)
    assert auth()("generic", headers(b"msg_1", stamp, good), BODY) is None
    for late in (NOW - timedelta(minutes=6), NOW + timedelta(hours=1)):
        old = str(int(late.timestamp()))
        signed = headers(b"msg_1", old, standard(b"s3cret", b"msg_1", old, BODY))
        assert "5 minutes" in (auth()("generic", signed, BODY) or "")
    unsigned_late = headers(b"msg_1", "1", standard(b"other", b"msg_1", "1", BODY))
    assert auth()("generic", unsigned_late, BODY) == "missing or wrong credentials"
    missing = {"webhook-signature": good, "webhook-timestamp": stamp}
    assert "webhook-id" in (auth()("generic", missing, BODY) or "")


def test_standard_webhooks_one_valid_signature_among_several_will_do() -> None:
    stamp = str(int(NOW.timestamp()))
    good = standard(b"s3cret", b"msg_1", stamp, BODY)
    rotated = standard(b"old-secret", b"msg_1", stamp, BODY)
    for signatures in (f"{rotated} {good}", f"v1,@@@ {good}", f"v2,abc {good}",
                       f"nocomma {good}", f"{good}  v1a,xyz"):
        assert auth()("generic", headers(b"msg_1", stamp, signatures), BODY) is None, \
            signatures
    assert auth()("generic", headers(b"msg_1", stamp, f"{rotated} v1,@@@"), BODY) is not None


def test_standard_webhooks_signs_the_bytes_sent() -> None:
    """A non-ASCII `webhook-id` (UTF-8 on the wire) and a body that is not UTF-8 are signed
    as sent."""
    stamp = str(int(NOW.timestamp()))
    msg_id, body = "сообщение-1".encode(), b"\xff\xfe not utf-8"
    signed = headers(msg_id, stamp, standard(b"s3cret", msg_id, stamp, body))
    assert auth()("generic", signed, body) is None


def test_standard_webhooks_whsec_secret_that_is_not_base64() -> None:
    stamp = str(int(NOW.timestamp()))
    broken = Authenticator("whsec_a", now=lambda: NOW)
    assert broken("generic", headers(b"m", stamp, standard(b"a", b"m", stamp, BODY)),
                  BODY) == "missing or wrong credentials"


def test_a_non_ascii_secret_in_a_bearer_header() -> None:
    """HTTP sends the header's UTF-8 bytes, which reach us decoded as Latin-1."""
    secret = "пароль-0123456789"
    wire = ("Bearer " + secret).encode().decode("latin-1")
    assert Authenticator(secret)("generic", {"authorization": wire}, BODY) is None
    assert Authenticator(secret)("generic", {"authorization": "Bearer " + secret}, BODY) \
        is not None  # not what any client sends


def test_a_rotation_accepts_the_previous_secret_until_it_is_removed() -> None:
    """A team moves its senders to a new secret one by one: meanwhile both are accepted, for
    every scheme; a secret older than the previous one is not."""
    bearer = {"authorization": "Bearer old-s3cret"}
    assert auth()("generic", bearer, BODY) == "missing or wrong credentials"
    rotating = auth(previous="old-s3cret")
    assert rotating("generic", bearer, BODY) is None
    assert rotating("generic", {"authorization": "Bearer s3cret"}, BODY) is None
    assert rotating("generic", {"authorization": "Bearer older"}, BODY) is not None
    signed = {"x-pagerduty-signature": "v1=" + hex_hmac("old-s3cret", BODY)}
    assert rotating("pagerduty", signed, BODY) is None
    stamp = str(int(NOW.timestamp()))
    assert rotating("generic", headers(b"m", stamp, standard(b"old-s3cret", b"m", stamp, BODY)),
                    BODY) is None
    late = str(int((NOW - timedelta(hours=1)).timestamp()))
    stale = headers(b"m", late, standard(b"old-s3cret", b"m", late, BODY))
    assert "5 minutes" in (rotating("generic", stale, BODY) or "")  # the telling reason


def test_a_sources_own_rotation_is_its_own() -> None:
    own = auth(per_source={"grafana": "g-new"}, previous_per_source={"grafana": "g-old"},
               previous="old-s3cret")
    assert own("grafana", {"authorization": "Bearer g-old"}, BODY) is None
    assert own("grafana", {"authorization": "Bearer old-s3cret"}, BODY) is not None
    assert own("generic", {"authorization": "Bearer old-s3cret"}, BODY) is None


def test_a_previous_secret_alone_admits_nobody() -> None:
    """A rotation half undone (the new secret removed, the old one left as `previous`) is no
    configuration: nothing is accepted rather than the secret being rotated away."""
    alone = Authenticator(None, previous="old-s3cret")
    assert alone("generic", {"authorization": "Bearer old-s3cret"}, BODY) == \
        "missing or wrong credentials"
