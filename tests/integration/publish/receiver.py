"""A loopback webhook receiver that checks every delivery's Standard Webhooks signature with
the `standardwebhooks` library (as a team's CMS or automation would) and keeps the verified
ones by `webhook-id`; it can be told to answer 503 until released (a receiver that is down)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's example key


@dataclass
class Receiver:
    secret: str = SECRET
    down: bool = False
    retry_after: str | None = None
    """The `Retry-After` of a 503 while down."""
    attempts: int = 0
    refused: int = 0
    """Deliveries whose signature did not verify (must stay 0)."""
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """webhook-id -> every verified body with that id (a retry adds a second one)."""
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/crisis", self._receive)
        app.router.add_post("/hooks/crisis/{tail:.*}", self._receive)  # a token in the path
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hooks/crisis"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        try:
            event = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.refused += 1
            return web.json_response({"error": "bad signature"}, status=401)
        if self.down:
            wait = {"retry-after": self.retry_after} if self.retry_after is not None else {}
            return web.json_response({"error": "down"}, status=503, headers=wait)
        self.received.setdefault(request.headers["webhook-id"], []).append(
            {"event": event, "raw": body})
        return web.json_response({"ok": True})

    def events(self) -> list[dict[str, Any]]:
        return [bodies[0]["event"] for bodies in self.received.values()]
