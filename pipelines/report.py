"""The run report: one self-contained HTML file (inline CSS and SVG, no network) per pipeline run.

It is built from the stage manifests on disk, so it shows what the outputs hold, whether a stage ran
in this run or was already complete: documents in and out per stage and source, the reasons
documents were removed, and each stage's own tables (dedup matrix, tokenizer compression, mixture
shares, training loss) where that stage ran.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from curation.documents import atomic_write_bytes

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.muted{color:#777}
svg text{font:12px system-ui,sans-serif}
"""
_PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7")


def esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def table(columns: Sequence[str], rows: Sequence[Sequence]) -> str:
    """An HTML table; numbers are formatted with thousands separators."""
    def cell(v):
        if isinstance(v, float):
            return f"{v:,.3f}"
        return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else esc(v)

    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def bar_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[float]], unit: str = "") -> str:
    """A horizontal grouped bar chart as inline SVG (one group per label, one bar per series)."""
    if not labels or not series:
        return ""
    bar_h, gap, left, width = 14, 10, 220, 560
    names = list(series)
    peak = max((v for values in series.values() for v in values), default=0) or 1
    group_h = bar_h * len(names) + gap
    height = 30 + group_h * len(labels) + 20 * ((len(names) + 3) // 4)
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" '
             f'height="{height}" role="img" aria-label="{esc(title)}">',
             f'<text x="0" y="16" font-weight="bold">{esc(title)}</text>']
    for i, label in enumerate(labels):
        y0 = 28 + i * group_h
        parts.append(f'<text x="{left - 6}" y="{y0 + bar_h * len(names) / 2 + 4}" text-anchor="end">'
                     f"{esc(label)}</text>")
        for j, name in enumerate(names):
            value = series[name][i]
            w = max(1.0, width * value / peak)
            y = y0 + j * bar_h
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                         f'fill="{_PALETTE[j % len(_PALETTE)]}"><title>{esc(name)}: {value:,.3f}</title></rect>')
            parts.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}">{_number(value)}{esc(unit)}</text>')
    legend_y = 28 + group_h * len(labels) + 4
    for j, name in enumerate(names):
        x, y = left + (j % 4) * 150, legend_y + (j // 4) * 20
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{_PALETTE[j % len(_PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{y + 10}">{esc(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, xs: Sequence[float], series: dict[str, Sequence[float]], x_label: str) -> str:
    """A line chart as inline SVG."""
    points = [(x, y) for ys in series.values() for x, y in zip(xs, ys)]
    if len(points) < 2:
        return ""
    width, height, left, top = 640, 260, 50, 24
    x0, x1 = min(xs), max(xs) or 1
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    y1 = y1 if y1 > y0 else y0 + 1

    def sx(x):
        return left + (x - x0) / ((x1 - x0) or 1) * (width - left - 10)

    def sy(y):
        return top + (1 - (y - y0) / (y1 - y0)) * (height - top - 30)

    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{esc(title)}"><text x="0" y="14" font-weight="bold">{esc(title)}</text>',
             f'<text x="{left}" y="{height - 6}">{esc(x_label)} {x0:,.0f} .. {x1:,.0f}</text>',
             f'<text x="0" y="{top + 10}">{y1:.3g}</text><text x="0" y="{height - 30}">{y0:.3g}</text>']
    for j, (name, ys) in enumerate(series.items()):
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
        parts.append(f'<polyline fill="none" stroke="{_PALETTE[j % len(_PALETTE)]}" stroke-width="2" '
                     f'points="{path}"><title>{esc(name)}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def stage_section(title: str, rows: list[dict]) -> str:
    """Documents in and out per source for one stage, as a table and a chart."""
    if not rows:
        return ""
    columns = ["source", "docs_in", "docs_out", "removed", "mb_out", "skipped"]
    body = table(["source", "documents in", "documents out", "removed", "MB out", "already complete"],
                 [[r.get(c) for c in columns] for r in rows])
    chart = bar_chart(f"{title}: documents per source", [r["source"] for r in rows],
                      {"in": [r["docs_in"] for r in rows], "out": [r["docs_out"] for r in rows]})
    return f"<h2>{esc(title)}</h2>{body}{chart}"


def _reason_group(name: str) -> str:
    """'rejected:lang_not_allowed:ko' -> 'rejected:lang_not_allowed': one row per reason, not per detail."""
    return ":".join(name.split(":")[:2])


def reasons_section(title: str, counts: dict[str, dict[str, int]], prefixes: Sequence[str]) -> str:
    """Why documents were removed: counts per reason and source (names like 'rejected:gambling')."""
    grouped: dict[str, dict[str, int]] = {}
    for source, named in counts.items():
        for name, value in named.items():
            if name.startswith(tuple(prefixes)) and value:
                by_source = grouped.setdefault(_reason_group(name), {})
                by_source[source] = by_source.get(source, 0) + value
    if not grouped:
        return ""
    reasons = sorted(grouped)
    sources = sorted({s for by_source in grouped.values() for s in by_source})
    rows = [[reason] + [grouped[reason].get(s, 0) for s in sources] for reason in reasons]
    totals = [sum(grouped[r].values()) for r in reasons]
    chart = bar_chart(f"{title}: removals by reason", [r.split(":", 1)[-1] for r in reasons], {"documents": totals})
    return f"<h3>{esc(title)}: why documents were removed</h3>{table(['reason'] + sources, rows)}{chart}"


def write_report(path: str | Path, title: str, sections: Sequence[str | Callable[[], str]],
                 summary: dict | None = None) -> Path:
    """Write the report atomically and return its path."""
    path = Path(path)
    rendered = [s() if callable(s) else s for s in sections]
    meta = ("<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in (summary or {}).items())
            + "</table>")
    page = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{esc(title)}</h1>"
            f"<p class='muted'>written {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC</p>{meta}"
            + "".join(rendered) + "</body></html>")
    atomic_write_bytes(path, page.encode("utf-8"))
    return path
