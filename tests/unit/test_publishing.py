"""Publishing approved statements through the real service and delivery on the memory store:
who may publish, which versions may go out (and why not), one delivery per destination with
the stored bytes, corrections marking the earlier statement updated, the status board and the
report. The destinations here record what they were given (the platforms' own adapters are
tested over HTTP in tests/integration/test_publish_http.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
from pydantic import ValidationError

from bot.chat.local import LocalChat
from bot.core.delivery import Delivery
from bot.core.errors import Forbidden, Invalid
from bot.core.models import Alert, CrisisKind, DraftState, EventKind, Severity
from bot.core.ports import Once, RetryLater
from bot.core.publication import Posted, Publication, digest
from bot.core.publishing import PublishDelivery
from bot.core.rules import Route
from bot.core.service import Service
from bot.core.text import render
from bot.i18n import renderer
from bot.settings.alerts import RouteSettings
from bot.storage.memory import MemoryStore
from bot.storage.memory_rooms import MemoryRooms
from tests.unit.playworld import World, make_world

BOB, CAROL, DAVE, ERIN = "local:bob", "local:carol", "local:dave", "local:erin"
"""Bob commands, Carol approves, Dave is spokesperson, Erin has no role."""
TEXT = "We know of the outage and are restoring service. Next update at 10:00 — & <thanks>."


@dataclass
class Recorder:
    """A destination that keeps what it was given."""

    name: str
    sent: list[tuple[int, str, str | None]] = field(default_factory=list)
    updated: list[tuple[int, str, int]] = field(default_factory=list)

    async def publish(self, statement: Publication, earlier: Publication | None, *,
                      once: Once) -> Posted:
        assert statement.id is not None
        self.sent.append((statement.id, statement.text, earlier.key if earlier else None))
        return Posted(f"m{statement.id}", f"https://{self.name}.example/{statement.key}")

    async def mark_updated(self, earlier: Publication, message: str,
                           later: Publication) -> None:
        assert earlier.id is not None
        assert later.id is not None
        self.updated.append((earlier.id, message, later.id))


async def world_with(*names: str) -> tuple[World, dict[str, Recorder]]:
    world = make_world(MemoryStore())
    recorders = {name: Recorder(name) for name in names}
    world.service.publish_to = tuple(names)
    local = LocalChat(lambda lang: renderer("en"), MemoryRooms())
    world.delivery = Delivery(world.store, {"local": local}, world.service.rules,
                              PublishDelivery(world.store, world.clock, recorders))
    service = world.service
    await service.declare(BOB, "Checkout outage (internal: vendor X's fault)")
    await service.acknowledge(1, BOB)
    await service.assign(1, BOB, CAROL, "approver")
    await service.assign(1, BOB, DAVE, "spokesperson")
    await service.post_draft(1, DAVE, TEXT)
    return world, recorders


async def approved(world: World, draft: int = 1) -> None:
    await world.service.decide(1, CAROL, approve=True, draft_number=draft)


async def test_an_unapproved_draft_cannot_be_published_by_anyone() -> None:
    world, recorders = await world_with("status", "webhook")
    for person in (BOB, CAROL, DAVE, ERIN):
        with pytest.raises((Invalid, Forbidden)):
            await world.service.publish(1, person, 1)
    with pytest.raises(Invalid, match="not approved yet"):
        await world.service.publish(1, DAVE, 1)
    await world.delivery.flush()
    assert await world.service.publications(1) == []
    assert all(not r.sent for r in recorders.values())


async def test_a_rejected_draft_is_refused_with_the_reason() -> None:
    world, _recorders = await world_with("status")
    await world.service.decide(1, CAROL, approve=False, draft_number=1, reason="Too vague")
    with pytest.raises(Invalid, match="was rejected; revise it"):
        await world.service.publish(1, BOB, 1)


async def test_only_the_spokesperson_or_the_commander_publishes() -> None:
    world, _recorders = await world_with("status")
    await approved(world)
    for person in (CAROL, ERIN):
        with pytest.raises(Forbidden, match="Only a spokesperson or the commander"):
            await world.service.publish(1, person, 1)
    await world.service.publish(1, DAVE, 1)


async def test_the_approved_bytes_reach_every_destination_once() -> None:
    world, recorders = await world_with("status", "telegram", "slack", "webhook")
    await approved(world)
    publication = await world.service.publish(1, DAVE)
    assert publication.sha256 == digest(TEXT)
    await world.delivery.flush()
    await world.delivery.flush()
    for recorder in recorders.values():
        assert recorder.sent == [(publication.id, TEXT, None)]
    [stored] = await world.service.publications(1)
    assert set(stored.links) == {"status", "telegram", "slack", "webhook"}
    events = (await world.service.load(1))[2]
    delivered = [e for e in events if e.kind is EventKind.STATEMENT_DELIVERED]
    assert sorted(e.data["destination"] for e in delivered) == sorted(recorders)
    assert any(e.kind is EventKind.STATEMENT_PUBLISHED and e.data["sha256"] == digest(TEXT)
               for e in events)
    with pytest.raises(Invalid, match="published already"):
        await world.service.publish(1, DAVE, 1)


async def test_to_narrows_the_destinations_and_names_the_unknown() -> None:
    world, recorders = await world_with("status", "webhook")
    await approved(world)
    with pytest.raises(Invalid, match="“slack” is not a destination here"):
        await world.service.publish(1, DAVE, 1, to=["slack"])
    await world.service.publish(1, DAVE, 1, to=["webhook"])
    await world.delivery.flush()
    assert recorders["webhook"].sent
    assert not recorders["status"].sent


async def test_nothing_configured_is_refused() -> None:
    world, _recorders = await world_with()
    await approved(world)
    with pytest.raises(Invalid, match="no destination is configured"):
        await world.service.publish(1, DAVE, 1)


async def test_a_correction_goes_through_approval_and_marks_the_earlier_one_updated() -> None:
    world, recorders = await world_with("status", "telegram")
    await approved(world)
    first = await world.service.publish(1, DAVE, 1)
    await world.delivery.flush()
    await world.service.revise(1, 1, DAVE, "Service is restored. We are sorry.")
    with pytest.raises(Invalid, match="not approved yet"):
        await world.service.publish(1, DAVE, 1)
    with pytest.raises(Invalid, match="superseded by version 2"):
        await world.service.publish(1, DAVE, 1, version=1)
    await approved(world)
    world.clock.advance(minutes=30)
    second = await world.service.publish(1, DAVE, 1)
    await world.delivery.flush()
    assert second.replaces == first.id
    assert recorders["telegram"].sent[-1] == (second.id, "Service is restored. We are sorry.",
                                              first.key)
    assert recorders["telegram"].updated == [(first.id, f"m{first.id}", second.id)]
    earlier = next(p for p in await world.service.publications(1) if p.id == first.id)
    assert earlier.updated_at == second.at
    [board] = await world.service.status_board()
    assert [s.text for s in board.statements] == ["Service is restored. We are sorry.", TEXT]
    assert board.statements[1].updated_at == second.at


async def test_the_status_board_shows_statements_only_once_delivered_and_no_title() -> None:
    world, _recorders = await world_with("status")
    await approved(world)
    await world.service.publish(1, DAVE, 1, title="Checkout is down")
    assert await world.service.status_board() == []  # not on the page before its delivery
    await world.delivery.flush()
    [board] = await world.service.status_board()
    assert board.incident == "INC-1"
    assert board.title == "Checkout is down"
    assert "vendor" not in repr(board)


async def test_the_report_tells_time_to_publish_links_and_approvals() -> None:
    world, _recorders = await world_with("status", "webhook")
    await approved(world)
    world.clock.advance(minutes=12)
    await world.service.publish(1, DAVE, 1)
    await world.delivery.flush()
    report = "\n".join(render(line) for line in (await world.service.report(1)).lines())
    assert "| time to first published statement | 12 min |" in report
    assert "## Publications" in report
    assert f"SHA-256 {digest(TEXT)[:12]}" in report
    assert "approved by @carol (approver)" in report
    assert "https://webhook.example/INC-1-s1" in report


async def test_a_notice_delivered_again_after_its_link_was_recorded_sends_nothing() -> None:
    """A process that died after recording the link but before marking the notice done."""
    world, recorders = await world_with("webhook")
    await approved(world)
    await world.service.publish(1, DAVE, 1)
    async with world.store.unit() as unit:
        [notice] = [n for n in await unit.pending_notices(100) if n.destination == "webhook"]
    assert world.delivery.publisher is not None
    await world.delivery.publisher.deliver(notice, Once(notice.id or 0))
    await world.delivery.publisher.deliver(notice, Once(notice.id or 0, retry=True))
    assert len(recorders["webhook"].sent) == 1


async def _approved_on_a_routed_incident(world: World, publish_to: tuple[str, ...]) -> Service:
    """Incident 2, opened by an alert a routing rule publishes to `publish_to`, with its draft
    #1 approved; return the service."""
    service = world.service
    service.rules = replace(service.rules, routes=(
        Route(labels={"team": "pay"}, publish_to=publish_to),))
    await service.handle_alert(Alert("alertmanager", "k1", "pay", "Checkout errors",
                                     world.clock.now(), labels={"team": "pay"}))
    await service.acknowledge(2, BOB)
    await service.assign(2, BOB, CAROL, "approver")
    await service.post_draft(2, BOB, TEXT)
    await service.decide(2, CAROL, approve=True, draft_number=1)
    return service


