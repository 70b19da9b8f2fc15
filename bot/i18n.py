"""Message catalogues and locale formats: gettext `.po` files per language under
`bot/locale`, numbers, dates, durations and lists written by Babel's CLDR data.

Catalogues are read straight from the `.po` sources (no compiled `.mo` to keep in step), once
per language per process. Persian output isolates names and ids (FSI/PDI) so right-to-left text
never scrambles a `@handle` or an `INC-7`, and writes numbers in its own digits.
"""

from __future__ import annotations

import ast
import gettext
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import IO, Any, Literal

import jdatetime  # type: ignore[import-untyped]
from babel import Locale
from babel.dates import format_skeleton
from babel.lists import format_list
from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.catalog import Message
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit

from bot.core.text import Catalog as CatalogPort
from bot.core.text import (
    Localized,
    Percent,
    Renderer,
    Who,
    duration_parts,
    plain_mention,
    unescaped,
)

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "crisisbot"
RTL = frozenset({"fa", "ar", "he"})
Calendar = Literal["gregorian", "persian"]
CALENDARS: tuple[Calendar, ...] = ("gregorian", "persian")

DIGITS: Mapping[str, str] = {"arabext": "۰۱۲۳۴۵۶۷۸۹", "arab": "٠١٢٣٤٥٦٧٨٩"}
"""The digits of the numbering systems our languages default to. Babel gives each system's
separators and signs but writes dates and units in Latin digits, so those are translated."""
UNITS = {86400: "duration-day", 3600: "duration-hour", 60: "duration-minute",
         1: "duration-second"}


class PoCatalog:
    """gettext's two calls answered from a Babel catalogue; untranslated and fuzzy entries fall
    back to English.

    The plural form is chosen by the `Plural-Forms` expression in the catalogue's header (as
    gettext does), e.g. Russian's three forms, Persian's two.
    """

    def __init__(self, catalog: BabelCatalog) -> None:
        self._catalog = catalog
        self._plural: Callable[[int], int] = gettext.c2py(catalog.plural_expr)

    def _translated(self, msgid: str) -> Message | None:
        found = self._catalog.get(msgid)
        return None if found is None or found.fuzzy else found

    def gettext(self, message: str, /) -> str:
        found = self._translated(message)
        if found is None or not found.string or isinstance(found.string, tuple):
            return message
        return str(found.string)

    def ngettext(self, singular: str, plural: str, n: int, /) -> str:
        found = self._translated(singular)
        forms = found.string if found is not None else None
        if isinstance(forms, tuple) and forms and all(forms):
            index = self._plural(n)
            return str(forms[min(index, len(forms) - 1)])
        return singular if n == 1 else plural

class Untranslated:
    """English: the message ids are the text."""

    def gettext(self, message: str, /) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int, /) -> str:
        return singular if n == 1 else plural


