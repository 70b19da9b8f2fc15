"""Feeds (pull): Google Alerts and any RSS/Atom feed, polled on a schedule; each new entry is a
mention.

`parse_feed` turns a fetched feed document (feedparser reads RSS 0.9x/1.0/2.0 and Atom) into
mention alerts: source `mentions`, grouped by the feed's brand (else its name), deduplicated by
the entry's id (else its link), Google's `https://www.google.com/url?...&url=<real>` redirect
links unwrapped, HTML stripped from titles and summaries. `FeedPoller` fetches each configured
feed every `every` (conditional GET with ETag / Last-Modified) and submits the entries through
the same group commit as the webhooks, so an entry seen before is a duplicate and changes
nothing. A feed that fails is logged (by its name, with the HTTP status or the error's kind,
never its URL) and tried again at its next turn; it never stops the others.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser  # type: ignore[import-untyped]
import httpx

from bot.core.models import Alert
from bot.core.ports import Clock
from bot.core.sources import FEEDS, MENTIONS
from bot.ingest.common import digest, title_of
from bot.intake import Inbound, Submit, storable

log = logging.getLogger("crisisbot.feeds")

MAX_FEED = 5 * 1024 * 1024
"""A feed document over 5 MiB is not read."""
MAX_KEY = 300
GOOGLE_HOSTS = re.compile(r"(^|\.)google\.[a-z.]+$")


@dataclass(frozen=True)
class Feed:
    """One feed to watch: `name` names it (and its group when there is no `brand`)."""

    name: str
    url: str
    brand: str | None = None
    every: timedelta = timedelta(minutes=10)

    @property
    def topic(self) -> str:
        return self.brand or self.name


# -- parsing -----------------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "p", "div", "li"}:
            self.parts.append(" ")


def plain(text: str | None) -> str:
    """Text without HTML tags, character references decoded, whitespace collapsed."""
    if not text:
        return ""
    parser = _Text()
    parser.feed(text)
    parser.close()
    return " ".join("".join(parser.parts).split())


def unwrap(url: str | None) -> str | None:
    """The real address behind a Google redirect link (`https://www.google.com/url?...&url=`),
    else the link itself."""
    if not url:
        return None
    parts = urlsplit(url)
    if GOOGLE_HOSTS.search(parts.hostname or "") and parts.path == "/url":
        query = parse_qs(parts.query)
        for name in ("url", "q"):
            target = query.get(name, [""])[0]
            if target.startswith(("http://", "https://")):
                return target
    return url


def parse_feed(inbound: Inbound, feed: Feed) -> list[Alert]:
    """The document's entries as mentions (an unreadable document has none)."""
    document: Any = feedparser.parse(inbound.body, sanitize_html=True, resolve_relative_uris=False)
    if document.get("bozo") and not document.get("entries"):
        log.warning("feed %s is not a readable RSS/Atom document: %s", feed.name,
                    document.get("bozo_exception"))
        return []
    alerts: list[Alert] = []
    seen: set[str] = set()
    for entry in document.get("entries", []):
        alert = _mention(entry, feed, inbound.received_at)
        if alert is not None and alert.dedup_key not in seen:
            seen.add(alert.dedup_key)
            alerts.append(alert)
    return alerts


def _mention(entry: Mapping[str, Any], feed: Feed, received_at: datetime) -> Alert | None:
    url = unwrap(entry.get("link")) or _first_link(entry)
    ident = str(entry.get("id") or "") or url
    title = plain(entry.get("title"))
    if not ident:
        if not title:
            return None
        ident = "title:" + digest(title)
    key = f"{MENTIONS}:feed:{feed.name}:{ident}"
    if len(key) > MAX_KEY:
        key = f"{MENTIONS}:feed:{digest(feed.name, ident)}"
    summary = plain(entry.get("summary") or _content(entry))
    host = urlsplit(url).hostname if url else None
    labels = {k: v for k, v in {"network": host or "web", "feed": feed.name,
                                "brand": feed.brand, "author": plain(entry.get("author"))
                                }.items() if v}
    return Alert(
        source=MENTIONS,
        dedup_key=key,
        group_key=f"{MENTIONS}:{feed.topic}",
        title=title_of(title, summary, url, ident),
        received_at=received_at,
        description=summary,
        labels=labels,
        url=url,
        occurred_at=_published(entry),
        metrics={"mentions": 1.0},
        fingerprint=key,
    )


