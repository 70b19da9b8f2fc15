"""The README's "Who may do what" table, cell by cell, against the real service: every command
x commander, role holder, no role and outsider chat, each on a fresh incident, through
`Service.execute` as every adapter calls it. A cell is `yes` (the command runs), `no` (it is
refused as forbidden), or a condition checked both ways (met: it runs; not met: refused)."""

from __future__ import annotations

import itertools
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.chat.local import local_person
from bot.core import access
from bot.core import commands as cmd
from bot.core.access import Origin
from bot.core.command_registry import REGISTRY
from bot.core.commands import parse
from bot.core.context import Context
from bot.core.errors import Forbidden
from bot.core.models import SYSTEM, CrisisKind
from bot.core.text import Text
from bot.storage.memory import MemoryStore
from tests.unit.playworld import World, make_world

README = Path(__file__).resolve().parents[2] / "README.md"
COMMANDER, HOLDER, NOBODY, SPOKESPERSON = "local:bob", "local:carol", "local:mallory", \
    "local:dave"
APPROVER = "local:erin"
PERSONAS = ("commander", "role holder", "no role", "outsider chat")

SAMPLES: dict[str, str] = {
    "declare": "declare Second front",
    "drill": "drill trolling",
    "web": "web",
    "ack": "ack INC-1",
    "help": "help",
    "timeline": "timeline INC-1",
    "roles": "roles INC-1",
    "report": "report INC-1",
    "task": "task INC-1",
    "templates": "templates INC-1",
    "role": "role INC-1 @erin monitor",
    "role remove": "role INC-1 remove @dave spokesperson",
    "severity": "severity INC-1 SEV1",
    "status": "status INC-1 responding Taking the bot accounts down",
    "note": "note INC-1 Called the platform",
    "resolve": "resolve INC-1 Contained",
    "reopen": "reopen INC-1",
    "task done": "task INC-1 done 1",
    "task undo": "task INC-1 undo 2",
    "task assign": "task INC-1 assign 1 @erin",
    "lang": "lang INC-1 ru",
    "lesson": "lesson INC-1 Brief the spokesperson earlier",
    "draft": "draft INC-1 We are looking into it.",
    "draft template": "draft INC-1 template holding",
    "draft revise": "draft INC-1 revise 1 We are on it.",
    "approve": "approve INC-1 1",
    "reject": "reject INC-1 1 Too vague",
    "publish": "publish INC-1 1",
}
"""One command line per name in the table's first column."""


@dataclass(frozen=True)
class Scene:
    """INC-1 (trolling, SEV3): Bob commands (and holds `commander_also`), Carol holds
    `holder_role`, Dave is spokesperson, Mallory nothing; draft #1 by `author`."""

    holder_role: str = "approver"
    commander_also: tuple[str, ...] = ()
    author: str = SPOKESPERSON
    acknowledged: bool = True
    resolved: bool = False
    extra: tuple[tuple[str, str], ...] = field(default=())
    """(person, role) given on top."""
    approved: bool = False
    """Draft #1 approved (by Erin, an approver), and the status page configured."""


async def build(scene: Scene) -> World:
    world = make_world(MemoryStore())
    service = world.service
    incident = await service.declare(COMMANDER, "Bot swarm", kind=CrisisKind.TROLLING)
    n = incident.number
    if scene.acknowledged:
        await service.acknowledge(n, COMMANDER)
    await service.assign(n, COMMANDER, HOLDER, scene.holder_role)
    await service.assign(n, COMMANDER, SPOKESPERSON, "spokesperson")
    if scene.commander_also:  # nobody gives themselves a deciding role: Dave, commanding
        await service.assign(n, COMMANDER, SPOKESPERSON, "commander")  # a while, gives them
        for role in scene.commander_also:
            await service.assign(n, SPOKESPERSON, COMMANDER, role)
        await service.assign(n, SPOKESPERSON, COMMANDER, "commander")
    for person, role in scene.extra:
        await service.assign(n, COMMANDER, person, role)
    await service.post_draft(n, scene.author, "We are aware of the bot swarm.")
    await service.mark_task(n, COMMANDER, 2)
    if scene.approved:
        await service.assign(n, COMMANDER, APPROVER, "approver")
        await service.decide(n, APPROVER, approve=True, draft_number=1)
        service.publish_to = ("status",)
    if scene.resolved:
        await service.resolve(n, COMMANDER)
    return world


def actor_of(persona: str) -> tuple[str, Origin]:
    return {"commander": (COMMANDER, Origin.TEAM), "role holder": (HOLDER, Origin.TEAM),
            "no role": (NOBODY, Origin.TEAM),
            "outsider chat": (COMMANDER, Origin.OUTSIDER)}[persona]


