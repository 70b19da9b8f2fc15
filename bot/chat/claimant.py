"""Who holds a claim (an outbox notice, an inbound job): this process's identity, whether a
recorded one still lives, and `Reclaimer`, which takes back what dead holders had claimed.

An identity is `host/boot id/pid/start`: the host name, the kernel's boot id, the process id
and the process's start time in clock ticks since boot (`/proc/<pid>/stat`). A process on the
same host can therefore tell a dead holder (its pid gone, or reused by a process that started
at another time, or a boot ago) from a live replica. A holder on another host cannot be checked
from here: its claims are left to run out their lease.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path

from bot.core.store import Store, Unit

log = logging.getLogger(__name__)

PROC = Path("/proc")


def identity(pid: int | None = None) -> str:
    """This process's identity (or a process's on this host, given its pid)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}/{_boot_id()}/{pid}/{_started(pid) or ''}"


def dead(holder: str) -> bool:
    """True only when `holder` ran on this host and is certainly gone; unknown means alive."""
    try:
        host, boot, pid_text, started = holder.rsplit("/", 3)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid <= 0:
        return False
    if boot and _boot_id() and boot != _boot_id():
        return True  # the host has rebooted since
    if PROC.is_dir():
        now = _started(pid)
        return now is None or (bool(started) and now != started)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _boot_id() -> str:
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _started(pid: int) -> str | None:
    """The process's start time in ticks since boot, or None when no such process runs (a
    zombie, killed but not yet reaped, counts as gone)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields follow the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    if fields and fields[0] in ("Z", "X"):
        return None
    return fields[19] if len(fields) > 19 else ""


class Reclaimer:
    """Frees, at most once an `interval`, the claims of dead processes on this host (never
    `own`'s): a restarted process resends in seconds what its killed predecessor held, instead
    of waiting out the lease. `holders` and `free` read and free one kind of claim."""

    def __init__(self, store: Store, what: str, own: str,
                 holders: Callable[[Unit, datetime], Awaitable[list[str]]],
                 free: Callable[[Unit, Sequence[str]], Awaitable[int]], *,
                 interval: float, dead: Callable[[str], bool] = dead) -> None:
        self.store, self.what, self.own = store, what, own
        self._holders, self._free, self._dead = holders, free, dead
        self.interval = interval
        self._next = float("-inf")

    async def __call__(self, now: float, at: datetime) -> int:
        """Free dead holders' claims still leased at `at` (unless the last look was less than
        an interval before `now`, a monotonic time); return how many were freed."""
        if now < self._next:
            return 0
        self._next = now + self.interval
        async with self.store.unit() as unit:
            gone = [h for h in await self._holders(unit, at) if h != self.own and self._dead(h)]
            freed = await self._free(unit, gone)
        if freed:
            log.warning("took back %d %s claimed by %s, no longer running", freed, self.what,
                        ", ".join(gone))
        return freed
