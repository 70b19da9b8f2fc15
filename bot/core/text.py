"""Translatable text: the core never writes a finished sentence, it names a message.

Every word the bot says is a `Text` (a gettext message id and its parameters); adapters render it
in the reader's language at the last moment, so the same event can be told in en, ru and fa.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol

LANGUAGES = ("en", "ru", "fa")
"""The languages the bot speaks; the first is the source language of every message id."""

FSI, PDI = "\u2068", "\u2069"
"""Unicode first-strong isolate and its pop: keep names and ids readable inside Persian text."""


@dataclass(frozen=True)
class Text:
    """A message id (English source text with `{name}` fields) waiting to be translated."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def __str__(self) -> str:
        return render(self)


BLANK = Text("")
"""An empty line (an empty msgid would fetch the catalogue header from gettext)."""


def _(msgid: str, **params: Any) -> Text:
    """Mark a message for translation (extracted by Babel)."""
    return Text(msgid, params)


def N_(singular: str, plural: str, n: int, **params: Any) -> Text:
    """Mark a message with plural forms; `{n}` is available in both."""
    return Text(singular, {"n": n, **params}, plural=plural, count=n)


@dataclass(frozen=True)
class Who:
    """A person inside a message; each platform renders it as its own mention."""

    person: str

    @property
    def handle(self) -> str:
        """`slack:U123` -> `U123`; `local:alice` -> `alice`."""
        return self.person.split(":", 1)[-1]


class Joined(tuple[Any, ...]):
    """Several values shown as a list with the language's separator (each rendered on its
    own)."""


class Either(tuple[Any, ...]):
    """Alternatives shown as an "or" list: any of these roles."""


@dataclass(frozen=True)
class Percent:
    """A share in percent (0-100), written the language's way: `67%`, `67 %`, `۶۷٪`;
    `signed` for a change (`+50%`)."""

    value: float
    signed: bool = False


@dataclass(frozen=True)
class RoleName:
    """A role, shown by its name in the reader's language; `id` is what people type.

    `label` is the catalogue's name of a built-in role; a team's own roles get theirs from
    the renderer's `role_names` (configuration). `capital` starts a line with it."""

    id: str
    label: Text | None = None
    capital: bool = False


class Prefixed(tuple[Any, ...]):
    """A value shown after a separator only when present, e.g. ": the reason"."""

    def __new__(cls, prefix: str, value: Any) -> Prefixed:
        return super().__new__(cls, (prefix, value))

    def __getnewargs__(self) -> tuple[Any, ...]:
        """Let copy and pickle rebuild it through `__new__(prefix, value)`."""
        return tuple(self)


@dataclass(frozen=True)
class Localized:
    """Text that configuration gives in several languages (a playbook's task titles), not the
    catalogue: the renderer picks the reader's language, else English, else the first given."""

    texts: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, texts: Mapping[str, str]) -> Localized:
        return cls(tuple(texts.items()))

    def pick(self, language: str) -> str:
        given = dict(self.texts)
        return given.get(language) or given.get(LANGUAGES[0]) or next(iter(given.values()), "")


@dataclass(frozen=True)
class Day:
    """The calendar day of a moment (a chart's week), in the reader's time zone and calendar,
    without its time."""

    at: datetime


class Lines(tuple[Any, ...]):
    """Several values shown one per line (a checklist inside one message)."""


@dataclass(frozen=True)
class Raw:
    """A value an adapter has already written in its platform's markup (a Slack channel link
    `<#C123>`): inserted as it is, never escaped. Only adapters make these, never from what
    people or alerts wrote."""

    markup: str


class Catalog(Protocol):
    def gettext(self, message: str, /) -> str: ...
    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


class Formats(Protocol):
    """How one language writes the values core hands over typed (numbers, percentages,
    moments, durations, lists); the adapters' renderer gives each language its own."""

    def number(self, value: int | float, /) -> str: ...
    def percent(self, value: Percent, /) -> str: ...
    def moment(self, value: datetime | time, /) -> str: ...
    def day(self, value: datetime, /) -> str: ...
    def duration(self, value: timedelta, /) -> str: ...
    def joined(self, items: Sequence[str], /) -> str: ...
    def either(self, items: Sequence[str], /) -> str: ...


DURATION_UNITS = ((86400, "d"), (3600, "hr"), (60, "min"), (1, "sec"))


def duration_parts(value: timedelta) -> list[tuple[int, int]]:
    """`1:32:05` -> [(1, 3600), (32, 60)]: the two largest units from the first non-zero one
    (seconds rounded, a zero second unit left out),
    enough to read a duration at a glance; `0 sec` when it took no time."""
    rest = max(0, round(value.total_seconds()))
    parts: list[tuple[int, int]] = []
    for size, _unit in DURATION_UNITS:
        count, rest = divmod(rest, size)
        if count or parts:
            parts.append((count, size))
    parts = [(count, size) for count, size in parts[:2] if count]
    return parts or [(0, 1)]


