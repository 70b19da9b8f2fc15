"""The spike detector on synthetic but realistic timelines: hourly mention counts with a daily
cycle and Poisson noise, 7 days of baseline, half the cases with an injected crisis (volume x3
to x10, or a negative-share jump). Precision and recall are documented in docs/alerts.md."""

from __future__ import annotations

import math
import random

from bot.core.spikes import SpikeRule, Window, detect


def poisson(rng: random.Random, lam: float) -> int:
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def case(rng: random.Random, crisis: str | None) -> tuple[Window, list[Window]]:
    base = rng.choice([20, 60, 200, 800])
    hour = rng.randrange(24)
    level = base * (0.6 + 0.8 * math.sin(math.pi * hour / 24) ** 2)
    share = rng.uniform(0.08, 0.25)

    def window(lam: float, neg: float) -> Window:
        count = poisson(rng, lam)
        return Window(count, sum(rng.random() < neg for _ in range(count)))

    baseline = [window(level * rng.uniform(0.85, 1.15), share) for _ in range(7)]
    if crisis == "volume":
        return window(level * rng.uniform(3, 10), share), baseline
    if crisis == "negative":
        return window(level * rng.uniform(1.0, 1.5), min(0.9, share + rng.uniform(0.25, 0.5))), \
            baseline
    return window(level * rng.uniform(0.85, 1.25), share), baseline


def test_precision_and_recall_on_synthetic_timelines() -> None:
    rng = random.Random(20240514)
    tp = fp = fn = 0
    for i in range(1200):
        crisis = [None, None, "volume", "negative"][i % 4]
        current, baseline = case(rng, crisis)
        spike = detect(current, baseline).spike
        tp += spike and crisis is not None
        fp += spike and crisis is None
        fn += (not spike) and crisis is not None
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.94, precision
    assert recall >= 0.85, recall


def test_quiet_brand_needs_a_minimum_count() -> None:
    assert not detect(Window(12, 2), [Window(1)] * 7).spike
    assert detect(Window(40, 5), [Window(2)] * 7).volume
    assert detect(Window(50, 25), [Window(45, 5)] * 7, SpikeRule()).negative
