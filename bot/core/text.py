"""Translatable text: the core never writes a finished sentence, it names a message.

Every word the bot says is a `Text` (a gettext message id and its parameters); adapters render it
in the reader's language at the last moment, so the same event can be told in en, ru and fa.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    """Several values shown as a comma-separated list (each rendered on its own)."""


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
    """

    catalog: Catalog = field(default_factory=gettext.NullTranslations)
    mention: Callable[[Who], str] = plain_mention
    isolate: bool = False
    language: str = LANGUAGES[0]
    escape: Callable[[str], str] = unescaped

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
            return ", ".join(self._value(v) for v in value)
        if isinstance(value, Lines):
            return "\n".join(self._value(v) for v in value)
        if isinstance(value, Localized):
            return self.escape(value.pick(self.language))
        return self._isolated(self.escape(str(value)))

    def _isolated(self, value: str) -> str:
        return f"{FSI}{value}{PDI}" if self.isolate and value else value


SOURCE = Renderer()
"""English, straight from the message ids: for logs, errors and tests."""


def render(text: Text) -> str:
    return SOURCE(text)
