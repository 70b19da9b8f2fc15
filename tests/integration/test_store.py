"""The Store contract, run against every implementation (see the `store` fixture): whatever the
core writes through a unit comes back equal, constraints hold, and a failed unit leaves nothing."""

from __future__ import annotations

import asyncio
import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError

from bot.core.models import (
    Alert,
    AlertStatus,
    CrisisKind,
    Decision,
    Draft,
    DraftState,
    DraftVersion,
    EventKind,
    Incident,
    MentionMinute,
    Notice,
    NoticeKind,
    RawDelivery,
    Severity,
    Space,
    Status,
    TimelineEvent,
    any_role,
    role_name,
)
from bot.core.store import Store
from bot.core.text import Either, Joined, Percent, Prefixed, Text, Who, render
from bot.storage.memory import MemoryStore
from bot.storage.sql.codec import decode_text, encode_text
from bot.storage.sql.store import SqlStore

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_incident(number: int, **fields) -> Incident:
    values = {"title": f"Incident {number}", "kind": CrisisKind.DISINFORMATION,
              "severity": Severity.SEV2, "status": Status.TRIGGERED, "created_at": T0,
              "created_by": "local:alice"}
    return Incident(number=number, **{**values, **fields})


def make_draft(incident: int, number: int = 1, **fields) -> Draft:
    values = {"author": "local:alice", "created_at": at(5),
              "versions": [DraftVersion(1, "We are looking into it.", "local:alice", at(5))]}
    return Draft(incident, number, **{**values, **fields})


def make_alert(key: str, incident: int | None = None, **fields) -> Alert:
    values = {"source": "generic", "group_key": "g", "title": f"alert {key}", "received_at": T0}
    return Alert(dedup_key=key, incident=incident, **{**values, **fields})


def duplicate(store: Store) -> type[Exception]:
    """The memory store refuses duplicates itself; on SQL only a constraint does."""
    return ValueError if isinstance(store, MemoryStore) else IntegrityError


def sql_only(store: Store) -> None:
    if isinstance(store, MemoryStore):
        pytest.skip("about the SQL store only")


async def add_incidents(store: Store, *incidents: Incident) -> None:
    async with store.unit() as unit:
        for incident in incidents:
            await unit.add_incident(incident)


# -- incidents -------------------------------------------------------------------------------


async def test_incident_round_trip_keeps_roles_order_and_space(store: Store) -> None:
    incident = make_incident(
        1, acknowledged_at=at(1), platform="slack", summary_message="1700.01",
        space=Space("slack", "C123", "1700.00"), group_key="grp", language="fa", drill=True,
        roles={"commander": ["local:alice"], "approver": ["local:carol", "local:bob"],
               "legal": ["local:dan"]},
    )
    await add_incidents(store, incident)

    async with store.unit() as unit:
        loaded = await unit.get_incident(1)
        missing = await unit.get_incident(2)

    assert loaded == incident
    assert list(loaded.roles) == ["commander", "approver", "legal"]
    assert loaded.roles["approver"] == ["local:carol", "local:bob"]
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert missing is None


async def test_update_incident_rewrites_fields_and_roles(store: Store) -> None:
    await add_incidents(store, make_incident(
        1, roles={"approver": ["local:bob"], "commander": ["local:alice"]}))
    async with store.unit() as unit:
        incident = await unit.get_incident(1)
        incident.status, incident.resolved_at = Status.RESOLVED, at(30)
        incident.space = Space("telegram", "-100123", "42")
        # Same people, other order: must not trip over (incident, role, person).
        incident.roles = {"commander": ["local:alice"], "approver": ["local:bob", "local:eve"]}
        await unit.update_incident(incident)
        assert await unit.get_incident(1) == incident

    async with store.unit() as unit:
        assert await unit.get_incident(1) == incident
        incident.roles = {}
        await unit.update_incident(incident)
    async with store.unit() as unit:
        assert (await unit.get_incident(1)).roles == {}


async def test_update_of_unknown_incident_is_refused(store: Store) -> None:
    with pytest.raises(LookupError):
        async with store.unit() as unit:
            await unit.update_incident(make_incident(9))