async def test_a_routing_rule_narrows_where_its_incidents_publish() -> None:
    world, recorders = await world_with("status", "webhook")
    service = await _approved_on_a_routed_incident(world, ("webhook", "telegram"))
    with pytest.raises(Invalid, match="“status” is not a destination here; statements go to "
                                      "webhook"):
        await service.publish(2, BOB, 1, to=["status"])
    publication = await service.publish(2, BOB, 1)
    assert publication.destinations == ("webhook",)
    await world.delivery.flush()
    assert [text for _id, text, _earlier in recorders["webhook"].sent] == [TEXT]
    assert recorders["status"].sent == []


async def test_a_routing_rule_with_only_unconfigured_destinations_says_so() -> None:
    """Not "nothing is configured" (the status page is): the rule names only what is not."""
    world, _recorders = await world_with("status")
    service = await _approved_on_a_routed_incident(world, ("telegram",))
    with pytest.raises(Invalid, match="routing rule publishes only to telegram, and none of "
                                      "them is configured"):
        await service.publish(2, BOB, 1)


def test_a_routing_rule_names_only_known_destinations() -> None:
    route = RouteSettings.model_validate({"publish_to": ["webhook"]})
    assert route.publish_to == ["webhook"]
    with pytest.raises(ValidationError, match="publish_to"):
        RouteSettings.model_validate({"publish_to": ["twitter"]})


