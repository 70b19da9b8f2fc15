"""Statement templates: Jinja2 files rendered in a sandbox, looked up per language and kind.

Layout of a templates directory: `<lang>/<name>.j2` (generic) and `<lang>/<kind>/<name>.j2`
(for one crisis kind). Lookup for (name, kind, language): the kind's own template, then the
generic one, in that language, then the same two in English. Several directories are searched
in order for each path, so a team's directory can replace a shipped file or add new names.

Statements are plain text: autoescape is off, but the sandbox still refuses unsafe attributes
(`__class__`, `mro`, …) and an unknown variable is an error rather than a silent blank.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from bot.core.models import CrisisKind
from bot.core.playbooks import TemplateError as FillError
from bot.core.text import LANGUAGES

_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
SUFFIX = ".j2"


class JinjaTemplates:
    def __init__(self, directories: Sequence[Path],
                 kind_label: Callable[[CrisisKind, str], str], *,
                 moment: Callable[[datetime, str], str] = lambda at, _language: str(at)) -> None:
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader([str(d) for d in directories], encoding="utf-8"),
            autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        )
        self._kind_label = kind_label
        self._moment = moment

    @staticmethod
    def _paths(name: str, kind: CrisisKind, language: str) -> list[str]:
        languages = dict.fromkeys([language, LANGUAGES[0]])
        return [path for lang in languages
                for path in (f"{lang}/{kind.value}/{name}{SUFFIX}", f"{lang}/{name}{SUFFIX}")]

    def names(self, kind: CrisisKind, language: str) -> list[str]:
        wanted = {lang: (f"{lang}/", f"{lang}/{kind.value}/")
                  for lang in dict.fromkeys([language, LANGUAGES[0]])}
        found = set()
        for path in self._env.list_templates(extensions=[SUFFIX.lstrip(".")]):
            folder, _sep, file = path.rpartition("/")
            if any(f"{folder}/" in prefixes for prefixes in wanted.values()):
                found.add(file.removesuffix(SUFFIX))
        return sorted(found)

    def render(self, name: str, kind: CrisisKind, language: str,
               fields: Mapping[str, Any]) -> str:
        if not _NAME.match(name):
            raise KeyError(name)
        try:
            template = self._env.select_template(self._paths(name, kind, language))
            shown = {key: self._moment(value, language) if isinstance(value, datetime) else value
                     for key, value in fields.items()}  # times as the language writes them
            text = template.render(**shown, kind_label=self._kind_label(kind, language))
        except TemplateNotFound:
            raise KeyError(name) from None
        except TemplateError as error:  # syntax, undefined names, sandbox refusals
            raise FillError(f"{type(error).__name__}: {error.message}") from None
        return re.sub(r"\n{3,}", "\n\n", text).strip()
