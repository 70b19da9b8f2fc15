"""Playbooks: what a team prepared in advance for each kind of crisis — severity guidance, the
roles to fill, a checklist per role, the statement templates to start from and a drill scenario.

Playbooks are data (TOML files read by `bot.content`); here they are plain dataclasses, parsed
from the dictionaries `tomllib` returns, so the core stays free of I/O. Task titles and drill
texts are given per language in the file itself (`title = { en = "…", ru = "…", fa = "…" }`):
teams write their own playbooks, and the gettext catalogue only covers what the code says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.core.models import CrisisKind, PersonId, Severity
from bot.core.text import LANGUAGES, Localized

TEMPLATE_NAMES: tuple[str, ...] = (
    "holding", "apology", "rebuttal", "complaint_reply", "update", "closing",
)
"""The statement templates every language ships for every kind (a kind may refine some)."""


class PlaybookError(ValueError):
    """A playbook file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class PlaybookTask:
    role: str
    title: Localized


@dataclass(frozen=True)
class DrillMention:
    """One simulated mention of a drill, fed `after` the drill starts."""

    after: timedelta
    text: Localized
    network: str = "social.example"
    reach: int = 1000
    sentiment: float = -0.5


@dataclass(frozen=True)
class Drill:
    title: Localized
    severity: Severity = Severity.SEV2
    mentions: tuple[DrillMention, ...] = ()


@dataclass(frozen=True)
class Playbook:
    kind: CrisisKind
    name: Localized
    roles: tuple[str, ...] = ()
    tasks: tuple[PlaybookTask, ...] = ()
    templates: tuple[str, ...] = ()
    severity: Mapping[Severity, Localized] = field(default_factory=dict)
    drill: Drill | None = None


@dataclass
class Task:
    """One checklist item of one incident, numbered from 1 in playbook order."""

    incident: int
    number: int
    role: str
    title: Localized
    assignee: PersonId | None = None
    done_at: datetime | None = None
    done_by: PersonId | None = None

    @property
    def done(self) -> bool:
        return self.done_at is not None


class TemplateError(Exception):
    """A template that exists but cannot be filled (a typo, a forbidden attribute)."""


class StatementTemplates(Protocol):
    """Statement templates, rendered outside the core (Jinja2, sandboxed)."""

    def names(self, kind: CrisisKind, language: str) -> list[str]:
        """Every template name available for `kind` in `language`, sorted."""
        ...

    def render(self, name: str, kind: CrisisKind, language: str,
               fields: Mapping[str, Any]) -> str:
        """The filled template; `KeyError` when there is no such template, `TemplateError`
        when it cannot be filled."""
        ...


# -- parsing ---------------------------------------------------------------------------------


def parse_playbook(data: Mapping[str, Any], source: str = "playbook") -> Playbook:
    """A playbook from a TOML document's dictionary; raise `PlaybookError` naming `source`."""
    try:
        kind = CrisisKind(str(data["kind"]))
        drill = data.get("drill")
        return Playbook(
            kind=kind,
            name=localized(data["name"]),
            roles=tuple(str(r).lower() for r in data.get("roles", ())),
            tasks=tuple(PlaybookTask(str(t["role"]).lower(), localized(t["title"]))
                        for t in data.get("tasks", ())),
            templates=tuple(str(t) for t in data.get("templates", ())),
            severity={Severity(str(k).upper()): localized(v)
                      for k, v in data.get("severity", {}).items()},
            drill=_drill(drill) if drill is not None else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise PlaybookError(f"{source}: {type(error).__name__}: {error}") from None


def localized(value: Any) -> Localized:
    """`{ en = "…", ru = "…" }` (English required) or a plain string (English only)."""
    if isinstance(value, str):
        return Localized.of({LANGUAGES[0]: value})
    if not isinstance(value, Mapping) or not isinstance(value.get(LANGUAGES[0]), str):
        raise ValueError(f"expected a text or a table with at least “en”, got {value!r}")
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise ValueError(f"unknown language(s) {unknown}; languages are {list(LANGUAGES)}")
    return Localized.of({str(k): str(v) for k, v in value.items()})


def _drill(data: Mapping[str, Any]) -> Drill:
    return Drill(
        title=localized(data["title"]),
        severity=Severity(str(data.get("severity", Severity.SEV2.value)).upper()),
        mentions=tuple(
            DrillMention(after=timedelta(minutes=float(m.get("after", 0))),
                         text=localized(m["text"]), network=str(m.get("network", "social.example")),
                         reach=int(m.get("reach", 1000)),
                         sentiment=float(m.get("sentiment", -0.5)))
            for m in data.get("mentions", ())
        ),
    )


def checklist(playbook: Playbook, incident: int) -> list[Task]:
    return [Task(incident, n, t.role, t.title) for n, t in enumerate(playbook.tasks, start=1)]


def open_tasks(tasks: Sequence[Task]) -> list[Task]:
    return [t for t in tasks if not t.done]
