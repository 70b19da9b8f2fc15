"""Chat event ids are remembered long enough to drop re-deliveries, not forever."""

from __future__ import annotations

from tests.unit.support import make_world


async def test_the_tick_forgets_event_ids_after_two_days() -> None:
    world = make_world()
    async with world.store.unit() as unit:
        assert await unit.first_sight("slack:Ev1", world.clock.now())
    world.clock.advance(days=1, hours=23)
    await world.service.tick()
    async with world.store.unit() as unit:
        assert not await unit.first_sight("slack:Ev1", world.clock.now())  # a retry: dropped
    world.clock.advance(hours=2)
    await world.service.tick()
    async with world.store.unit() as unit:
        assert await unit.first_sight("slack:Ev1", world.clock.now())  # forgotten