class BabelFormats:
    """One locale's way with numbers, percentages, moments, durations and lists (CLDR data via
    Babel), in the locale's default numbering system (Persian: `arabext`, ۰-۹ with `٬` and
    `٫`). Moments are shown in `timezone`, in the Gregorian or, where a team chooses it, the
    Solar Hijri calendar."""

    def __init__(self, language: str, *, timezone: tzinfo = UTC,
                 calendar: Calendar = "gregorian") -> None:
        self.locale = Locale.parse(language)
        system = self.locale.default_numbering_system
        self._digits = str.maketrans("0123456789", DIGITS[system]) if system in DIGITS else {}
        self._symbols = self.locale.number_symbols[system]
        self.timezone = timezone
        self.calendar = calendar

    def _native(self, text: str) -> str:
        return text.translate(self._digits)

    def number(self, value: int | float, /) -> str:
        return self._native(format_decimal(value, locale=self.locale,
                                           numbering_system="default"))

    def percent(self, value: Percent, /) -> str:
        """Babel has no percent pattern for every numbering system: the Latin pattern, then
        the system's digits and percent sign."""
        written = format_percent(value.value / 100, locale=self.locale)
        sign = "+" if value.signed and value.value > 0 else ""
        return self._native(sign + written.replace("%", self._symbols["percentSign"]))

    def moment(self, value: datetime | time, /) -> str:
        if isinstance(value, time):
            return self._native(format_skeleton("Hm", value, locale=self.locale))
        local = value.astimezone(self.timezone)
        clock = format_skeleton("Hm", local, locale=self.locale)
        day = (self._solar_hijri(local) if self.calendar == "persian"
               else format_skeleton("yMd", local, locale=self.locale))
        zone = local.tzname() or ""
        pattern = str(self.locale.datetime_formats["short"])
        return self._native(pattern.replace("{1}", day).replace("{0}", clock) + f" {zone}")

    def day(self, value: datetime, /) -> str:
        """Month and day in the team's time zone, the way the reader's calendar writes them
        (`3/14`, `14.03`, `۱۲/۲۳` in the Solar Hijri calendar)."""
        local = value.astimezone(self.timezone)
        if self.calendar == "persian":
            day = jdatetime.date.fromgregorian(date=local.date())
            return self._native(f"{day.month:02d}/{day.day:02d}")
        return self._native(format_skeleton("Md", local, locale=self.locale))

    def _solar_hijri(self, value: datetime) -> str:
        """`1404/12/23`: the Solar Hijri date (year/month/day, as Iran writes it)."""
        day = jdatetime.date.fromgregorian(date=value.date())
        return f"{day.year}/{day.month:02d}/{day.day:02d}"

    def duration(self, value: timedelta, /) -> str:
        return self._native(" ".join(
            format_unit(count, UNITS[size], length="short", locale=self.locale)
            for count, size in duration_parts(value)))

    def joined(self, items: Sequence[str], /) -> str:
        """Joined with the locale's list separator (", ", Persian "، "), without "and": these
        are lists of names, not a sentence's last item."""
        middle = str(self.locale.list_patterns["standard"]["middle"])  # "{0}, {1}"
        return middle.replace("{0}", "", 1).replace("{1}", "", 1).join(items)

    def either(self, items: Sequence[str], /) -> str:
        return format_list(list(items), style="or", locale=self.locale) if items else ""


@cache
def formats(language: str, timezone: tzinfo = UTC,
            calendar: Calendar = "gregorian") -> BabelFormats:
    return BabelFormats(language, timezone=timezone, calendar=calendar)


@cache
def catalog(language: str) -> CatalogPort:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return Untranslated()
    with path.open("rb") as handle:
        return PoCatalog(read_po(handle, locale=language))


def renderer(language: str, mention: Callable[[Who], str] = plain_mention,
             escape: Callable[[str], str] = unescaped, *, timezone: tzinfo = UTC,
             calendar: Calendar = "gregorian",
             role_names: Mapping[str, Localized] | None = None) -> Renderer:
    """A renderer for `language`; each platform passes its own mention style and, where its
    markup needs it, its escaping of plain text; the team's settings give the timezone and
    calendar of moments and the names of its own roles."""
    return Renderer(catalog(language), mention, isolate=language in RTL, language=language,
                    escape=escape, formats=formats(language, timezone, calendar),
                    role_names=role_names or {})


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str | tuple[str | None, ...] | None, list[str]]]:
    """A Babel extraction method (`[bot.i18n:extract: **.py]` in babel.cfg) that reads Python
    with `ast`, so a `_(...)` nested at any depth is found.

    Babel's own Python extractor only sees a marked call directly inside another marked call,
    and silently drops one nested deeper, e.g. `_("…", x=Joined(tuple(_("#{n}") for …)))`.
    Positional arguments are yielded as Babel expects (non-literals as None, so a dynamic
    message id is skipped); a comment line starting with one of `comment_tags` right above the
    call is passed on to translators.
    """
    source = fileobj.read().decode(str(options.get("encoding", "utf-8")))
    lines = source.splitlines()
    calls: list[tuple[int, int, str, str | tuple[str | None, ...] | None]] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in keywords and node.args):
            continue
        args = tuple(a.value if isinstance(a, ast.Constant) and isinstance(a.value, str)
                     else None for a in node.args)
        calls.append((node.args[0].lineno, node.col_offset, node.func.id,
                      args if len(args) > 1 else args[0]))
    for lineno, _column, funcname, messages in sorted(calls, key=lambda c: (c[0], c[1])):
        yield lineno, funcname, messages, _comments(lines, lineno, comment_tags)


def _comments(lines: list[str], lineno: int, tags: Collection[str]) -> list[str]:
    """Translator comments: the run of `# TAG ...` lines just above line `lineno`."""
    found: list[str] = []
    index = lineno - 2
    while index >= 0 and (line := lines[index].strip()).startswith("#"):
        found.insert(0, line.lstrip("#").strip())
        index -= 1
    return found if tags and found and any(found[0].startswith(t) for t in tags) else []
