"""Who may post alerts: a Standard Webhooks signature, `Authorization: Bearer <secret>`, or
Grafana's own HMAC signature; each checked against the source's secret in constant time.

A secret starting with `whsec_` is a Standard Webhooks secret (base64 after the prefix) and
signs with its decoded bytes; any other secret signs with its UTF-8 bytes. No secret: refuse.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from standardwebhooks.webhooks import Webhook

GRAFANA_SIGNATURES = ("x-grafana-alerting-signature", "x-grafana-alert-signature")
GRAFANA_TIMESTAMPS = ("x-grafana-alerting-signature-timestamp", "x-grafana-alerting-timestamp")


class Authenticator:
    def __init__(self, secret: str | None, per_source: Mapping[str, str] | None = None) -> None:
        self._default = secret or None
        self._per_source = {k: v for k, v in (per_source or {}).items() if v}

    def secret_for(self, source: str) -> str | None:
        return self._per_source.get(source, self._default)

    @property
    def configured(self) -> bool:
        return self._default is not None or bool(self._per_source)

    def __call__(self, source: str, headers: Mapping[str, str], body: bytes) -> bool:
        """True when the delivery proves it knows the source's secret (headers lower-cased)."""
        secret = self.secret_for(source)
        if secret is None:
            return False
        if "webhook-signature" in headers:
            return _standard_webhook(secret, headers, body)
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token:
            return hmac.compare_digest(token.strip().encode(), secret.encode())
        if source == "grafana":
            return _grafana(secret, headers, body)
        return False


def _key(secret: str) -> bytes | str:
    return secret if secret.startswith("whsec_") else secret.encode()


def _standard_webhook(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    try:
        Webhook(_key(secret)).verify(body, dict(headers), json_parse=False)
    except Exception:
        return False
    return True


def _grafana(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    signature = next((headers[h] for h in GRAFANA_SIGNATURES if h in headers), None)
    if not signature:
        return False
    key = secret.encode()
    signed = [body]
    timestamp = next((headers[h] for h in GRAFANA_TIMESTAMPS if h in headers), None)
    if timestamp:
        signed.append(timestamp.encode() + b":" + body)
    expected = [hmac.new(key, message, hashlib.sha256).hexdigest() for message in signed]
    given = signature.strip().lower().removeprefix("sha256=")
    return any(hmac.compare_digest(given.encode(), e.encode()) for e in expected)
