from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.slack.fake_slack import FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    await slack.start()
    try:
        yield slack
    finally:
        await slack.stop()
