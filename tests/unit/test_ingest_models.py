"""The shared checks of `bot/ingest/common.py` reach every sender's model, including the ones
added later: a datetime field must be a `When` (else a date with no UTC equivalent raises
`OverflowError` past validation, a 503 a sender retries forever)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

import bot.ingest  # noqa: F401  (every source's models, registered as Lenient subclasses)
from bot.ingest.common import Lenient, When


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def _bare_datetimes(annotation: Any) -> bool:
    """True if `annotation` holds `datetime` other than as `When`."""
    if annotation == When:
        return False
    if annotation is datetime:
        return True
    return any(_bare_datetimes(arg) for arg in get_args(annotation))


def test_every_datetime_field_is_a_when() -> None:
    models = [m for m in _subclasses(Lenient) if m.__module__.startswith("bot.ingest")]
    assert len(models) > 5
    bare = [f"{m.__name__}.{name}" for m in models for name, field in m.model_fields.items()
            if _bare_datetimes(field.annotation)]
    assert not bare, f"use bot.ingest.common.When for: {', '.join(bare)}"
