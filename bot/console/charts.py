"""Charts as inline SVG, drawn here (no chart library, nothing fetched): stacked columns, bars
and lines. Each chart travels with its numbers as a table, which is what a screen reader reads;
the SVG itself is an image named by its title."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD, AXIS = 640, 220, 8, 28
COLORS = ("#b42318", "#dc6803", "#0b57d0", "#667085", "#1a7f37", "#6941c6")

Number = Callable[[float], str]
"""A number in the reader's digits and separators."""


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup
    head: list[str]
    rows: list[list[str]]


def _svg(title: str, body: list[str], height: int = HEIGHT) -> Markup:
    return Markup(  # noqa: S704 - every text inside is escaped below
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'direction="ltr" xmlns="http://www.w3.org/2000/svg">{"".join(body)}</svg>')


def _legend(names: Sequence[str], y: float) -> list[str]:
    out, x = [], float(PAD)
    for index, name in enumerate(names):
        out.append(f'<rect x="{x:.0f}" y="{y - 9:.0f}" width="10" height="10" '
                   f'fill="{COLORS[index % len(COLORS)]}"/>'
                   f'<text x="{x + 14:.0f}" y="{y:.0f}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def stacked(title: str, columns: Sequence[str], series: Sequence[str],
            values: Sequence[Sequence[int]], number: Number) -> Chart:
    """Columns (e.g. weeks) of stacked counts, one stack part per series (e.g. severity);
    `values[c][s]` is column c's count of series s."""
    top = max([sum(v) for v in values] + [1])
    plot = HEIGHT - AXIS - 20
    step = (WIDTH - 2 * PAD) / max(len(columns), 1)
    body = []
    for c, (label, counts) in enumerate(zip(columns, values, strict=True)):
        x, y = PAD + c * step, float(20 + plot)
        for s, count in enumerate(counts):
            h = plot * count / top
            y -= h
            if count:
                body.append(f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{step - 4:.1f}" '
                            f'height="{h:.1f}" fill="{COLORS[s % len(COLORS)]}"/>')
        body.append(f'<text x="{x + step / 2:.1f}" y="{HEIGHT - AXIS + 14}" font-size="10" '
                    f'text-anchor="middle">{escape(label)}</text>')
    body += _legend(series, 12)
    rows = [[label, *map(number, counts), number(sum(counts))]
            for label, counts in zip(columns, values, strict=True)]
    return Chart(title, _svg(title, body), ["", *series, "Σ"], rows)


def bars(title: str, head: list[str], labels: Sequence[str], values: Sequence[float],
         number: Number, notes: Sequence[str] | None = None) -> Chart:
    """One horizontal bar per label; `notes` are shown after each value (e.g. a share)."""
    height = max(40, 22 * len(labels) + 10)
    top = max([*values, 1])
    left = 200
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 6 + 22 * i
        w = (WIDTH - left - 90) * value / top
        note = f" · {notes[i]}" if notes else ""
        body.append(f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
                    f"{escape(label[:34])}</text>"
                    f'<rect x="{left}" y="{y}" width="{w:.1f}" height="16" fill="{COLORS[2]}"/>'
                    f'<text x="{left + w + 4:.1f}" y="{y + 12}" font-size="11">'
                    f"{escape(number(value) + note)}</text>")
    rows = [[label, number(value), *([notes[i]] if notes else [])]
            for i, (label, value) in enumerate(zip(labels, values, strict=True))]
    return Chart(title, _svg(title, body, height), head, rows)


def lines(title: str, columns: Sequence[str], series: Sequence[str],
          values: Sequence[Sequence[float | None]], number: Number) -> Chart:
    """One line per series over the columns; a None is a gap (nothing to take a median of)."""
    known = [v for column in values for v in column if v is not None]
    top = max([*known, 1.0])
    plot = HEIGHT - AXIS - 20
    step = (WIDTH - 2 * PAD) / max(len(columns), 1)
    body = []
    for s, name in enumerate(series):
        points = [(PAD + step * (c + 0.5), 20 + plot - plot * value / top)
                  for c, column in enumerate(values) if (value := column[s]) is not None]
        color = COLORS[s % len(COLORS)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                        f'stroke-width="2"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>'
                 f"{escape(name)}</title></circle>" for x, y in points]
    for c, label in enumerate(columns):
        body.append(f'<text x="{PAD + step * (c + 0.5):.1f}" y="{HEIGHT - AXIS + 14}" '
                    f'font-size="10" text-anchor="middle">{escape(label)}</text>')
    body += _legend(series, 12)
    rows = [[label, *("—" if v is None else number(v) for v in column)]
            for label, column in zip(columns, values, strict=True)]
    return Chart(title, _svg(title, body), ["", *series], rows)
