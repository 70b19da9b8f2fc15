"""The baselines of the storm: a bare FastAPI endpoint that inserts each raw body into SQLite
with one commit per request (`insert`), and the same endpoint doing nothing (`noop`), the
ceiling of the HTTP stack on this machine. Run as `python -m benchmarks.baseline MODE PORT DB`.
"""

from __future__ import annotations

import sqlite3
import sys

import uvicorn
from fastapi import FastAPI, Request, Response


def app(mode: str, db: str) -> FastAPI:
    api = FastAPI()
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("create table if not exists raw (id integer primary key, body blob)")

    @api.post("/alerts/{source}")
    async def receive(source: str, request: Request) -> Response:
        body = await request.body()
        if mode == "insert":
            conn.execute("begin immediate")
            conn.execute("insert into raw (body) values (?)", (body,))
            conn.execute("commit")
        return Response(b'{"ok":true}', media_type="application/json")

    return api


if __name__ == "__main__":
    mode, port, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    uvicorn.run(app(mode, db), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)
