"""Who may post alerts: a Standard Webhooks signature, `Authorization: Bearer <secret>`, a
sender's own HMAC signature header (Grafana, PagerDuty, Meltwater, or one a mapping names), or,
for senders that cannot set headers and only where a source opts in, the secret in the URL
(HTTP Basic userinfo or `?token=`). Each is checked against the source's secret in constant
time; the answer is None (let in) or the reason for a 401.

A secret starting with `whsec_` is a Standard Webhooks secret (base64 after the prefix) and
signs with its decoded bytes; any other secret signs with its UTF-8 bytes. No secret: refuse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TOLERANCE = timedelta(minutes=5)
"""How far a signed timestamp may be from now (Standard Webhooks' window)."""

STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
GRAFANA_SIGNATURES = ("x-grafana-alerting-signature", "x-grafana-alert-signature")
GRAFANA_TIMESTAMPS = ("x-grafana-alerting-signature-timestamp", "x-grafana-alerting-timestamp")

WRONG = "missing or wrong credentials"


@dataclass(frozen=True)
class HmacHeader:
    """A signature header holding the HMAC of the raw body: `prefix` + hex digest, possibly
    several comma-separated (a sender rotating its secret signs with both)."""

    header: str
    algorithm: str = "sha256"
    prefix: str = ""

    def valid(self, secret: str, value: str, body: bytes) -> bool:
        expected = hmac.new(secret.encode(), body, self.algorithm).hexdigest().encode()
        given = [v.strip() for v in value.split(",")]
        return any(v.lower().startswith(self.prefix) and
                   hmac.compare_digest(v[len(self.prefix):].lower().encode(), expected)
                   for v in given)


SENDER_SIGNATURES = (
    HmacHeader("x-pagerduty-signature", "sha256", "v1="),  # PagerDuty webhooks V3
    HmacHeader("x-hub-signature", "sha1", "sha1="),  # Meltwater streams
)


class Authenticator:
    """Checks that a delivery knows its source's secret: the source's own, else the shared
    one, and during a rotation also the `previous` one it replaces (per source or shared)."""

    def __init__(self, secret: str | None, per_source: Mapping[str, str] | None = None, *,
                 previous: str | None = None,
                 previous_per_source: Mapping[str, str] | None = None,
                 url_credentials: Collection[str] = (),
                 signatures: Mapping[str, HmacHeader] | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._default = secret or None
        self._per_source = {k: v for k, v in (per_source or {}).items() if v}
        self._previous = previous or None
        self._previous_per_source = {k: v for k, v in (previous_per_source or {}).items() if v}
        self._url_credentials = frozenset(url_credentials)
        self._signatures = dict(signatures or {})
        self._now = now

    def secrets_for(self, source: str) -> list[str]:
        """The secret in force, then the one it replaces while senders move over; none
        without a secret in force (a previous one alone admits nobody)."""
        current = self._per_source.get(source, self._default)
        if current is None:
            return []
        previous = (self._previous_per_source.get(source) if source in self._per_source
                    else self._previous)
        return [current, previous] if previous else [current]

    @property
    def configured(self) -> bool:
        return self._default is not None or bool(self._per_source)

    def __call__(self, source: str, headers: Mapping[str, str], body: bytes,
                 query: Mapping[str, str] | None = None) -> str | None:
        """None when the delivery proves it knows one of the source's secrets (headers
        lower-cased), else why not (the most telling reason: a stale timestamp on a valid
        signature says more than "wrong")."""
        reasons = [self._check(s, source, headers, body, query)
                   for s in self.secrets_for(source)]
        if None in reasons:
            return None
        return next((r for r in reasons if r != WRONG), WRONG)

    def _check(self, secret: str, source: str, headers: Mapping[str, str], body: bytes,
               query: Mapping[str, str] | None) -> str | None:
        if "webhook-signature" in headers:
            return self._standard_webhook(secret, headers, body)
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            # The header's bytes as sent (ASGI decodes them as Latin-1): a UTF-8 secret.
            given_bytes = token.strip().encode("latin-1", "replace")
            return None if hmac.compare_digest(given_bytes, secret.encode()) else WRONG
        if source in self._url_credentials:
            given = _basic_password(token) if scheme.lower() == "basic" else None
            given = given if given is not None else (query or {}).get("token")
            if given is not None:
                return None if _same(given, secret) else WRONG
        if any(h in headers for h in GRAFANA_SIGNATURES):
            return self._grafana(secret, headers, body)
        own = self._signatures.get(source)
        for signature in (*SENDER_SIGNATURES, *((own,) if own else ())):
            if signature.header in headers:
                return None if signature.valid(secret, headers[signature.header], body) \
                    else WRONG
        return WRONG

    def _grafana(self, secret: str, headers: Mapping[str, str], body: bytes) -> str | None:
        """Grafana signs the body, or `<timestamp>:<body>` when it sends a timestamp; a signed
        timestamp more than `TOLERANCE` from now is a replay."""
        signature = next(headers[h] for h in GRAFANA_SIGNATURES if h in headers)
        given = signature.strip().lower().removeprefix("sha256=").encode()
        key = secret.encode()
        if hmac.compare_digest(given, hmac.new(key, body, hashlib.sha256).hexdigest().encode()):
            return None
        stamp = next((headers[h] for h in GRAFANA_TIMESTAMPS if h in headers), None)
        if not stamp:
            return WRONG
        signed = stamp.encode() + b":" + body
        if not hmac.compare_digest(given, hmac.new(key, signed, hashlib.sha256).hexdigest()
                                   .encode()):
            return WRONG
        return self._fresh(stamp)

    def _standard_webhook(self, secret: str, headers: Mapping[str, str],
                          body: bytes) -> str | None:
        """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, possibly several space-separated
        (a sender rotating its secret signs with both): one valid is enough, whatever else
        the list holds. The id and timestamp are signed as sent (ASGI hands headers on as
        Latin-1, so encoding them back gives the sender's bytes); a signed timestamp more than
        `TOLERANCE` from now is a replay."""
        missing = [h for h in STANDARD_HEADERS if not headers.get(h, "").strip()]
        if missing:
            return f"a Standard Webhooks signature needs the header(s) {', '.join(missing)}"
        key = _standard_key(secret)
        if key is None:
            return WRONG
        msg_id, stamp, signatures = (headers[h].encode("latin-1", "replace")
                                     for h in STANDARD_HEADERS)
        expected = base64.b64encode(hmac.new(key, b".".join((msg_id, stamp, body)),
                                             hashlib.sha256).digest())
        given = (token.partition(b",") for token in signatures.split())
        if not any(version == b"v1" and hmac.compare_digest(value, expected)
                   for version, _, value in given):
            return WRONG
        return self._fresh(headers["webhook-timestamp"])

    def _fresh(self, stamp: str) -> str | None:
        """None when a signed timestamp is within `TOLERANCE` of now, else why not."""
        try:
            at = datetime.fromtimestamp(int(stamp.strip()), UTC)
        except (ValueError, OverflowError, OSError):
            return "signature timestamp is not a number of seconds"
        if abs(self._now() - at) > TOLERANCE:
            return "signature timestamp is more than 5 minutes from now (a replay?)"
        return None


def _same(given: str, secret: str) -> bool:
    return hmac.compare_digest(given.encode(), secret.encode())


def _basic_password(token: str) -> str | None:
    """The password of `Authorization: Basic <base64 user:password>` (what a client sends for
    `https://user:password@host/...`); the user name is free."""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode()
    except ValueError:  # not base64 (a non-ASCII character too), or not UTF-8
        return None
    _user, colon, password = decoded.partition(":")
    return password if colon else None


def _standard_key(secret: str) -> bytes | None:
    """The HMAC key: a `whsec_` secret's base64 (None when it is not base64), else the
    secret's UTF-8 bytes."""
    if not secret.startswith("whsec_"):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix("whsec_") + "==") or None
    except binascii.Error:
        return None
