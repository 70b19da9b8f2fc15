"""An ASGI app served by uvicorn on a free loopback port, inside the running event loop, the
way the integration tests and benchmarks talk to the bot (and to bare baselines); and a free
port for a server started as another process."""

from __future__ import annotations

import asyncio
import os
import random
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

LOWEST = 10_000
"""The lowest port `free_port` draws: above the ports services on a machine usually hold."""
_handed_out: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port() -> int:
    """A port nothing listens on right now, for a server started as another process. Drawn
    below the kernel's ephemeral range, so no outgoing connection and no `port=0` server takes
    it before that process binds it; each xdist worker draws from a band of its own, and no
    port is handed out twice."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    band = (_ephemeral_start() - LOWEST) // max(workers, 1)
    start = LOWEST + band * worker
    for _ in range(200):
        port = random.randrange(start, start + band)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {start}-{start + band}")


@dataclass
class Serving:
    server: uvicorn.Server
    task: asyncio.Task[None]
    url: str

    async def stop(self) -> None:
        """Finish in-flight requests, run the lifespan's shutdown, return when it is done."""
        self.server.should_exit = True
        await self.task


async def serve(app: ASGIApp, *, lifespan: Literal["on", "off"] = "on") -> Serving:
    """Start serving and return once uvicorn listens (or raise what stopped it starting)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None,
                                           access_log=False, lifespan=lifespan))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("uvicorn exited before it started listening")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return Serving(server, task, f"http://127.0.0.1:{port}")
