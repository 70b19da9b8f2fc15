"""What every source shares: strict JSON, schema errors as field paths, stable keys, and the
checks that turn poison (dates past the calendar's end once in UTC, infinite or absurdly large
numbers, JSON nested too deep) into a 422 naming the field, never a 5xx that a sender would
retry forever."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.core.intake import MAX_ALERTS, PayloadError, Problem, TooMany
from bot.intake import Inbound

MAX_TITLE = 200


class Lenient(BaseModel):
    """Senders add fields over time; unknown ones are ignored, known ones are checked. A float
    field refuses `1e400` (infinity) and integers too large for a float."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, allow_inf_nan=False)


def _in_utc(at: datetime) -> datetime:
    try:
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is in year 10000 in UTC
        raise ValueError("out of range once converted to UTC") from None


When = Annotated[datetime, AfterValidator(_in_utc)]
"""A timestamp field of a sender's model, in UTC (naive ones are taken as UTC); one that
has no UTC equivalent is refused with its field path. Use it for every datetime field."""


Count = Annotated[int, Field(ge=0, lt=2 ** 63)]
"""A sender's count of something (`truncatedAlerts`): what a 64-bit integer holds, as the
timeline's JSON and every store need; a larger one is refused with its field path."""


T = TypeVar("T")
Batch = Annotated[list[T], Field(max_length=MAX_ALERTS)]
"""A sender's list of alerts: longer than `MAX_ALERTS`, it is refused (`TooMany`, a 413)
before its items are validated."""


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise PayloadError([Problem("body", f"not valid JSON: {error}")]) from None
    except RecursionError:
        raise PayloadError([Problem("body", "not valid JSON: nested too deeply")]) from None


@functools.cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    """Built once per shape: building one costs more than a validation."""
    return TypeAdapter(shape)


def validate(shape: Any, data: Any, *, prefix: str = "body") -> Any:
    """`data` as `shape` (a model or a type), or `PayloadError` naming each bad field."""
    try:
        return _adapter(shape).validate_python(data)
    except ValidationError as error:
        raise _problems(error, prefix) from None


def json_schemas(shapes: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each shape as a JSON schema, its references pointing into an OpenAPI document's
    `components`, and the definitions they refer to."""
    schemas: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    for name, shape in shapes.items():
        schema = _adapter(shape).json_schema(ref_template="#/components/schemas/{model}")
        definitions |= schema.pop("$defs", {})
        schemas[name] = schema
    return schemas, definitions


def parse(shape: Any, inbound: Inbound) -> Any:
    """The body as `shape`, parsed and validated in one pass by pydantic-core (no Python
    dicts in between: the hot path of an Alertmanager storm)."""
    try:
        return _adapter(shape).validate_json(inbound.body)
    except ValidationError as error:
        raise _problems(error, "body") from None


def _problems(error: ValidationError, prefix: str) -> PayloadError:
    errors = error.errors()
    too_many = [e["loc"] for e in errors if e["type"] == "too_long"
                and e.get("ctx", {}).get("max_length") == MAX_ALERTS]
    if too_many:
        return TooMany(".".join([prefix, *(str(part) for part in too_many[0])]))
    invalid_json = [e["msg"] for e in errors if e["type"] == "json_invalid"]
    if invalid_json:
        reason = invalid_json[0].removeprefix("Invalid JSON: ")
        return PayloadError([Problem("body", f"not valid JSON: {reason}")])
    return PayloadError([
        Problem(".".join([prefix, *(str(part) for part in e["loc"])]), e["msg"])
        for e in errors
    ])


def digest(*parts: object) -> str:
    """A short stable hash, for keys built from content."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fallback_key(inbound: Inbound, index: int) -> str:
    """For an alert that carries no id of its own: the delivery's `webhook-id`, else its body."""
    return f"wh:{inbound.webhook_id}:{index}" if inbound.webhook_id else \
        f"body:{_body_digest(inbound.body)}:{index}"


@functools.lru_cache(maxsize=8)
def _body_digest(body: bytes) -> str:
    """Once per body, not once per alert in it (a 24,000-alert body hashed 24,000 times took
    seconds)."""
    return digest(body)


def utc(at: datetime | None) -> datetime | None:
    """A `When` (already UTC) or any other datetime, in UTC."""
    return None if at is None else _in_utc(at)


def title_of(*candidates: str | None) -> str:
    """The first non-empty candidate, cut to the incident title length."""
    return next((c.strip() for c in candidates if c and c.strip()), "alert")[:MAX_TITLE]


def numbers(values: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries only (metrics); the rest is not a metric."""
    return {k: float(v) for k, v in values.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}
