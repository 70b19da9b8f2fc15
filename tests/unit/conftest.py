from __future__ import annotations

import pytest

from tests.unit.support import FakeClock, World, make_world


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(clock: FakeClock) -> World:
    return make_world(clock=clock)
