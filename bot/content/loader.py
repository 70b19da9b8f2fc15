"""Playbook files: `<kind>.toml` in a directory, one per crisis kind, parsed by the core."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path

from bot.core.models import CrisisKind
from bot.core.playbooks import Playbook, PlaybookError, parse_playbook


def load_playbooks(directories: Iterable[Path]) -> dict[CrisisKind, Playbook]:
    """Every `*.toml` of each directory; a later directory's playbook replaces an earlier one
    of the same kind (the team's own over the shipped ones). A file whose `kind` differs from
    its name is refused, so a copied file cannot silently shadow another kind."""
    found: dict[CrisisKind, Playbook] = {}
    for directory in directories:
        if not directory.is_dir():
            raise PlaybookError(f"{directory}: no such playbook directory")
        for path in sorted(directory.glob("*.toml")):
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
                raise PlaybookError(f"{path}: {error}") from None
            playbook = parse_playbook(data, str(path))
            if playbook.kind.value != path.stem:
                raise PlaybookError(f"{path}: kind “{playbook.kind.value}” does not match the "
                                    f"file name; name it {playbook.kind.value}.toml")
            found[playbook.kind] = playbook
    return found
