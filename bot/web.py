"""The HTTP face of `crisisbot serve`: routes only, no business rules.

Everything it needs comes in through `create_app` as plain values (parsers, the authenticator,
the intake, the database ping), so the app can be built around a memory store in tests and
nothing here knows settings or concrete adapters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse as StarletteJSON
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.core.intake import MAX_ALERTS, PayloadError, TooMany
from bot.core.models import Alert, AlertOutcome, public_id
from bot.core.ports import Clock
from bot.fresh import Fresh
from bot.intake import Inbound, Parser, Submit, alerts_of

log = logging.getLogger("crisisbot.web")

MAX_BODY = 1024 * 1024
"""Alert bodies over 1 MiB are refused (413) before they are read whole."""
MAX_POST_BODY = 1024 * 1024
"""The limit of a chat platform's route (`posts`): Slack and Telegram send a few KiB."""
MAX_OTHER_BODY = 64 * 1024
"""The limit of every other route (they read no body; a form is a few KiB)."""
UNEXPECTED = {"error": "temporarily unable to handle the request"}
"""The answer (503: try again) to a request that failed in a way nobody foresaw."""
PARSE_ASIDE = 64 * 1024
"""A body larger than this is parsed in a worker thread: parsing 1 MiB of alerts takes a few
hundred ms, during which the event loop (health checks, Slack's 3-second ack) must run."""

Authenticate = Callable[[str, Mapping[str, str], bytes, Mapping[str, str]], str | None]
"""None to let a delivery in, else the reason it is refused (401)."""
Ping = Callable[[], Awaitable[str | None]]
"""Can the database take a write? None if so, else why not."""
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class SourceMetrics:
    """One source's counters, labelled once (labelling costs a lock and a lookup per call)."""

    received: Counter
    accepted: Counter
    duplicate: Counter
    opened: Counter


