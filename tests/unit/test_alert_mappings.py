"""Mappings read bodies they were not written for without a 500: every surprise is a refusal
that names the element and the expression."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.core.intake import Inbound, PayloadError
from bot.core.models import AlertStatus
from bot.ingest.mapping import MappedSource, MappingError, MappingSpec, compile_expressions


def parse(expressions: dict[str, str], body: object, **options) -> list:
    source = MappedSource(MappingSpec("tool", expressions, **options))
    return source(Inbound("tool", json.dumps(body).encode(), datetime(2024, 5, 14, tzinfo=UTC)))


def test_runtime_type_errors_are_refusals() -> None:
    with pytest.raises(PayloadError) as refused:
        parse({"title": "name", "dedup": "join(':', [id, name])"}, {"name": "x", "id": 7})
    [problem] = refused.value.problems
    assert problem.loc == "body"
    assert problem.msg.startswith("mapping tool: dedup: In function join()")


def test_a_title_that_is_an_object_or_missing_is_refused() -> None:
    with pytest.raises(PayloadError, match="title gave an object"):
        parse({"title": "a"}, {"a": {"b": 1}})
    with pytest.raises(PayloadError, match="title gave nothing"):
        parse({"title": "a"}, {"b": 1})


def test_resolved_when_compares_numbers_and_texts_alike() -> None:
    [up] = parse({"title": "'x'", "status": "s"}, {"s": 1}, resolved_when=[1])
    [down] = parse({"title": "'x'", "status": "s"}, {"s": 0}, resolved_when=[1])
    assert (up.status, down.status) == (AlertStatus.RESOLVED, AlertStatus.FIRING)
    [flag] = parse({"title": "'x'", "status": "ok"}, {"ok": True}, resolved_when=[True])
    assert flag.status is AlertStatus.RESOLVED


def test_compile_names_every_bad_field() -> None:
    with pytest.raises(MappingError) as bad:
        compile_expressions({"group": "a.[", "colour": "a", "status": "upper(a)"})
    assert [field for field, _why in bad.value.problems] == ["group", "colour", "status",
                                                             "title"]