def _first_link(entry: Mapping[str, Any]) -> str | None:
    for link in entry.get("links") or []:
        href = link.get("href")
        if href:
            return unwrap(str(href))
    return None


def _content(entry: Mapping[str, Any]) -> str:
    for part in entry.get("content") or []:
        value = part.get("value")
        if value:
            return str(value)
    return ""


def _published(entry: Mapping[str, Any]) -> datetime | None:
    for name in ("published_parsed", "updated_parsed"):
        parsed = entry.get(name)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


# -- polling -----------------------------------------------------------------------------------


@dataclass
class _Validators:
    etag: str | None = None
    modified: str | None = None


@dataclass
class FeedPoller:
    """Polls every feed on its own schedule and submits new entries; started and stopped by the
    server's lifespan. Errors are logged, never raised."""

    feeds: Sequence[Feed]
    submit: Submit
    clock: Clock
    timeout: float = 20.0
    transport: httpx.AsyncBaseTransport | None = None
    _client: httpx.AsyncClient | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _validators: dict[str, _Validators] = field(default_factory=dict)

    def start(self) -> None:
        """Poll each feed now and then every `feed.every`; call inside the running loop."""
        self._client = self._new_client()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._forever(feed), name=f"feed:{feed.name}")
                       for feed in self.feeds]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def poll(self, feed: Feed) -> int:
        """Fetch the feed once and submit its entries; how many were new (0 on any error)."""
        try:
            return await self._poll(feed)
        except Exception:
            log.exception("could not poll feed %s", feed.name)
            return 0

    async def _forever(self, feed: Feed) -> None:
        while True:
            await self.poll(feed)
            await asyncio.sleep(feed.every.total_seconds())

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            follow_redirects=True, transport=self.transport,
            headers={"user-agent": "crisisbot-feeds/0.1",
                     "accept": "application/atom+xml, application/rss+xml, "
                               "application/xml;q=0.9, */*;q=0.8"})

    async def _poll(self, feed: Feed) -> int:
        client = self._client
        if client is None:
            self._client = client = self._new_client()
        known = self._validators.setdefault(feed.name, _Validators())
        headers = {}
        if known.etag:
            headers["if-none-match"] = known.etag
        if known.modified:
            headers["if-modified-since"] = known.modified
        try:
            async with client.stream("GET", feed.url, headers=headers) as response:
                if response.status_code == 304:
                    return 0
                if response.status_code >= 400:
                    log.warning("feed %s answered HTTP %d", feed.name, response.status_code)
                    return 0
                body = await _read_limited(response, MAX_FEED)
        except httpx.HTTPError as error:
            # Its kind only: httpx's words may quote the URL, and a private feed's URL holds
            # its credentials.
            log.warning("could not fetch feed %s: %s", feed.name, type(error).__name__)
            return 0
        if body is None:
            log.warning("feed %s is larger than %d bytes; skipped", feed.name, MAX_FEED)
            return 0
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        inbound = Inbound(FEEDS, body, self.clock.now(), response_headers,
                          {"feed": feed.name})
        alerts = parse_feed(inbound, feed)
        storable(alerts)  # XML's &#0; reaches an entry's text
        outcomes = await self.submit(alerts, inbound.raw()) if alerts else []
        # Remember the validators only once the entries are stored, so a failed store is
        # fetched again in full next time.
        known.etag = response.headers.get("etag")
        known.modified = response.headers.get("last-modified")
        fresh = sum(not o.duplicate for o in outcomes)
        if fresh:
            log.info("feed %s: %d new mention(s)", feed.name, fresh)
        return fresh


async def _read_limited(response: httpx.Response, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)