async def test_duplicate_incident_number_is_refused(store: Store) -> None:
    await add_incidents(store, make_incident(1))
    with pytest.raises(duplicate(store)):
        await add_incidents(store, make_incident(1, title="again"))


async def test_incidents_resolved_since_are_the_open_ones_and_the_recent(store: Store) -> None:
    """What a scheduler tick reads: not every incident ever resolved."""
    await add_incidents(
        store, make_incident(1),
        make_incident(2, status=Status.RESOLVED, resolved_at=at(10)),
        make_incident(3, status=Status.RESOLVED, resolved_at=at(30)),
        make_incident(4, status=Status.MONITORING))
    async with store.unit() as unit:
        assert [i.number for i in await unit.incidents(resolved_since=at(30))] == [1, 3, 4]
        assert [i.number for i in await unit.incidents(resolved_since=at(31))] == [1, 4]
        assert [i.number for i in await unit.incidents(open_only=True)] == [1, 4]
        assert [i.number for i in await unit.incidents()] == [1, 2, 3, 4]


async def test_incident_by_space(store: Store) -> None:
    await add_incidents(store, make_incident(1, space=Space("slack", "C1")),
                        make_incident(2, space=Space("slack", "C2", "t")), make_incident(3))
    async with store.unit() as unit:
        assert (await unit.incident_by_space("slack", "C2")).number == 2
        assert (await unit.incident_by_space("slack", "C1")).number == 1
        assert await unit.incident_by_space("telegram", "C1") is None


async def test_open_incident_by_group_ignores_resolved(store: Store) -> None:
    await add_incidents(
        store,
        make_incident(1, group_key="db", status=Status.RESOLVED, resolved_at=at(9)),
        make_incident(2, group_key="db", status=Status.MONITORING),
        make_incident(3, group_key="web", status=Status.RESOLVED, resolved_at=at(9)),
        make_incident(4),
    )
    async with store.unit() as unit:
        assert await unit.open_incidents_by_group(["db", "web", "none"]) == {"db": 2}
        assert [i.number for i in await unit.incidents()] == [1, 2, 3, 4]
        assert [i.number for i in await unit.incidents(open_only=True)] == [2, 4]


async def test_look_up_batch_reads_seen_keys_and_open_groups_at_once(store: Store) -> None:
    await add_incidents(
        store,
        make_incident(1, group_key="db", status=Status.RESOLVED, resolved_at=at(9)),
        make_incident(2, group_key="db"),
        make_incident(3, group_key="db"),
        make_incident(4, group_key="web", status=Status.RESOLVED, resolved_at=at(9)),
    )
    async with store.unit() as unit:
        await unit.add_alerts([make_alert("am:1", incident=2), make_alert("am:2")])
    async with store.unit() as unit:
        assert await unit.look_up_batch(["am:1", "am:2", "am:3"], ["db", "web", "none"]) == (
            {"am:1", "am:2"}, {"db": 2})
        assert await unit.look_up_batch([], []) == (set(), {})
        # Group keys and dedup keys live apart: a group named like a stored key is no key.
        assert await unit.look_up_batch(["db"], ["am:1"]) == (set(), {})


async def test_deliveries_come_back_with_their_ids_in_order(store: Store) -> None:
    bodies = [f'{{"n": {n}}}'.encode() for n in range(7)]
    async with store.unit() as unit:
        ids = await unit.add_deliveries([
            RawDelivery("alertmanager", at(n), body, {"user-agent": f"am/{n}"},
                        webhook_id=f"w{n}" if n % 2 else None)
            for n, body in enumerate(bodies)])
        assert await unit.add_deliveries([]) == []
    async with store.unit() as unit:
        stored = await unit.deliveries()
    assert [d.id for d in stored] == ids == sorted(ids)
    assert [(d.body, d.received_at, dict(d.headers), d.webhook_id) for d in stored] == [
        (body, at(n), {"user-agent": f"am/{n}"}, f"w{n}" if n % 2 else None)
        for n, body in enumerate(bodies)]


