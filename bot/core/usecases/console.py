"""What the web console reads besides incidents: the insights across weeks."""

from __future__ import annotations

from datetime import timedelta

from bot.core.insights import Insights, insights, reports_since
from bot.core.tx import Tx


async def weekly_insights(tx: Tx, weeks: int) -> Insights:
    """The `weeks` weeks up to now."""
    since = tx.now - timedelta(weeks=weeks)
    return insights(await reports_since(tx.unit, since), since, tx.now)
