"""The experiment report: bits per byte per variant and domain (mean, seed range), verdicts, curves.

One self-contained HTML file per experiment (pipelines.report's write_report and inline SVG charts),
and the same table as Markdown for docs (`markdown_table`).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.experiment import per_variant
from pipelines.experiment_verdict import RULE, summarize
from pipelines.report import bar_chart, esc, line_chart, table, write_report


def result_rows(results: dict) -> tuple[list[str], list[list]]:
    """(domains, rows): per variant, per domain 'mean (min..max)' strings, plus its seeds."""
    values = per_variant(results["runs"])
    domains = sorted({d for v in values.values() for d in v})
    rows = []
    for variant in results["config"]["variants"]:
        cells = []
        for domain in domains:
            seeds = values.get(variant, {}).get(domain)
            if seeds:
                s = summarize(seeds)
                cells.append(f"{s.mean:.4f} ({s.low:.4f}..{s.high:.4f})")
            else:
                cells.append("")
        rows.append([variant, *cells, len(values.get(variant, {}).get(domains[0], [])) if domains else 0])
    return domains, rows


def markdown_table(results: dict) -> str:
    domains, rows = result_rows(results)
    head = ["variant", *[f"{d} bpb" for d in domains], "seeds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown_verdicts(results: dict) -> str:
    return "\n".join(f"- {v['b']} vs {v['a']}: {v['text']}" for v in results["verdicts"])


def _curves(results: dict) -> str:
    """Per domain, mean bits per byte over the seeds at each evaluation, one line per variant."""
    charts = []
    by_variant: dict[str, dict[int, dict[str, list[float]]]] = {}
    for r in results["runs"]:
        for point in r.get("curve", []):
            for domain, value in point["bits_per_byte"].items():
                steps = by_variant.setdefault(r["variant"], {})
                steps.setdefault(point["step"], {}).setdefault(domain, []).append(value)
    if not by_variant or max(len(steps) for steps in by_variant.values()) < 3:
        return ""
    domains = sorted({d for steps in by_variant.values() for s in steps.values() for d in s})
    for domain in domains:
        steps = sorted({s for v in by_variant.values() for s in v})
        series = {}
        for variant, points in by_variant.items():
            if all(domain in points.get(s, {}) for s in steps):
                series[variant] = [sum(points[s][domain]) / len(points[s][domain]) for s in steps]
        charts.append(line_chart(f"{domain}: held-out bits/byte during training (seed mean)", steps, series, "step"))
    return "<h2>During training</h2>" + "".join(charts)


def write_experiment_report(path: str | Path, results: dict) -> Path:
    domains, rows = result_rows(results)
    values = per_variant(results["runs"])
    variants = list(results["config"]["variants"])
    means = {v: [summarize(values[v][d]).mean if d in values.get(v, {}) else 0.0 for d in domains] for v in variants}
    runs = table(["variant", "seed", "steps", "tokens", "seconds", *domains],
                 [[r["variant"], r["seed"], r["train_steps"], r["tokens"], r["seconds"],
                   *[r["bits_per_byte"].get(d) for d in domains]] for r in results["runs"]])
    verdict_rows = [[f"{v['b']} vs {v['a']}", v["domain"], v["difference"], v["spread"], v["text"]]
                    for v in results["verdicts"]]
    heldout = table(["domain", "documents", "bytes"],
                    [[d, h["docs"], h["bytes"]] for d, h in results["heldout"].items()])
    sections = [
        f"<p>{esc(results['question'])}</p>",
        "<h2>Bits per byte on held-out text (mean over seeds, min..max)</h2>",
        table(["variant", *domains, "seeds"], rows),
        bar_chart("held-out bits/byte (seed mean; lower is better)", domains, means),
        "<h2>Verdicts</h2>", f"<p class='muted'>{esc(RULE)}</p>",
        table(["comparison", "domain", "B - A (bits/byte)", "seed spread", "verdict"], verdict_rows),
        _curves(results),
        "<h2>Runs</h2>", runs,
        "<h2>Held-out sets</h2>", heldout,
    ]
    summary = {"experiment": results["experiment"], "runs trained now": results["trained"],
               "wall seconds": results["seconds"], "steps": results["config"]["steps"],
               "batch size": results["config"]["batch_size"], "seeds": results["config"]["seeds"]}
    return write_report(path, f"curate experiment: {results['experiment']}", sections, summary)
