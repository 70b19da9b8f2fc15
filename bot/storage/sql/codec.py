"""JSON in the database: a notice's `Text` with its parameters, and orjson for JSON columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import orjson

from bot.core.models import role_name
from bot.core.text import Either, Joined, Lines, Localized, Percent, Prefixed, RoleName, Text, Who

# A notice's text is rendered at delivery, maybe in another process after a restart, so its
# parameters must come back exactly: people stay `Who` (a mention), lists stay `Joined`.


def encode_text(text: Text) -> dict[str, Any]:
    return {"msgid": text.msgid, "params": {k: _encode(v) for k, v in text.params.items()},
            "plural": text.plural, "count": text.count}


def decode_text(data: Mapping[str, Any]) -> Text:
    return Text(data["msgid"], {k: _decode(v) for k, v in data["params"].items()},
                plural=data["plural"], count=data["count"])


def _encode(value: Any) -> Any:
    """Scalars as themselves, the text types as one-key tagged objects; anything else is
    refused now rather than silently stringified."""
    match value:
        case Text():
            return {"$text": encode_text(value)}
        case Who():
            return {"$who": value.person}
        case Prefixed():
            return {"$prefixed": [value[0], _encode(value[1])]}
        case Joined():
            return {"$joined": [_encode(v) for v in value]}
        case Lines():
            return {"$lines": [_encode(v) for v in value]}
        case Either():
            return {"$either": [_encode(v) for v in value]}
        case Localized():
            return {"$localized": dict(value.texts)}
        case RoleName():
            return {"$role": [value.id, value.capital]}
        case Percent():
            return {"$percent": [value.value, value.signed]}
        case datetime():
            return {"$datetime": value.isoformat()}
        case time():
            return {"$time": value.isoformat()}
        case timedelta():
            return {"$seconds": value.total_seconds()}
        case str():
            return str(value)
        case None | bool() | int() | float():
            return value
    raise TypeError(f"cannot store a {type(value).__name__} in a message parameter")


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    [(tag, body)] = value.items()
    match tag:
        case "$text":
            return decode_text(body)
        case "$who":
            return Who(body)
        case "$prefixed":
            return Prefixed(body[0], _decode(body[1]))
        case "$joined":
            return Joined(_decode(v) for v in body)
        case "$lines":
            return Lines(_decode(v) for v in body)
        case "$localized":
            return Localized.of(body)
        case "$either":
            return Either(_decode(v) for v in body)
        case "$role":
            return role_name(body[0], capital=body[1])
        case "$percent":
            return Percent(body[0], signed=body[1])
        case "$datetime":
            return datetime.fromisoformat(body)
        case "$time":
            return time.fromisoformat(body)
        case "$seconds":
            return timedelta(seconds=body)
    raise ValueError(f"unknown message parameter tag {tag!r}")


def json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


JSON_CODEC: dict[str, Any] = {"json_serializer": json_dumps, "json_deserializer": orjson.loads}
"""JSON columns (labels, metrics, headers, timeline data) through orjson: in an alert storm
the standard library's encoder was a tenth of the commit."""


def bound_utc(value: datetime | None) -> datetime | None:
    """What `UTCDateTime` does to a bound value, for the array statements that bypass it."""
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}; crisisbot stores aware UTC times")
    return value


def arrays(rows: Sequence[Mapping[str, Any]], types: Mapping[str, str]) -> dict[str, list[Any]]:
    """Rows as one array per column (JSON columns as JSON text), for the `unnest` statements."""
    encode = {"timestamptz": bound_utc, "json": json_dumps}
    columns: dict[str, list[Any]] = {}
    for name, kind in types.items():
        values = [row[name] for row in rows]
        columns[name] = list(map(encode[kind], values)) if kind in encode else values
    return columns
