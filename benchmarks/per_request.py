"""`crisisbot serve` with its group commit made naive: one transaction per request, ten in
flight (the naive endpoint's pool). The same intake, the same checks and rows per alert;
only the commits differ, so the storm against it measures what grouping them buys. Run as
`python -m benchmarks.per_request`, configured like `crisisbot serve` (environment).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.app import web
from bot.cli import main
from bot.intake import GroupCommit, Handle

IN_FLIGHT = 10


class PerRequestCommit(GroupCommit):
    def __init__(self, handle: Handle, *, max_batch: int = 1, workers: int = 1) -> None:
        super().__init__(handle, max_batch=1, workers=IN_FLIGHT)


def run(argv: Sequence[str]) -> int:
    web.GroupCommit = PerRequestCommit  # type: ignore[attr-defined]
    return main(list(argv))


if __name__ == "__main__":
    raise SystemExit(run(["serve", *sys.argv[1:]]))