def scene_for(name: str) -> Scene:
    return Scene(acknowledged=name != "ack", resolved=name == "reopen",
                 approved=name == "publish")


# A condition: persona -> [(the scene, whether the command must run)].
Condition = Callable[[str], list[tuple[Scene, bool]]]


def _approving(persona: str) -> list[tuple[Scene, bool]]:
    if persona == "commander":
        return [(Scene(commander_also=("approver",)), True), (Scene(), False)]
    return [(Scene(holder_role="approver"), True), (Scene(holder_role="monitor"), False)]


def _approving_or_veto(persona: str) -> list[tuple[Scene, bool]]:
    if persona == "commander":
        return [(Scene(commander_also=("legal",)), True),
                (Scene(commander_also=("approver",)), True), (Scene(), False)]
    return [(Scene(holder_role="legal"), True), (Scene(holder_role="approver"), True),
            (Scene(holder_role="monitor"), False)]


def _own_draft_or_spokesperson(persona: str) -> list[tuple[Scene, bool]]:
    assert persona == "role holder"
    return [(Scene(author=HOLDER), True), (Scene(holder_role="spokesperson"), True),
            (Scene(), False)]


def _spokesperson(persona: str) -> list[tuple[Scene, bool]]:
    assert persona == "role holder"
    return [(Scene(holder_role="spokesperson", approved=True), True),
            (Scene(approved=True), False)]


CONDITIONS: dict[str, Condition] = {
    "as spokesperson": _spokesperson,
    "with an approving role": _approving,
    "with an approving or veto role": _approving_or_veto,
    "own draft, or as spokesperson": _own_draft_or_spokesperson,
}


def readme_table() -> list[tuple[list[str], dict[str, str]]]:
    """Rows of the table under "### Who may do what": (command names, persona -> cell)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Who may do what", 1)[1]
    lines = list(itertools.takewhile(
        lambda line: line.startswith("|"),
        itertools.dropwhile(lambda line: not line.startswith("|"), section.splitlines())))
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["command", *PERSONAS]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((re.findall(r"`([^`]+)`", cells[0]), dict(zip(PERSONAS, cells[1:],
                                                                  strict=True))))
    return rows


def cases() -> list[tuple[str, str, str]]:
    return [(name, persona, cell) for names, cells in readme_table() for name in names
            for persona, cell in cells.items()]


def test_the_table_names_every_command_once() -> None:
    names = [name for names, _cells in readme_table() for name in names]
    assert sorted(names) == sorted(SAMPLES) == sorted(REGISTRY.names())
    covered = {type(parse(line).action) for line in SAMPLES.values()}
    assert covered == set(typing.get_args(cmd.Action))


def test_each_sample_is_the_command_it_names() -> None:
    for name, line in SAMPLES.items():
        assert name in REGISTRY[type(parse(line).action)].names


async def refusal(scene: Scene, name: str, persona: str) -> Text | None:
    """What the command was refused with as forbidden, or None when it ran."""
    world = await build(scene)
    actor, origin = actor_of(persona)
    ctx = Context(actor, "local", None, local_person, origin=origin)
    try:
        await world.service.execute(parse(SAMPLES[name]), ctx)
    except Forbidden as refused:
        return refused.text
    return None


@pytest.mark.parametrize(("name", "persona", "cell"), cases(),
                         ids=[f"{n}-{p}" for n, p, _c in cases()])
async def test_the_readme_table_is_what_the_service_does(name: str, persona: str,
                                                         cell: str) -> None:
    if cell.split(",")[0] in {"yes", "no"}:
        expected = [(scene_for(name), cell.startswith("yes"))]
    else:
        expected = CONDITIONS[cell](persona)
    for scene, runs in expected:
        refused = await refusal(scene, name, persona)
        assert (refused is None) is runs, (scene, runs, refused)
        if persona == "outsider chat":
            assert refused == access.OUTSIDER


async def test_ack_without_a_commander_makes_you_commander() -> None:
    world = make_world(MemoryStore())
    await world.service.declare(SYSTEM, "Spike of mentions")  # nobody commands it
    ctx = Context(NOBODY, "local", None, local_person, origin=Origin.TEAM)
    with pytest.raises(Forbidden, match="no commander yet: “/crisis ack INC-1” makes you"):
        await world.service.execute(parse("resolve INC-1"), ctx)
    await world.service.execute(parse("ack INC-1"), ctx)
    async with world.store.unit() as unit:
        incident = await unit.get_incident(1)
    assert incident is not None
    assert incident.commander == NOBODY
