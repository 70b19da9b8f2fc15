"""A loopback HTTP server for feed documents (no internet in tests): serves fixture files,
answers conditional GETs for the ones given an ETag, and counts what it was asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FEEDS = Path(__file__).parent / "feeds"


@dataclass
class Doc:
    body: bytes
    content_type: str
    etag: str | None = None
    status: int = 200


@dataclass
class FeedServer:
    url: str
    docs: dict[str, Doc]
    hits: list[tuple[str, int]] = field(default_factory=list)
    """(path, status answered) for every request."""


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    docs = {
        "/alerts/acme.atom": Doc((FEEDS / "google_alerts.atom").read_bytes(),
                                 "application/atom+xml", etag='"ga-1"'),
        "/news.rss": Doc((FEEDS / "news.rss").read_bytes(), "application/rss+xml"),
        "/broken": Doc(b"oops", "text/plain", status=500),
    }
    box: list[FeedServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            doc = docs.get(self.path.partition("?")[0])
            if doc is None:
                status, body = 404, b"not found"
            elif doc.etag and self.headers.get("if-none-match") == doc.etag:
                status, body = 304, b""
            else:
                status, body = doc.status, doc.body
            box[0].hits.append((self.path, status))
            self.send_response(status)
            if doc is not None:
                self.send_header("content-type", doc.content_type)
                if doc.etag:
                    self.send_header("etag", doc.etag)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(FeedServer(f"http://127.0.0.1:{httpd.server_address[1]}", docs))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
