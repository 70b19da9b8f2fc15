"""The post-incident report as one self-contained HTML page, with the mention chart as SVG.

It converts the report's own Markdown (the small subset `core/report.py` writes: headings, list
items, tables, paragraphs and one fenced `chart` block) rather than keeping a second layout in
step, and draws the chart itself — no plotting library, nothing fetched by the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from bot.core.series import Series
from bot.core.text import Percent, Text, _, render

RTL = frozenset({"fa", "ar", "he"})
STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#1b1f24}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .6rem}
th{background:#f6f8fa}ul{padding-inline-start:1.4rem}pre{background:#f6f8fa;padding:.6rem}
svg{max-width:100%;height:auto}
"""


Render = Callable[[Text], str]


def html_report(lines: Sequence[str], *, language: str, series: Series | None,
                chart_labels: tuple[str, str] = ("mentions", "negative %"),
                words: Render = render) -> str:
    """`lines` are the rendered Markdown lines; the `chart` block becomes the SVG chart, its
    times and numbers written by `words` (the report's renderer)."""
    title = lines[0].lstrip("# ") if lines else ""
    direction = "rtl" if language in RTL else "ltr"
    body = _body(lines, series, chart_labels, words)
    return (f'<!doctype html>\n<html lang="{escape(language)}" dir="{direction}">\n<head>\n'
            f'<meta charset="utf-8">\n<title>{escape(title)}</title>\n<style>{STYLE}</style>\n'
            f"</head>\n<body>\n{body}\n</body>\n</html>\n")


def _body(lines: Sequence[str], series: Series | None, labels: tuple[str, str],
          words: Render) -> str:
    out: list[str] = []
    open_list: list[int] = []  # indentation of each open <ul>
    table: list[list[str]] = []
    fence: list[str] | None = None
    fence_kind = ""

    def close_lists(depth: int = 0) -> None:
        while len(open_list) > depth:
            open_list.pop()
            out.append("</ul>")

    def flush_table() -> None:
        if not table:
            return
        head, *rows = table
        out.append("<table><thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in head)
                   + "</tr></thead><tbody>")
        out.extend("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
        out.append("</tbody></table>")
        table.clear()

    for raw in lines:
        if fence is not None:
            if raw.strip() == "```":
                out.append(svg_chart(series, labels, words) if fence_kind == "chart" and series
                           else "<pre>" + escape("\n".join(fence)) + "</pre>")
                fence = None
            else:
                fence.append(raw)
            continue
        line = raw.rstrip()
        if line.startswith("```"):
            close_lists()
            flush_table()
            fence, fence_kind = [], line[3:].strip()
            continue
        if line.startswith("|"):
            close_lists()
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(set(c) <= {"-", ":"} for c in cells):
                table.append(cells)
            continue
        flush_table()
        stripped = line.lstrip(" ")
        if stripped.startswith("- "):
            indent = len(line) - len(stripped)
            while open_list and open_list[-1] > indent:
                open_list.pop()
                out.append("</ul>")
            if not open_list or open_list[-1] < indent:
                open_list.append(indent)
                out.append("<ul>")
            out.append(f"<li>{escape(stripped[2:])}</li>")
            continue
        close_lists()
        if not line:
            continue
        level = len(line) - len(line.lstrip("#"))
        if 0 < level <= 6 and line[level:level + 1] == " ":
            out.append(f"<h{level}>{escape(line[level + 1:])}</h{level}>")
        else:
            out.append(f"<p>{escape(line)}</p>")
    close_lists()
    flush_table()
    return "\n".join(out)


WIDTH, HEIGHT, PAD = 720, 260, 40


def svg_chart(series: Series, labels: tuple[str, str], words: Render = render) -> str:
    """Bars for mention volume (left axis), a line for the negative share (right axis, 0–100%),
    the peak bar marked."""
    points = series.points
    top = max(p.count for p in points) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    slot = inner_w / len(points)
    bar_w = max(1.0, slot * 0.7)
    peak = series.peak
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'role="img" aria-label="{escape(labels[0])}" direction="ltr">',
             f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
             f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
             'stroke="#57606a"/>']
    line: list[str] = []
    for index, point in enumerate(points):
        x = PAD + index * slot + (slot - bar_w) / 2
        h = inner_h * point.count / top
        fill = "#cf222e" if point is peak else "#0969da"
        tip = words(Text("{time} · {count} · {negative}", {
            "time": point.at.time(), "count": point.count,
            "negative": Percent(point.negative_share)}))
        parts.append(f'<rect x="{x:.1f}" y="{HEIGHT - PAD - h:.1f}" width="{bar_w:.1f}" '
                     f'height="{h:.1f}" fill="{fill}"><title>{escape(tip)}</title></rect>')
        y = HEIGHT - PAD - inner_h * point.negative_share / 100
        line.append(f"{x + bar_w / 2:.1f},{y:.1f}")
    parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="#bf8700" '
                 'stroke-width="2"/>')
    step = max(1, len(points) // 6)
    for index in range(0, len(points), step):
        x = PAD + index * slot + slot / 2
        tick = words(Text("{time}", {"time": points[index].at.time()}))
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - PAD + 16}" font-size="11" '
                     f'text-anchor="middle">{escape(tick)}</text>')
    legend = words(_("{label} (max {top})", label=labels[0], top=top))
    parts += [
        f'<text x="{PAD}" y="{PAD - 12}" font-size="12" fill="#0969da">'
        f"{escape(legend)}</text>",
        f'<text x="{WIDTH - PAD}" y="{PAD - 12}" font-size="12" fill="#bf8700" '
        f'text-anchor="end">{escape(labels[1])}</text>',
        "</svg>",
    ]
    return "\n".join(parts)
