"""Feeds (pull): Google Alerts (Atom) and RSS 2.0 documents served on loopback become stored
mentions once; redirect links are unwrapped, HTML is stripped, failures are logged not raised."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from alert_server import Running
from feed_server import FEEDS, Doc, feed_server

from bot.app.intake import feed_poller
from bot.core.service import Service
from bot.core.store import Store
from bot.ingest.feeds import Feed, FeedPoller, parse_feed, plain, unwrap
from bot.intake import GroupCommit, Inbound
from bot.logsafe import guard
from bot.settings import load, secrets_of
from bot.storage.memory import MemoryStore
from tests.serving import free_port
from tests.unit.support import FakeClock

CLOCK = FakeClock(datetime(2024, 5, 14, 9, 5, tzinfo=UTC))


def test_google_alerts_entries_become_mentions() -> None:
    inbound = Inbound("feeds", (FEEDS / "google_alerts.atom").read_bytes(), CLOCK.now())
    alerts = parse_feed(inbound, Feed("google-acme", "https://example.invalid/", brand="Acme"))
    assert [a.title for a in alerts] == ["Acme recalls 10,000 kettles after fire reports",
                                        "Why Acme customers are angry this week"]
    assert [a.url for a in alerts] == ["https://news.example.com/2024/05/acme-recall",
                                      "https://blog.example.org/acme-angry?ref=feed"]
    first = alerts[0]
    assert first.source == "mentions"
    assert first.is_mention
    assert first.group_key == "mentions:Acme"
    assert first.dedup_key == ("mentions:feed:google-acme:"
                               "tag:google.com,2013:googlealerts/feed:12850413569414871331")
    assert first.description == "Consumers reported that Acme kettles overheat & catch fire ..."
    assert first.occurred_at == datetime(2024, 5, 14, 8, 41, tzinfo=UTC)
    assert first.labels["network"] == "news.example.com"
    assert first.metrics == {"mentions": 1.0}


def test_rss_entries_without_guid_use_their_link() -> None:
    inbound = Inbound("feeds", (FEEDS / "news.rss").read_bytes(), CLOCK.now())
    alerts = parse_feed(inbound, Feed("consumer-watch", "https://example.invalid/"))
    assert [a.dedup_key for a in alerts] == [
        "mentions:feed:consumer-watch:cw-2024-0517",
        "mentions:feed:consumer-watch:https://watch.example.net/kettles-tested"]
    assert alerts[0].group_key == "mentions:consumer-watch"
    assert alerts[0].description == "The regulator asked Acme for test records."
    assert alerts[0].labels["author"] == "J. Doe"


def test_unwrap_and_plain() -> None:
    assert unwrap("https://www.google.com/url?rct=j&sa=t&url=https://a.example/x%3Fy%3D1&ct=ga"
                  ) == "https://a.example/x?y=1"
    assert unwrap("https://www.google.co.uk/url?q=https://b.example/&sa=U") == "https://b.example/"
    assert unwrap("https://www.google.com/search?q=acme") == "https://www.google.com/search?q=acme"
    assert unwrap("https://news.example.com/url?url=https://evil.example/"
                  ) == "https://news.example.com/url?url=https://evil.example/"
    assert plain("<p>Acme&nbsp;<b>fires</b></p>\n<br>again &amp; again") == \
        "Acme fires again & again"
    assert parse_feed(Inbound("feeds", b"not a feed", CLOCK.now()),
                      Feed("x", "https://example.invalid/")) == []


async def test_poller_stores_each_entry_once(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    intake = GroupCommit(Service(store, CLOCK).handle_alerts)
    intake.start()
    with feed_server() as http:
        google = Feed("google-acme", f"{http.url}/alerts/acme.atom", brand="Acme")
        rss = Feed("consumer-watch", f"{http.url}/news.rss", brand="Acme")
        broken = Feed("broken", f"{http.url}/broken")
        gone = Feed("gone", f"http://127.0.0.1:{free_port()}/feed")
        poller = FeedPoller([google, rss, broken, gone], intake.submit, CLOCK, timeout=5)
        try:
            assert await poller.poll(google) == 2
            assert await poller.poll(rss) == 2
            assert await poller.poll(google) == 0  # 304: not modified
            assert await poller.poll(rss) == 0  # fetched again, every entry a duplicate
            with caplog.at_level(logging.WARNING, "crisisbot.feeds"):
                assert await poller.poll(broken) == 0
                assert await poller.poll(gone) == 0
        finally:
            await poller.stop()
            await intake.stop()
        hits = http.hits
    assert hits[:4] == [("/alerts/acme.atom", 200), ("/news.rss", 200),
                        ("/alerts/acme.atom", 304), ("/news.rss", 200)]
    assert "broken answered HTTP 500" in caplog.text
    assert "could not fetch feed gone" in caplog.text
    state = store._state  # the memory store's contents
    assert len(state.alerts) == 4
    assert {a.group_key for a in state.alerts} == {"mentions:Acme"}
    assert all(a.source == "mentions" and a.incident is None for a in state.alerts)
    assert "https://news.example.com/2024/05/acme-recall" in {a.url for a in state.alerts}
    assert not any("google.com" in (a.url or "") for a in state.alerts)
    assert sum(m.mentions for m in state.mentions.values()) == 4
    assert [d.source for d in state.deliveries] == ["feeds", "feeds"]
    assert {a.delivery for a in state.alerts} == {1, 2}


NUL_RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
           b'<title>Acme&#0;recall</title><guid>nul-1</guid><link>https://e.example/1</link>'
           b'<description>x&#x0;y</description></item></channel></rss>')


async def test_a_feed_entry_with_nul_is_stored_readably(store: Store) -> None:
    """XML's `&#0;` gave a mention text PostgreSQL refuses: the feed's every poll failed."""
    intake = GroupCommit(Service(store, CLOCK).handle_alerts)
    intake.start()
    with feed_server() as http:
        http.docs["/nul.rss"] = Doc(NUL_RSS, "application/rss+xml")
        feed = Feed("nul", f"{http.url}/nul.rss", brand="Acme")
        poller = FeedPoller([feed], intake.submit, CLOCK, timeout=5)
        try:
            assert await poller.poll(feed) == 1
        finally:
            await poller.stop()
            await intake.stop()
    if isinstance(store, MemoryStore):  # its contents can be read directly
        [alert] = store._state.alerts
        assert (alert.title, alert.description) == ("Acme\ufffdrecall", "x\ufffdy")


async def test_a_failing_private_feed_is_logged_by_name_never_by_its_credentials(
        caplog: pytest.LogCaptureFixture) -> None:
    """A feed URL with a password and a token (in the userinfo, in the query) that answers 500
    or refuses the connection: the warning names the feed and the failure's kind; the
    credentials are registered like every configured secret, so httpx's own request line,
    which shows the whole URL, has them masked."""
    password, token = "feed-pa55word-x9", "feedtoken0c0ffee123"
    store = MemoryStore()
    intake = GroupCommit(Service(store, CLOCK).handle_alerts)
    with feed_server() as http:
        host = http.url.removeprefix("http://")
        settings = load(alerts={"feeds": [
            {"name": "private-broken",
             "url": f"http://reader:{password}@{host}/broken?token={token}&lang=en"},
            {"name": "private-gone",
             "url": f"http://{token}@127.0.0.1:{free_port()}/feed?sig={token}"}]})
        guard(secrets_of(settings))  # as `serve` and `build` do
        poller = feed_poller(settings, intake.submit, CLOCK)
        assert poller is not None
        try:
            with caplog.at_level(logging.INFO):
                for feed in poller.feeds:
                    assert await poller.poll(feed) == 0
        finally:
            await poller.stop()
    assert any(r.name == "httpx" and "/broken" in r.getMessage() for r in caplog.records), (
        "httpx logged no request line: the test would prove nothing")
    assert "feed private-broken answered HTTP 500" in caplog.text
    assert "could not fetch feed private-gone: ConnectError" in caplog.text
    assert password not in caplog.text
    assert token not in caplog.text


def wait_for(check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_serve_polls_configured_feeds(serve: Callable[..., Running]) -> None:
    with feed_server() as http:
        server = serve(alerts={"secret": "s" * 20, "feeds": [
            {"name": "google-acme", "url": f"{http.url}/alerts/acme.atom", "brand": "Acme",
             "every": "1s"},
            {"name": "consumer-watch", "url": f"{http.url}/news.rss", "brand": "Acme",
             "every": "1s"},
        ]})
        wait_for(lambda: sum(path == "/news.rss" for path, _ in http.hits) >= 3
                 and ("/alerts/acme.atom", 304) in http.hits)
        assert server.count("select count(*) from alerts where source = 'mentions' "
                            "and group_key = 'mentions:Acme'") == 4
        assert server.count("select count(*) from deliveries where source = 'feeds'") == 2
        assert server.count("select count(*) from alerts where url like '%google.com%'") == 0
        assert server.count("select count(*) from incidents") == 0  # no spike, no incident


def test_feed_settings() -> None:
    from bot.settings import ConfigError

    settings = load(alerts={"feeds": [{"name": "g",
                                       "url": "https://www.google.com/alerts/feeds/1/2"}]})
    assert settings.alerts.feeds[0].every == timedelta(minutes=10)
    with pytest.raises(ConfigError):
        load(alerts={"feeds": [{"name": "g", "url": "https://a.example/"},
                               {"name": "g", "url": "https://b.example/", "every": "5m"}]})
    with pytest.raises(ConfigError):
        load(alerts={"feeds": [{"name": "g", "url": "ftp://a.example/"}]})
