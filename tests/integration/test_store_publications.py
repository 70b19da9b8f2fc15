"""Publications and their outbox notices behave the same on every store: ids, links and
message ids kept after delivery, `updated_at` after a correction, one publication per
version, and a PUBLISH notice that names its destination and publication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.models import (
    CrisisKind,
    Draft,
    DraftVersion,
    Incident,
    Notice,
    NoticeKind,
    Severity,
    Status,
)
from bot.core.publication import Publication, digest
from bot.core.store import Store

AT = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def statement(version: int, text: str, replaces: int | None = None) -> Publication:
    return Publication(incident=1, draft=1, version=version, text=text, sha256=digest(text),
                       language="fa", destinations=("status", "telegram"),
                       at=AT + timedelta(minutes=version), by="local:bob",
                       title="قطعی پرداخت", replaces=replaces)


async def test_publications_round_trip(store: Store) -> None:
    async with store.unit() as unit:
        await unit.add_incident(Incident(1, "Internal title", CrisisKind.OTHER, Severity.SEV3,
                                         Status.RESPONDING, AT, "local:bob"))
        first = statement(1, "ما در حال بررسی هستیم.")
        await unit.add_publication(first)
        assert first.id is not None
        notice = Notice(1, NoticeKind.PUBLISH, AT, publication=first.id,
                        destination="telegram", draft=1, version=1)
        await unit.enqueue(notice)
    async with store.unit() as unit:
        [pending] = await unit.pending_notices(10)
        assert (pending.destination, pending.publication) == ("telegram", first.id)
        found = await unit.get_publication(first.id)
        assert found == first
        found.links["telegram"] = "https://t.me/c/1/2"
        found.messages["telegram"] = "2"
        found.updated_at = AT + timedelta(hours=1)
        await unit.update_publication(found)
        second = statement(2, "مشکل برطرف شد.", replaces=first.id)
        await unit.add_publication(second)
    async with store.unit() as unit:
        [one, two] = await unit.publications(1)
        assert one.links == {"telegram": "https://t.me/c/1/2"}
        assert one.messages == {"telegram": "2"}
        assert one.updated_at == AT + timedelta(hours=1)
        assert two.replaces == one.id
        assert two.text == "مشکل برطرف شد."
        assert await unit.publications(2) == []
    with pytest.raises(Exception):  # noqa: B017, PT011 - each store has its own error
        async with store.unit() as unit:
            await unit.add_publication(statement(2, "again"))


async def test_where_a_routing_rule_lets_an_incident_publish_is_kept(store: Store) -> None:
    async with store.unit() as unit:
        await unit.add_incident(Incident(1, "Routed", CrisisKind.OTHER, Severity.SEV3,
                                         Status.RESPONDING, AT, "local:bob",
                                         publish_to=("webhook", "telegram")))
        await unit.add_incident(Incident(2, "Not routed", CrisisKind.OTHER, Severity.SEV3,
                                         Status.RESPONDING, AT, "local:bob"))
    async with store.unit() as unit:
        routed, other = await unit.get_incident(1), await unit.get_incident(2)
        assert routed is not None
        assert other is not None
        assert (routed.publish_to, other.publish_to) == (("webhook", "telegram"), None)
        routed.publish_to = ()
        await unit.update_incident(routed)
    async with store.unit() as unit:
        found = await unit.get_incident(1)
        assert found is not None
        assert found.publish_to == ()


async def test_when_a_version_was_published_is_kept(store: Store) -> None:
    async with store.unit() as unit:
        await unit.add_incident(Incident(1, "Internal title", CrisisKind.OTHER, Severity.SEV3,
                                         Status.RESPONDING, AT, "local:bob"))
        await unit.add_draft(Draft(1, 1, "local:bob", AT,
                                   [DraftVersion(1, "ما در حال بررسی هستیم.", "local:bob", AT)]))
    async with store.unit() as unit:
        draft = await unit.get_draft(1, 1)
        assert draft is not None
        assert draft.current.published_at is None
        draft.current.published_at = AT + timedelta(minutes=5)
        await unit.update_draft(draft)
    async with store.unit() as unit:
        found = await unit.get_draft(1, 1)
        assert found is not None
        assert found.current.published_at == AT + timedelta(minutes=5)