# -- drafts ----------------------------------------------------------------------------------


def decided_draft() -> Draft:
    return make_draft(
        1, target="https://example.org/post/1", state=DraftState.PENDING,
        versions=[DraftVersion(1, "First try.", "local:alice", at(5), message="m1"),
                  DraftVersion(2, "Second try.", "local:alice", at(8))],
        decisions=[
            Decision(1, "local:bob", True, at(6), step=0, role="approver"),
            Decision(1, "local:dan", False, at(7), role="legal", reason="Names a customer."),
            Decision(2, "local:bob", True, at(9), step=0, role="approver"),
        ],
    )


async def test_draft_round_trip_with_versions_and_decisions(store: Store) -> None:
    await add_incidents(store, make_incident(1), make_incident(2))
    draft = decided_draft()
    async with store.unit() as unit:
        await unit.add_draft(draft)
        await unit.add_draft(make_draft(1, 2))
        await unit.add_draft(make_draft(2, 1))

    async with store.unit() as unit:
        assert await unit.get_draft(1, 1) == draft
        assert [d.number for d in await unit.drafts(1)] == [1, 2]
        assert await unit.get_draft(1, 3) is None
        assert await unit.get_draft(3, 1) is None


async def test_update_draft_adds_history_and_replays_are_idempotent(store: Store) -> None:
    await add_incidents(store, make_incident(1))
    draft = decided_draft()
    async with store.unit() as unit:
        await unit.add_draft(draft)

    draft.versions[1].message = "m2"
    draft.versions.append(DraftVersion(3, "Third try.", "local:carol", at(10)))
    draft.decisions.append(Decision(3, "local:bob", True, at(11), step=0, role="approver"))
    draft.decisions.append(Decision(3, "local:eve", True, at(12), step=0, role="approver"))
    draft.state = DraftState.APPROVED
    async with store.unit() as unit:
        await unit.update_draft(draft)
    async with store.unit() as unit:
        await unit.update_draft(copy.deepcopy(draft))  # the same decisions again: no change

    async with store.unit() as unit:
        assert await unit.get_draft(1, 1) == draft


async def test_duplicate_draft_and_unknown_draft_are_refused(store: Store) -> None:
    await add_incidents(store, make_incident(1))
    async with store.unit() as unit:
        await unit.add_draft(make_draft(1))
    with pytest.raises(duplicate(store)):
        async with store.unit() as unit:
            await unit.add_draft(make_draft(1))
    with pytest.raises(LookupError):
        async with store.unit() as unit:
            await unit.update_draft(make_draft(1, 7))


async def test_duplicate_decision_is_refused(store: Store) -> None:
    """Two decisions by one person on one version: on SQL only the UNIQUE constraint stops it."""
    await add_incidents(store, make_incident(1))
    twice = [Decision(1, "local:bob", True, at(6)), Decision(1, "local:bob", False, at(7))]
    with pytest.raises(duplicate(store)):
        async with store.unit() as unit:
            await unit.add_draft(make_draft(1, decisions=twice))

    async with store.unit() as unit:
        await unit.add_draft(make_draft(1))
    draft = make_draft(1, decisions=twice)
    with pytest.raises(duplicate(store)):
        async with store.unit() as unit:
            await unit.update_draft(draft)
    async with store.unit() as unit:
        assert (await unit.get_draft(1, 1)).decisions == []


# -- alerts ----------------------------------------------------------------------------------


