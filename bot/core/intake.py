"""What an alert source may refuse: the problems of a payload that does not fit, and the
largest request. Shared by the parsers (`bot/ingest`) and the HTTP route (`bot/web`), which may
not import each other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a payload: where (a dotted path, `body` for the whole) and what."""

    loc: str
    msg: str


class PayloadError(ValueError):
    """The payload is not JSON or does not fit the source's schema; nothing was stored."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.loc}: {p.msg}" for p in problems))
        self.problems = list(problems)


MAX_ALERTS = 5000
"""Alerts in one request at most; a larger request is refused (413) and not stored."""


class TooMany(PayloadError):
    """More than `MAX_ALERTS` alerts in one request (found before they are all validated)."""

    def __init__(self, loc: str) -> None:
        super().__init__([Problem(loc, f"more than {MAX_ALERTS} alerts in one request")])
