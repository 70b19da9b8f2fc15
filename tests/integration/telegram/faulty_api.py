"""The fake Bot API failing the ways Telegram (or the network to it) fails, on command, per
method: a 5xx, a 429 with `retry_after`, a hang of N seconds (the call is still carried out), a
reset connection, and a lost answer (the call is carried out, then the connection drops or a
5xx comes back). `chaos` draws such faults from a fixed seed, as the fake Slack's does."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Collection
from dataclasses import dataclass, field

from aiohttp import web

from .fake_api import FakeTelegram, _error

KINDS = ("500", "429", "reset", "hang", "lost", "lost500")
"""Every fault `chaos` can draw. "lost" and "lost500" carry the call out, then lose its
answer; "hang" answers after `hang` seconds (past the bot's timeout, also a lost answer)."""


@dataclass
class Fault:
    kind: str
    """One of `KINDS`, or "pass" (answered normally: chaos's draw of no fault)."""
    seconds: float = 0.0
    """How long a "hang" waits; how long a 429 asks to wait (`retry_after`)."""


@dataclass
class FaultyTelegram(FakeTelegram):
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    """method -> the faults of its next calls, in order."""

    def fail(self, method: str, kind: str, *, times: int = 1, seconds: float = 1.0) -> None:
        """Fail the next `times` calls of `method` with `kind` (see `KINDS`)."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}")
        self.faults.setdefault(method, []).extend(Fault(kind, seconds) for _ in range(times))

    def chaos(self, methods: Collection[str], *, seed: int, share: float = 0.3, calls: int = 4,
              kinds: Collection[str] = KINDS, hang: float = 0.3) -> None:
        """Each of the next `calls` calls of each method fails with probability `share`, in
        one of `kinds` drawn from `seed` (a fixed seed makes a run repeatable)."""
        rng = random.Random(seed)
        for method in sorted(methods):
            for _ in range(calls):
                if rng.random() >= share:
                    self.faults.setdefault(method, []).append(Fault("pass"))
                    continue
                kind = rng.choice(sorted(kinds))
                self.fail(method, kind, seconds=hang if kind == "hang" else 1.0)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        queued = self.faults.get(method)
        fault = queued.pop(0) if queued else Fault("pass")
        match fault.kind:
            case "500":
                return _error(500, "Internal Server Error")
            case "429":
                return _error(429, f"Too Many Requests: retry after {fault.seconds:g}",
                              parameters={"retry_after": int(fault.seconds)})
            case "reset":
                return _reset(request)
            case "hang":
                await asyncio.sleep(fault.seconds)
        answer = await super()._handle(request)
        match fault.kind:
            case "lost":
                return _reset(request)
            case "lost500":
                return _error(500, "Internal Server Error")
        return answer


def _reset(request: web.Request) -> web.Response:
    """Drop the connection without an answer."""
    if request.transport is not None:
        request.transport.abort()
    return _error(500, "reset")