async def test_alerts_round_trip_and_dedup(store: Store) -> None:
    await add_incidents(store, make_incident(1))
    full = make_alert(
        "am:abc", incident=1, status=AlertStatus.FIRING, description="Mentions spiking",
        severity=Severity.SEV1, kind=CrisisKind.TROLLING, url="https://grafana/x",
        labels={"team": "smm", "ünïcode": "ок"}, occurred_at=at(-3),
        metrics={"mentions": 1520.0, "negative_share": 0.83},
    )
    loose = make_alert("am:def")
    async with store.unit() as unit:
        assert await unit.alerts_seen(["am:abc"]) == set()
        await unit.add_alerts([full, loose])
        assert await unit.alerts_seen(["am:abc", "am:zzz"]) == {"am:abc"}

    async with store.unit() as unit:
        [stored] = await unit.alerts(1)
        assert stored.id is not None
        assert replace(stored, id=None) == replace(full, id=None)
        assert await unit.alerts_seen(["am:def", "am:zzz"]) == {"am:def"}
    async with store.unit() as unit:  # stored by someone else since we looked: skipped
        assert await unit.add_alerts([make_alert("am:abc", title="re-delivered"),
                                      make_alert("am:new")]) == 1
    async with store.unit() as unit:
        assert [a.title for a in await unit.alerts(1)] == [full.title]


async def test_digest_windows_and_untold_alerts(store: Store) -> None:
    await add_incidents(store, make_incident(1), make_incident(2))
    async with store.unit() as unit:
        await unit.start_digest(1, at(0))
        await unit.start_digest(1, at(5))  # has one: no change
        await unit.add_alerts([
            make_alert("a", incident=1, fingerprint="fp-a"),
            make_alert("b", incident=1),
            make_alert("c", incident=1, fingerprint="fp-c"),
            make_alert("d", incident=2),
        ], untold={"a", "b", "d"})
    async with store.unit() as unit:
        assert await unit.digest_windows([1, 2]) == {1: at(0)}
        assert await unit.untold_incidents() == [1, 2]
        assert await unit.claim_digest(1, at(0), at(60))
        assert not await unit.claim_digest(1, at(0), at(61))  # that window was told
        assert sorted(await unit.tell_untold(1)) == ["b", "fp-a"]
        assert await unit.tell_untold(1) == []
        assert await unit.untold_incidents() == [2]
        assert await unit.digest_windows([1]) == {1: at(60)}


async def test_mention_minutes_sum_per_topic_and_minute(store: Store) -> None:
    minute = T0.replace(second=0, microsecond=0)
    async with store.unit() as unit:
        await unit.add_mentions([MentionMinute("brand", minute, 3, 1, 100.0),
                                 MentionMinute("other", minute, 7, 0, 0.0)])
    async with store.unit() as unit:
        await unit.add_mentions([MentionMinute("brand", minute, 2, 2, 50.0),
                                 MentionMinute("brand", minute + timedelta(minutes=1), 1)])
    async with store.unit() as unit:
        series = await unit.mentions("brand", minute)
        later = await unit.mentions("brand", minute + timedelta(seconds=30))
    assert series == [MentionMinute("brand", minute, 5, 3, 150.0),
                      MentionMinute("brand", minute + timedelta(minutes=1), 1, 0, 0.0)]
    assert later == series[1:]


# -- timeline --------------------------------------------------------------------------------


async def test_timeline_keeps_order_and_data(store: Store) -> None:
    await add_incidents(store, make_incident(1), make_incident(2))
    events = [
        TimelineEvent(1, at(0), EventKind.DECLARED, "local:alice",
                      {"title": "Fake", "severity": "SEV2"}),
        TimelineEvent(2, at(0), EventKind.DECLARED, "crisisbot", {}),
        TimelineEvent(1, at(0), EventKind.NOTE, "local:bob", {"text": "same minute, later"}),
        TimelineEvent(1, at(2), EventKind.DRAFT_APPROVED, None,
                      {"approvers": ["local:bob", "local:eve"], "role": None, "draft": 1}),
    ]
    async with store.unit() as unit:
        for event in events:
            await unit.append(event)

    async with store.unit() as unit:
        first = await unit.timeline(1)
        second = await unit.timeline(2)
    assert [(e.kind, e.actor, dict(e.data)) for e in first] == [
        (e.kind, e.actor, e.data) for e in events if e.incident == 1]
    assert [e.at for e in first] == [at(0), at(0), at(2)]
    seqs = [e.seq for e in first]
    assert None not in seqs
    assert seqs == sorted(set(seqs))
    assert [e.kind for e in second] == [EventKind.DECLARED]


# -- notices ---------------------------------------------------------------------------------

