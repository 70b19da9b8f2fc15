"""Message catalogues: gettext `.po` files per language under `bot/locale`, read with Babel.

Catalogues are read straight from the `.po` sources (no compiled `.mo` to keep in step), once
per language per process. Persian output isolates names and ids (FSI/PDI) so right-to-left text
never scrambles a `@handle` or an `INC-7`.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from bot.core.text import Catalog as CatalogPort
from bot.core.text import Renderer, Who, plain_mention

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


def renderer(language: str, mention: Callable[[Who], str] = plain_mention) -> Renderer:
    """A renderer for `language`; each platform passes its own mention style."""
    return Renderer(catalog(language), mention, isolate=language in RTL)
