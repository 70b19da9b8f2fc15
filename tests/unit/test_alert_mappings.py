"""Mappings read bodies they were not written for without a 500: every surprise is a refusal
that names the element and the expression."""

from __future__ import annotations

import contextlib
import json
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.intake import PayloadError
from bot.core.models import AlertStatus
from bot.ingest.mapping import MappedSource, MappingError, MappingSpec, compile_expressions
from bot.intake import Inbound
from bot.settings.alerts import MappingSettings


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


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=15,
)
SHIPPED = tomllib.loads((Path(__file__).parents[2] / "config" / "mappings.example.toml")
                        .read_text(encoding="utf-8"))["alerts"]["mappings"]
FIELDS = ["data", "issue", "title", "id", "action", "heartbeat", "monitor", "status", "msg",
          "alert_id", "alert_transition", "alert_cycle_key", "lastSeen", "time", "monitorID"]


@settings(max_examples=300, deadline=None)
@given(mapping=st.sampled_from(SHIPPED), body=st.one_of(JSON, st.recursive(
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5),
    lambda inner: st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4), max_leaves=20)))
def test_shipped_mappings_take_anything_or_refuse_it(mapping: dict, body: object) -> None:
    config = MappingSettings(**mapping)
    with contextlib.suppress(PayloadError):
        parse(config.expressions(), body, resolved_when=config.resolved_when)