NESTED = Text(
    "{person} approved draft #{number}{reason}. Approved by {people}.",
    {"person": Who("telegram:93372553"), "number": 2,
     "reason": Prefixed(": ", Text("because {why}", {"why": Who("slack:U1")})),
     "people": Joined((Who("local:bob"), "someone else", Text("the {role}", {"role": "legal"}))),
     "share": 0.5, "drill": False, "missing": None,
     # typed values the renderer formats per locale come back typed
     "role": role_name("spokesperson", capital=True), "roles": any_role(["approver", "legal"]),
     "negative": Percent(67), "change": Percent(-5, signed=True), "at": T0,
     "clock": T0.time(), "took": timedelta(minutes=92)},
    plural="{person} approved drafts", count=2,
)


def test_text_codec_is_lossless() -> None:
    data = encode_text(NESTED)
    back = decode_text(data)
    assert back == NESTED
    assert render(back) == render(NESTED)
    assert type(back.params["people"]) is Joined
    assert type(back.params["reason"]) is Prefixed
    assert type(back.params["reason"][1]) is Text
    assert type(back.params["roles"]) is Either
    with pytest.raises(TypeError):
        encode_text(Text("{where}", {"where": Path("/tmp")}))


async def test_notices_round_trip_pending_and_done(store: Store) -> None:
    await add_incidents(store, make_incident(1), make_incident(2))
    notices = [
        Notice(1, NoticeKind.OPEN_SPACE, at(0)),
        Notice(1, NoticeKind.MESSAGE, at(1), text=NESTED, draft=2, version=1,
               thread_of_draft=True),
        Notice(2, NoticeKind.INVITE, at(1), person="local:bob"),
        Notice(1, NoticeKind.DIRECT, at(2), text=Text("Hello {who}", {"who": Who("local:x")}),
               person="local:x", message="m7"),
    ]
    async with store.unit() as unit:
        for notice in notices:
            await unit.enqueue(notice)
    ids = [n.id for n in notices]
    assert None not in ids
    assert ids == sorted(set(ids))

    async with store.unit() as unit:
        assert await unit.pending_notices(10) == notices
        assert await unit.pending_notices(2) == notices[:2]
        await unit.notice_done(notices[1].id)
        await unit.notice_done(notices[1].id)
        await unit.notice_done(notices[2].id)
    async with store.unit() as unit:
        pending = await unit.pending_notices(10)
    assert pending == [notices[0], notices[3]]
    assert render(pending[1].text) == "Hello @x"


# -- units -----------------------------------------------------------------------------------


async def test_rollback_on_exception_leaves_nothing(store: Store) -> None:
    class Boom(Exception):
        pass

    async def write_everything_then_fail() -> None:
        async with store.unit() as unit:
            number = await unit.next_incident_number()
            await unit.add_incident(make_incident(number, group_key="g"))
            await unit.add_draft(make_draft(number))
            await unit.add_alerts([make_alert("k", incident=number)])
            await unit.append(TimelineEvent(number, T0, EventKind.DECLARED, "local:alice"))
            await unit.enqueue(Notice(number, NoticeKind.SUMMARY, T0))
            raise Boom

    with pytest.raises(Boom):
        await write_everything_then_fail()

    async with store.unit() as unit:
        assert await unit.incidents() == []
        assert await unit.get_incident(1) is None
        assert await unit.open_incidents_by_group(["g"]) == {}
        assert await unit.drafts(1) == []
        assert await unit.alerts_seen(["k"]) == set()
        assert await unit.timeline(1) == []
        assert await unit.pending_notices(10) == []
        assert await unit.next_incident_number() == 1


