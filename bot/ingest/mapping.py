"""Declarative sources: `[[alerts.mappings]]` turn any JSON sender's body into alerts through
JMESPath expressions (title, group, dedup key, severity, status, labels, link ...), so a team
connects Sentry, Datadog, Uptime Kuma or its own tool without code.

The source is the mapping's name (`POST /alerts/<name>`). Each expression reads one alert (the
whole body, or each element of the `items` list); see docs/alerts.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.functions import Functions
from jmespath.parser import ParsedResult

from bot.core.intake import PayloadError, Problem
from bot.core.models import Alert, AlertStatus
from bot.core.rules import kind_from_hint, severity_from_hint
from bot.ingest.common import fallback_key, load_json, title_of
from bot.intake import Inbound

EXPRESSIONS = ("title", "group", "dedup", "fingerprint", "severity", "status", "labels", "url",
               "description", "kind", "items")
"""The fields of a mapping that hold a JMESPath expression."""
KNOWN_FUNCTIONS = frozenset(Functions().FUNCTION_TABLE)
"""JMESPath's built-in functions (it finds an unknown one only when it runs)."""


@dataclass(frozen=True)
class MappingSpec:
    """One mapping as configured: its name and the expression text of each field it sets."""

    name: str
    expressions: Mapping[str, str]
    resolved_when: Sequence[str | int | float | bool] = ()
    """Values of `status` that mean resolved (else the value must be `firing`/`resolved`)."""


class MappingError(ValueError):
    """Expressions that do not compile: (field, reason) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in problems))
        self.problems = list(problems)


def compile_expressions(expressions: Mapping[str, str]) -> dict[str, ParsedResult]:
    """Each expression compiled, or `MappingError` naming every one that does not."""
    compiled: dict[str, ParsedResult] = {}
    problems: list[tuple[str, str]] = []
    for name, text in expressions.items():
        if name not in EXPRESSIONS:
            problems.append((name, f"unknown field; use one of {', '.join(EXPRESSIONS)}"))
            continue
        try:
            compiled[name] = jmespath.compile(text)
        except JMESPathError as error:
            problems.append((name, _one_line(error)))
            continue
        unknown = sorted(_functions(compiled[name].parsed) - KNOWN_FUNCTIONS)
        if unknown:
            problems.append((name, f"unknown function {', '.join(unknown)}"))
    if "title" not in expressions:
        problems.append(("title", "a mapping needs a title expression"))
    if problems:
        raise MappingError(problems)
    return compiled


def _functions(node: Any) -> set[str]:
    """The function names an expression's syntax tree calls."""
    if not isinstance(node, dict):
        return set()
    found = {node["value"]} if node.get("type") == "function_expression" else set()
    for child in node.get("children", []):
        found |= _functions(child)
    return found


class MappedSource:
    """A `Parser` for one mapping."""

    def __init__(self, spec: MappingSpec) -> None:
        self.name = spec.name
        self._expressions = compile_expressions(spec.expressions)
        self._resolved = {_text(v).lower() for v in spec.resolved_when}

    def __call__(self, inbound: Inbound) -> list[Alert]:
        data = load_json(inbound.body)
        items_expression = self._expressions.get("items")
        if items_expression is None:
            return [self._alert(data, inbound, 0, "body")]
        items = self._search("items", data, "body")
        if not isinstance(items, list):
            raise PayloadError([Problem("body", f"mapping {self.name}: items gave "
                                                f"{_kind(items)}, not a list")])
        return [self._alert(item, inbound, i, f"body.{i}") for i, item in enumerate(items)]

    def _search(self, name: str, data: Any, where: str) -> Any:
        expression = self._expressions.get(name)
        if expression is None:
            return None
        try:
            return expression.search(data)
        except JMESPathError as error:
            raise PayloadError([Problem(where, f"mapping {self.name}: {name}: "
                                               f"{_one_line(error)}")]) from None

    def _scalar(self, name: str, data: Any, where: str) -> str | None:
        value = self._search(name, data, where)
        if value is None or value == "":
            return None
        if isinstance(value, dict | list):
            raise PayloadError([Problem(where, f"mapping {self.name}: {name} gave "
                                               f"{_kind(value)}, not a text or a number")])
        return _text(value)

    def _alert(self, data: Any, inbound: Inbound, index: int, where: str) -> Alert:
        def get(name: str) -> str | None:
            return self._scalar(name, data, where)

        title = get("title")
        if title is None:
            raise PayloadError([Problem(where, f"mapping {self.name}: title gave nothing")])
        status = self._status(get("status"), where)
        group = get("group") or title
        fingerprint = get("fingerprint") or group
        dedup = get("dedup")
        identity = dedup if dedup is not None else fallback_key(inbound, index)
        return Alert(
            source=self.name,
            dedup_key=f"{self.name}:{identity}:{status.value}",
            group_key=f"{self.name}:{group}",
            title=title_of(title),
            received_at=inbound.received_at,
            status=status,
            description=get("description") or "",
            severity=severity_from_hint(get("severity")),
            kind=kind_from_hint(get("kind")),
            labels=self._labels(data, where),
            url=get("url"),
            fingerprint=f"{self.name}:{fingerprint}",
        )

    def _status(self, value: str | None, where: str) -> AlertStatus:
        if value is None:
            return AlertStatus.FIRING
        if self._resolved:
            return AlertStatus.RESOLVED if value.lower() in self._resolved \
                else AlertStatus.FIRING
        if value.lower() in AlertStatus._value2member_map_:
            return AlertStatus(value.lower())
        raise PayloadError([Problem(where, f"mapping {self.name}: status gave {value!r}; "
                                           "expected firing or resolved (or set resolved_when)")])

    def _labels(self, data: Any, where: str) -> dict[str, str]:
        value = self._search("labels", data, where)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise PayloadError([Problem(where, f"mapping {self.name}: labels gave "
                                               f"{_kind(value)}, not an object")])
        return {str(k): _text(v) for k, v in value.items() if v is not None and v != ""}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a text", bool: "a boolean",
            type(None): "nothing"}.get(type(value), "a number")


def _one_line(error: Exception) -> str:
    """A JMESPath error quotes the value it met: a lone surrogate there (JSON's `\\ud800`) is
    written out as its escape, or the answer could not be encoded."""
    return " ".join(str(error).encode("utf-8", "backslashreplace").decode().split())