class SourceFormats:
    """English as the message ids are written, without locale data: for logs, errors, tests."""

    def number(self, value: int | float, /) -> str:
        return format(value, ",")

    def percent(self, value: Percent, /) -> str:
        return f"{value.value:{'+' if value.signed else ''}g}%"

    def moment(self, value: datetime | time, /) -> str:
        if isinstance(value, time):
            return value.strftime("%H:%M")
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def day(self, value: datetime, /) -> str:
        return value.astimezone(UTC).strftime("%m-%d")

    def duration(self, value: timedelta, /) -> str:
        units = dict((size, unit) for size, unit in DURATION_UNITS)
        return " ".join(f"{count} {units[size]}" for count, size in duration_parts(value))

    def joined(self, items: Sequence[str], /) -> str:
        return ", ".join(items)

    def either(self, items: Sequence[str], /) -> str:
        return " or ".join(filter(None, (", ".join(items[:-1]), *items[-1:])))


def plain_mention(who: Who) -> str:
    return f"@{who.handle}"


def unescaped(value: str) -> str:
    return value


@dataclass(frozen=True)
class Renderer:
    """Turns `Text` into a string with one catalogue, one mention style, optional RTL isolation.

    `escape` makes text safe for a platform's markup (Slack's `&`, `<`, `>`): it is applied to
    the translated template and to every plain value (titles from alerts, drafts, reasons,
    localized configuration), never to mentions (the `mention` function writes those in the
    platform's markup itself) or `Raw` values, so an alert titled `<!channel>` cannot ping
    anyone while the bot's own `<@U123>` stays a mention.

    Typed values are written by `formats` (numbers, `Percent`, datetimes, timedeltas,
    `Joined`); `role_names` holds a team's names for its own roles, per language.
    """

    catalog: Catalog = field(default_factory=gettext.NullTranslations)
    mention: Callable[[Who], str] = plain_mention
    isolate: bool = False
    language: str = LANGUAGES[0]
    escape: Callable[[str], str] = unescaped
    formats: Formats = field(default_factory=SourceFormats)
    role_names: Mapping[str, Localized] = field(default_factory=dict)

    def __call__(self, text: Text) -> str:
        if not text.msgid:
            return ""
        if text.plural is not None and text.count is not None:
            template = self.catalog.ngettext(text.msgid, text.plural, text.count)
        else:
            template = self.catalog.gettext(text.msgid)
        return self.escape(template).format(
            **{k: self._value(v) for k, v in text.params.items()})

    def _value(self, value: Any) -> str:
        if isinstance(value, Text):
            return self(value)
        if isinstance(value, Who):
            return self._isolated(self.mention(value))
        if isinstance(value, Raw):
            return value.markup
        if isinstance(value, Prefixed):
            return self.escape(str(value[0])) + self._value(value[1])
        if isinstance(value, Joined):
            return self.formats.joined([self._value(v) for v in value])
        if isinstance(value, Either):
            return self.formats.either([self._value(v) for v in value])
        if isinstance(value, Lines):
            return "\n".join(self._value(v) for v in value)
        if isinstance(value, Localized):
            return self.escape(value.pick(self.language))
        if isinstance(value, RoleName):
            return self._role(value)
        if isinstance(value, Day):
            return self.formats.day(value.at)
        if isinstance(value, bool) or not isinstance(value, int | float | Percent | datetime
                                                       | time | timedelta):
            return self._isolated(self.escape(str(value)))
        return self._formatted(value)

    def _formatted(self, value: int | float | Percent | datetime | time | timedelta) -> str:
        """Numbers and durations in the language's own digits need no isolation; a moment
        may carry a Latin zone name, so it is isolated like an id."""
        match value:
            case Percent():
                return self.formats.percent(value)
            case datetime() | time():
                return self._isolated(self.formats.moment(value))
            case timedelta():
                return self.formats.duration(value)
        return self.formats.number(value)

    def _role(self, role: RoleName) -> str:
        """The team's name for the role in this language, else the catalogue's (built-in
        roles), else the team's name in another language, else the id."""
        configured = self.role_names.get(role.id, Localized(()))
        given = dict(configured.texts).get(self.language)
        if given:
            name = self.escape(given)
        elif role.label is not None:
            name = self(role.label)
        else:
            name = self.escape(configured.pick(self.language) or role.id)
        return name[:1].upper() + name[1:] if role.capital else name

    def _isolated(self, value: str) -> str:
        return f"{FSI}{value}{PDI}" if self.isolate and value else value


SOURCE = Renderer()
"""English, straight from the message ids: for logs, errors and tests."""


def render(text: Text) -> str:
    return SOURCE(text)