@dataclass
class Flaky(Recorder):
    """A destination whose first edits fail: the platform is slow to answer, or the earlier
    message cannot be edited for a while."""

    failures: int = 2

    async def mark_updated(self, earlier: Publication, message: str,
                           later: Publication) -> None:
        if self.failures:
            self.failures -= 1
            raise RetryLater("Telegram unreachable: timed out")
        await super().mark_updated(earlier, message, later)


async def test_a_correction_whose_marking_fails_is_posted_once_and_marked_on_retry() -> None:
    world, _recorders = await world_with("telegram")
    flaky = Flaky("telegram")
    assert world.delivery.publisher is not None
    world.delivery.publisher.destinations = {"telegram": flaky}
    await approved(world)
    first = await world.service.publish(1, DAVE, 1)
    await world.delivery.flush()
    await world.service.revise(1, 1, DAVE, "Service is restored.")
    await approved(world)
    second = await world.service.publish(1, DAVE, 1)
    for _attempt in range(2):
        with pytest.raises(RetryLater):
            await world.delivery.flush()
    await world.delivery.flush()
    assert [sent_id for sent_id, _text, _earlier in flaky.sent] == [first.id, second.id]
    assert flaky.updated == [(first.id, f"m{first.id}", second.id)]
    [_first, stored] = await world.service.publications(1)
    assert stored.links == {"telegram": f"https://telegram.example/{second.key}"}
    await world.delivery.flush()
    assert len(flaky.sent) == 2


async def test_a_drill_statement_never_leaves() -> None:
    """A drill rehearses drafting and approval; its statement must not reach the public."""
    world, recorders = await world_with("status", "telegram", "webhook")
    service = world.service
    drill = await service.start_drill(BOB, CrisisKind.SERVICE_OUTAGE)
    await service.acknowledge(drill.number, BOB)
    await service.set_severity(drill.number, BOB, Severity.SEV3)  # one approval
    await service.assign(drill.number, BOB, CAROL, "approver")
    await service.post_draft(drill.number, BOB, "[DRILL] We are restoring service.")
    await service.decide(drill.number, CAROL, approve=True, draft_number=1)
    [draft] = (await service.load(drill.number))[1]
    assert draft.state is DraftState.APPROVED
    with pytest.raises(Invalid, match="is a drill: its statements are not published"):
        await service.publish(drill.number, BOB, 1)
    await world.delivery.flush()
    assert await service.publications(drill.number) == []
    assert all(not r.sent for r in recorders.values())


async def test_a_destination_gone_from_the_settings_is_told_to_the_team() -> None:
    """Configured when the statement was published, missing where it is delivered (a replica
    started with other settings): the team reads why it is not out there."""
    world, recorders = await world_with("status", "webhook")
    await approved(world)
    await world.service.publish(1, DAVE, 1)
    assert world.delivery.publisher is not None
    world.delivery.publisher.destinations = {"status": recorders["status"]}
    with pytest.raises(LookupError, match="no longer configured"):
        await world.delivery.flush()
    local = world.delivery.chats["local"]
    assert isinstance(local, LocalChat)
    texts = await local.texts(await local.space_of(1))
    assert any("is not out on the webhook yet: destination 'webhook' is no longer configured"
               in text for text in texts), texts
    assert recorders["status"].sent