async def test_a_unit_inside_a_unit_joins_it_as_a_savepoint(store: Store) -> None:
    """What `Service.together` relies on: an inner unit commits with the outer one; a failed
    inner unit undoes only its own writes; a failed outer unit undoes everything."""

    class Boom(Exception):
        pass

    async def declare(then_fail: bool) -> None:
        async with store.unit() as inner:
            await inner.add_incident(make_incident(await inner.next_incident_number()))
            if then_fail:
                raise Boom

    async def claim_declare_and_fail() -> None:
        async with store.unit() as outer:
            assert await outer.first_sight("telegram:2", T0)
            await declare(then_fail=False)
            raise Boom

    async with asyncio.timeout(5):  # a unit waiting on its own would hang here
        async with store.unit() as outer:
            assert await outer.first_sight("telegram:1", T0)
            await declare(then_fail=False)
            with pytest.raises(Boom):
                await declare(then_fail=True)
            assert [i.number for i in await outer.incidents()] == [1]
        with pytest.raises(Boom):
            await claim_declare_and_fail()
    async with store.unit() as unit:
        assert [i.number for i in await unit.incidents()] == [1]
        assert not await unit.first_sight("telegram:1", T0)
        assert await unit.first_sight("telegram:2", T0)


async def test_next_incident_number_is_sequential(store: Store) -> None:
    async with store.unit() as unit:
        assert [await unit.next_incident_number() for _ in range(3)] == [1, 2, 3]
    async with store.unit() as unit:
        assert await unit.next_incident_number() == 4


async def test_next_incident_number_is_safe_under_concurrency(store: Store) -> None:
    async def declare() -> int:
        async with store.unit() as unit:
            number = await unit.next_incident_number()
            await asyncio.sleep(0.005)  # keep the transactions overlapping
            await unit.add_incident(make_incident(number))
            return number

    numbers = await asyncio.gather(*(declare() for _ in range(20)))
    assert sorted(numbers) == list(range(1, 21))
    async with store.unit() as unit:
        assert [i.number for i in await unit.incidents()] == list(range(1, 21))


# -- SQL specifics ---------------------------------------------------------------------------


async def test_times_come_back_aware_utc_and_naive_is_refused(store: Store) -> None:
    sql_only(store)
    tehran = timezone(timedelta(hours=3, minutes=30))
    await add_incidents(store, make_incident(1, created_at=datetime(2025, 3, 1, 12, 30,
                                                                    tzinfo=tehran)))
    async with store.unit() as unit:
        created = (await unit.get_incident(1)).created_at
    assert created == T0
    assert created.tzinfo is UTC
    with pytest.raises(StatementError):
        await add_incidents(store, make_incident(2, created_at=datetime(2025, 3, 1)))


async def test_ping(store: Store) -> None:
    sql_only(store)
    assert await store.ping()
    unreachable = SqlStore("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    try:
        assert not await unreachable.ping()
    finally:
        await unreachable.close()


async def test_sqlite_connection_settings(sqlite_url: str) -> None:
    store = SqlStore(sqlite_url)
    try:
        async with store.unit() as unit:
            pragmas = {name: (await unit._s.execute(text(f"PRAGMA {name}"))).scalar()
                       for name in ("journal_mode", "foreign_keys", "busy_timeout")}
    finally:
        await store.close()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10}


async def test_a_unit_waits_for_another_writer_without_blocking_the_loop(sqlite_url: str) -> None:
    """Two stores on one file stand for two processes (serve and a CLI command): while one
    holds the write lock, the other's unit waits, and the event loop keeps running."""
    holder, waiter = SqlStore(sqlite_url), SqlStore(sqlite_url)
    ticks = 0
    held, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with holder.unit() as unit:
            await unit.add_incident(make_incident(1))
            held.set()
            await release.wait()

    async def tick() -> None:
        nonlocal ticks
        while not release.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> None:
        await held.wait()
        async with waiter.unit() as unit:
            await unit.add_incident(make_incident(2))

    async def let_go() -> None:
        await asyncio.sleep(0.3)
        release.set()

    try:
        await asyncio.gather(hold(), tick(), write(), let_go())
        async with waiter.unit() as unit:
            assert [i.number for i in await unit.incidents()] == [1, 2]
    finally:
        await holder.close()
        await waiter.close()
    assert ticks >= 10  # the loop ran while the second unit waited for the lock


def test_only_sqlite_and_postgres_are_accepted() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        SqlStore("mysql+aiomysql://root@localhost/db")
