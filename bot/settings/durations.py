"""Durations as people write them (`90s`, `15m`, `1h30m`, `off`), for every setting that is
one."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_OFF = frozenset({"off", "none", "never"})


def parse_duration(value: Any) -> Any:
    """`90` or `"90"` (seconds), `"90s"`, `"15m"`, `"1h"`, `"2d"`, `"1h30m"`; `"off"` is None.
    Anything else is passed on for pydantic to refuse."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        return value
    text = value.strip().lower().replace(" ", "")
    if text in _OFF:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return timedelta(seconds=float(text))
    if text and re.fullmatch(f"(?:{_DURATION.pattern})+", text):
        return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text)))
    raise ValueError("a duration: seconds, or like 90s, 15m, 1h, 2d, 1h30m (or off)")


def positive(value: timedelta | None) -> timedelta | None:
    if value is not None and value <= timedelta(0):
        raise ValueError("a duration must be positive (use off to switch it off)")
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""A duration that must be given (may be zero, e.g. an escalation step right at the deadline)."""
OptionalDuration = Annotated[timedelta | None, BeforeValidator(parse_duration)]
"""A positive duration, or `off`."""
