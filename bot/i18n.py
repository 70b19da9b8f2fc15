"""Message catalogues: gettext `.po` files per language under `bot/locale`, read with Babel.

Catalogues are read straight from the `.po` sources (no compiled `.mo` to keep in step), once
per language per process. Persian output isolates names and ids (FSI/PDI) so right-to-left text
never scrambles a `@handle` or an `INC-7`.
"""

from __future__ import annotations

import ast
import gettext
from collections.abc import Callable, Collection, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from bot.core.text import Catalog as CatalogPort
from bot.core.text import Renderer, Who, plain_mention, unescaped

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "crisisbot"
RTL = frozenset({"fa", "ar", "he"})


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


@cache
def catalog(language: str) -> CatalogPort:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return Untranslated()
    with path.open("rb") as handle:
        return PoCatalog(read_po(handle, locale=language))


def renderer(language: str, mention: Callable[[Who], str] = plain_mention,
             escape: Callable[[str], str] = unescaped) -> Renderer:
    """A renderer for `language`; each platform passes its own mention style and, where its
    markup needs it, its escaping of plain text."""
    return Renderer(catalog(language), mention, isolate=language in RTL, language=language,
                    escape=escape)


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