class JSONResponse(StarletteJSON):
    """JSON answers encoded by orjson: several times faster than the standard library, which
    counts on the alert route."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Metrics:
    """The app's Prometheus metrics, in a registry of its own (two apps in one test process
    must not share counters)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("crisisbot_alerts_received", "Alerts received (before checks)",
                                ["source"], registry=r)
        self.accepted = Counter("crisisbot_alerts_accepted", "Alerts stored", ["source"],
                                registry=r)
        self.rejected = Counter("crisisbot_alerts_rejected", "Deliveries refused, by reason",
                                ["source", "reason"], registry=r)
        self.duplicate = Counter("crisisbot_alerts_duplicate", "Re-delivered alerts ignored",
                                 ["source"], registry=r)
        self.opened = Counter("crisisbot_incidents_opened", "Incidents opened by alerts",
                              ["source"], registry=r)
        self.latency = Histogram(
            "crisisbot_http_request_duration_seconds", "HTTP request latency", ["route"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self._sources: dict[str, SourceMetrics] = {}

    def of(self, source: str) -> SourceMetrics:
        if source not in self._sources:
            self._sources[source] = SourceMetrics(
                self.received.labels(source), self.accepted.labels(source),
                self.duplicate.labels(source), self.opened.labels(source))
        return self._sources[source]


def create_app(*, parsers: Mapping[str, Parser], authenticate: Authenticate, submit: Submit,
               ping: Ping, clock: Clock, lifespan: Lifespan | None = None,
               max_body: int = MAX_BODY, posts: Mapping[str, Endpoint] | None = None,
               schemas: Mapping[str, Any] | None = None,
               definitions: Mapping[str, Any] | None = None) -> FastAPI:
    """`posts` mounts chat platforms' endpoints (e.g. `/slack/events`), built by `bot/app`.
    `schemas` holds a source's request body as JSON schema (its references into
    `definitions`): the OpenAPI document shows it as the body of `/alerts/<source>`.

    Every route has a body limit (`max_body` for alerts, `MAX_POST_BODY` for `posts`,
    `MAX_OTHER_BODY` for the rest): a longer body is answered 413 before more is read."""
    app = _Api(title="crisisbot", version="0.1.0", lifespan=lifespan,
               docs_url=None, redoc_url=None)
    metrics = Metrics()
    app.state.metrics = metrics
    sources = sorted(parsers)

    def error(status: int, message: str, metric_source: str | None = None, reason: str = "",
              **extra: Any) -> JSONResponse:
        if metric_source is not None:
            metrics.rejected.labels(metric_source, reason).inc()
        return JSONResponse({"error": message, **extra}, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        """What Starlette would answer with a plain-text 500: the JSON 503 of `_Timed`, which
        logs the traceback (the error is raised on after this answer)."""
        return JSONResponse(UNEXPECTED, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def request_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                    for e in exc.errors()]
        return error(422, "invalid request", problems=problems)

    probe = Fresh(ping, HEALTH_FRESH_S)

    @app.get("/healthz", summary="Liveness and database check")
    async def healthz() -> JSONResponse:
        problem = await probe()  # a tiny write: a full disk or read-only file is not healthy
        if problem is None:
            return JSONResponse({"status": "ok", "database": "ok"})
        # Anyone may ask: the driver's words (user, host, file path) go to the log, not here.
        return JSONResponse({"status": "degraded", "database": "unavailable"}, status_code=503)

    # Uptime checkers often ask with HEAD (the same answer, no body).
    app.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def receive(source: str, scope: Scope, asgi_receive: Receive) -> JSONResponse:
        parser = parsers.get(source)
        if parser is None:
            return error(404, f"unknown alert source; use one of: {', '.join(sources)}",
                         "unknown", "unknown_source")
        counted = metrics.of(source)
        counted.received.inc()
        # ASGI servers lower-case header names; HTTP headers are Latin-1.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read_limited(asgi_receive, headers.get("content-length", ""), max_body)
        if body is None:
            return error(413, f"body larger than {max_body} bytes", source, "too_large",
                         limit=max_body)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        refused = authenticate(source, headers, body, query)
        if refused is not None:
            return error(401, refused, source, "unauthorized")
        encoding = headers.get("content-encoding", "").strip()
        if encoding.lower() not in {"", "identity"}:
            # Read as JSON, a gzip body was a puzzling 422 and a plain one labelled gzip was
            # taken; senders can send alerts uncompressed.
            return error(415, f"content-encoding {encoding} is not supported; send the body "
                         "uncompressed", source, "encoded")
        inbound = Inbound(source, body, clock.now(), headers, query)
        try:
            alerts = alerts_of(parser, inbound) if len(body) <= PARSE_ASIDE else \
                await asyncio.to_thread(alerts_of, parser, inbound)
        except TooMany:
            return error(413, f"more than {MAX_ALERTS} alerts in one request; send them in "
                         "smaller batches", source, "too_many", limit=MAX_ALERTS)
        except PayloadError as bad:
            return error(422, "invalid payload", source, "invalid",
                         problems=[{"loc": p.loc, "msg": p.msg} for p in bad.problems])
        try:
            outcomes = await submit(alerts, inbound.raw())
        except Exception:
            log.exception("could not store %d alert(s) from %s", len(alerts), source)
            return error(503, "could not store the alerts; retry", source, "store_failed")
        return _answer(alerts, outcomes, counted)

    for path, endpoint in (posts or {}).items():
        app.add_api_route(path, endpoint, methods=["POST"], include_in_schema=False)

    limits = dict.fromkeys(posts or {}, MAX_POST_BODY)
    app.alerts_operations = {ALERTS_ROUTE: _alerts_operation(sources)} | {
        ALERTS_PREFIX + source: _alerts_operation([source], body)
        for source, body in (schemas or {}).items()}
    app.definitions = dict(definitions or {})
    app.front = _Timed(_AlertRoute(_Limited(app.routed, limits, MAX_OTHER_BODY), receive),
                       metrics)
    return app


HEALTH_FRESH_S = 1.0
"""One write probe a second at most, whoever asks: `/healthz` is public, and each probe is a
committed write (on SQLite an fsync); health checks arriving meanwhile share it (`Fresh`)."""
ALERTS_ROUTE = "/alerts/{source}"
ALERTS_PREFIX = "/alerts/"


class _Api(FastAPI):
    """FastAPI behind `front` (timing and the alert route, which never enters FastAPI's own
    middleware and router), with the alert route in the schema."""

    alerts_operations: dict[str, dict[str, Any]]  # set by create_app
    definitions: dict[str, Any]  # set by create_app
    front: ASGIApp  # set by create_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.front(scope, receive, send)

    async def routed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI as it is, for every other request."""
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        for path, operation in self.alerts_operations.items():
            schema["paths"].setdefault(path, {"post": operation})
        schema.setdefault("components", {}).setdefault("schemas", {}).update(self.definitions)
        return schema


def _alerts_operation(sources: Sequence[str],
                      body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`POST /alerts/{source}` for any source, or (given its body) for one."""
    one = body is not None
    return {
        "summary": f"Receive alerts from {sources[0]}" if one else
        "Receive alerts from a monitoring or listening tool",
        "description": "Sources: " + ", ".join(sources) + ". See docs/alerts.md for the "
        "payloads and authentication (Standard Webhooks signature or `Authorization: Bearer`).",
        "operationId": f"receive_alerts_{sources[0]}" if one else "receive_alerts",
        "parameters": [] if one else [{"name": "source", "in": "path", "required": True,
                                       "schema": {"type": "string", "title": "Source"}}],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": body or {"type": "object"}}}},
        "responses": {
            "200": {"description": "Stored (or a re-delivery: `duplicate` is true)",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            "401": {"description": "Missing or wrong credentials"},
            "404": {"description": "Unknown source"},
            "413": {"description": f"Body over 1 MiB, or more than {MAX_ALERTS} alerts"},
            "415": {"description": "A compressed body (`Content-Encoding`): send it as is"},
            "422": {"description": "Malformed JSON or schema errors, with field paths"},
            "503": {"description": "The database could not store the alert; retry"},
        },
    }


class _AlertRoute:
    """`POST /alerts/{source}` as plain ASGI in front of FastAPI. In an alert storm this is
    the one hot path, and FastAPI's middleware, router and dependency solving cost more per
    request than storing the alert; everything else goes on to FastAPI."""

    path = ALERTS_ROUTE
    """The route label `_Timed` reads, as it reads a router's route."""

    def __init__(self, app: ASGIApp,
                 receive: Callable[[str, Scope, Receive], Awaitable[Response]]) -> None:
        self.app = app
        self.receive = receive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        source = path[len(ALERTS_PREFIX):]
        if scope["type"] != "http" or not path.startswith(ALERTS_PREFIX) or not source or \
                "/" in source:
            await self.app(scope, receive, send)
            return
        scope["route"] = self
        if scope["method"] != "POST":  # Grafana's webhook offers PUT
            await JSONResponse({"error": "alerts are sent with POST"}, status_code=405,
                               headers={"allow": "POST"})(scope, receive, send)
            return
        try:
            response = await self.receive(source, scope, receive)
        except ClientDisconnect:
            return  # nobody to answer, and nothing was stored
        await response(scope, receive, send)


class _Limited:
    """Every other route's body, read up to its limit before the route runs (413 as JSON past
    it), then handed on from memory: a route never reads an unbounded body (`request.body()`
    in Slack's and Telegram's endpoints would)."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int], default: int) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope.get("path", ""), self.default)
        declared = next((v.decode("latin-1") for k, v in scope["headers"]
                         if k == b"content-length"), "")
        try:
            body = await _read_limited(receive, declared, limit)
        except ClientDisconnect:
            return
        if body is None:
            response = JSONResponse({"error": f"body larger than {limit} bytes",
                                     "limit": limit}, status_code=413)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # a disconnect, for a route that waits for one
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class _Timed:
    """Request latency by route, and a JSON 503 (never a bare 500) for anything unexpected.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware costs a
    task and a stream per request, a fifth of the server's time in an alert storm."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = False

        async def tracking(message: Message) -> None:
            nonlocal sent
            sent = sent or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not sent:
                response = JSONResponse(UNEXPECTED, status_code=503)
                await response(scope, receive, send)
        route = scope.get("route")
        name = getattr(route, "path", "unmatched")
        self.metrics.latency.labels(name).observe(time.perf_counter() - started)


def _answer(alerts: Sequence[Alert], outcomes: Sequence[AlertOutcome],
            counted: SourceMetrics) -> JSONResponse:
    fresh = [o for o in outcomes if not o.duplicate]
    opened = sum(o.opened for o in outcomes)
    for counter, amount in ((counted.accepted, len(fresh)),
                            (counted.duplicate, len(outcomes) - len(fresh)),
                            (counted.opened, opened)):
        if amount:  # each inc takes a lock: skip the zeros
            counter.inc(amount)
    return JSONResponse({
        "accepted": len(fresh),
        "duplicate": bool(outcomes) and not fresh,
        "alerts": [
            {"dedup_key": a.dedup_key, "duplicate": o.duplicate, "opened": o.opened,
             "incident": public_id(o.incident) if o.incident is not None else None}
            for a, o in zip(alerts, outcomes, strict=True)
        ],
    })


async def _read_limited(receive: Receive, declared: str, limit: int) -> bytes | None:
    """The body, or None as soon as it (or its declared length) passes `limit`."""
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
