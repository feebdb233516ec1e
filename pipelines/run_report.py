"""The pipeline run's HTML report, built from the rows the stage jobs returned and their manifests.

Sections, where the stage ran (or was already complete): documents in and out per stage and source
with the reasons for every removal; the dedup rate per source, the cross-corpus matrix and the
cluster sizes; the tokenizer's Table 9-style compression table; realized vs target mixture shares;
the training loss curve and held-out bits per byte.
"""

from __future__ import annotations

import json
from pathlib import Path

from curation.documents import read_manifest
from pipelines import report
from pipelines.pipeline import PipelineConfig

REMOVAL_PREFIXES = ("quarantined:", "skipped:", "rejected:", "duplicate")


def _manifest(rows: list[dict], stage: str, name: str | None = None) -> dict | None:
    for row in rows:
        if row["stage"] == stage and (name is None or row["source"] == name):
            return read_manifest(row["out_dir"])
    return None


def overview_section(rows: list[dict]) -> str:
    columns = ["stage", "source", "skipped", "summary"]
    return "<h2>Stages</h2>" + report.table(["stage", "job", "already complete", "result"],
                                            [[r.get(c) for c in columns] for r in rows])


def documents_section(title: str, rows: list[dict]) -> str:
    """Documents in and out per source, and why documents were removed."""
    if not rows:
        return ""
    return (report.stage_section(title, rows)
            + report.reasons_section(title, {r["source"]: r.get("counts", {}) for r in rows}, REMOVAL_PREFIXES))


def dedup_section(manifest: dict | None) -> str:
    if not manifest:
        return ""
    counts = manifest["counts"]
    sources = list(counts)
    table = report.table(
        ["source", "input", "kept", "exact duplicates", "near duplicates", "dedup rate"],
        [[s, c["input"], c["kept"], c["exact_duplicates"], c["near_duplicates"],
          f"{c['duplicates'] / c['input']:.2%}" if c["input"] else "-"] for s, c in counts.items()])
    matrix = manifest.get("cross_corpus", {})
    survivors = sorted({b for row in matrix.values() for b in row})
    matrix_html = ("<h3>Cross-corpus matrix: documents of the row source dropped as copies of the column source</h3>"
                   + report.table(["dropped from \\ kept in"] + survivors,
                                  [[a] + [matrix[a].get(b, 0) for b in survivors] for a in sorted(matrix)])
                   if matrix else "<p class='muted'>No duplicates.</p>")
    histogram = manifest.get("cluster_size_histogram", {})
    sizes = sorted(histogram, key=int)
    chart = report.bar_chart("Clusters by size (documents per cluster)", [f"size {s}" for s in sizes],
                             {"clusters": [histogram[s] for s in sizes]})
    rate = report.bar_chart("Dedup rate per source", sources,
                            {"duplicates %": [100 * counts[s]["duplicates"] / max(1, counts[s]["input"])
                                              for s in sources]}, unit="%")
    lsh = manifest.get("lsh", {})
    params = (f"<p>threshold {manifest['config']['threshold']}, {manifest['config']['num_perm']} permutations, "
              f"{lsh.get('bands')} bands x {lsh.get('rows')} rows; {manifest['num_candidate_pairs']:,} candidate "
              f"pairs, {manifest['num_verified_pairs']:,} verified; {manifest['num_clusters']:,} clusters</p>")
    return f"<h2>Dedup</h2>{params}{table}{rate}{matrix_html}{chart}"


def tokenizer_section(rows: list[dict]) -> str:
    model_row = next((r for r in rows if r["stage"] == "tokenizer" and r["source"] == "model"), None)
    report_row = next((r for r in rows if r["stage"] == "tokenizer" and r["source"] == "report"), None)
    if model_row is None:
        return ""
    model = read_manifest(model_row["out_dir"])
    html = (f"<h2>Tokenizer</h2><p>{model['num_out']:,} pieces, sha256 {model.get('sha256', '')[:16]}, "
            f"in {report.esc(model_row['out_dir'])}</p>")
    if report_row:
        data = json.loads((Path(report_row["out_dir"]) / "report.json").read_text(encoding="utf-8"))
        sets, names = data["eval_set_order"], data["tokenizer_order"]
        results = data["results"]
        html += "<h3>Compression: bytes per token on held-out text (MiniCPM Table 9 shape)</h3>" + report.table(
            ["tokenizer"] + sets + ["Average"],
            [[n] + [results[n][e]["bytes_per_token"] for e in sets] + [data["average_bytes_per_token"][n]]
             for n in names])
        html += report.bar_chart("Bytes per token (higher compresses better)", sets,
                                 {n: [results[n][e]["bytes_per_token"] for e in sets] for n in names})
    return html


def mixture_section(rows: list[dict]) -> str:
    html = ""
    for row in rows:
        if row["stage"] != "mixture":
            continue
        m = read_manifest(row["out_dir"])
        sources = list(m["sources"])
        html += (f"<h3>{row['source'].capitalize()} mixture: {m['num_tokens']:,} tokens, {m['num_rows']:,} rows of "
                 f"{m['row_tokens']:,}</h3>")
        html += report.table(["source", "recipe weight", "target share", "realized share", "tokens", "epochs"],
                             [[s, f"{v['weight_share']:.2%}", f"{v['target_share']:.2%}", f"{v['realized_share']:.2%}",
                               v["num_tokens"], v["epochs"] or 0.0] for s, v in m["sources"].items()])
        if m.get("replanned"):
            html += ("<p class='muted'>Re-planned: a source could not meet its weight within max_epochs, so the "
                     "target shares differ from the recipe weights (see the recipe's on_infeasible).</p>")
        html += report.bar_chart(f"{row['source']} mixture: token share per source (%)", sources,
                                 {"target": [100 * m["sources"][s]["target_share"] for s in sources],
                                  "realized": [100 * m["sources"][s]["realized_share"] for s in sources]}, unit="%")
    return f"<h2>Mixtures</h2>{html}" if html else ""


def train_section(rows: list[dict]) -> str:
    from trainer.report import read_log

    row = next((r for r in rows if r["stage"] == "train"), None)
    if row is None:
        return ""
    records = read_log(row["out_dir"])
    train = [r for r in records if r.get("kind") == "train"]
    chart = report.line_chart("Training loss (nats/token)", [r["step"] for r in train],
                              {"loss": [r["loss"] for r in train]}, "step")
    lr = report.line_chart("Learning rate (WSD)", [r["step"] for r in train], {"lr": [r["lr"] for r in train]},
                           "step")
    evals = [r for r in records if r.get("kind") == "eval"]
    names = sorted({n for r in evals for n in r["sets"]})
    table = report.table(["step", "phase"] + [f"{n} bits/byte" for n in names],
                         [[r["step"], r["phase"]] + [r["sets"].get(n, {}).get("bits_per_byte") for n in names]
                          for r in evals]) if evals else ""
    return f"<h2>Training</h2><p>{report.esc(row['summary'])}</p>{chart}{lr}{table}"


def write_run_report(config: PipelineConfig, rows: list[dict], run_id: str | None) -> Path:
    """The run's HTML report under work_dir/reports/."""
    def stage_rows(stage):
        return [r for r in rows if r["stage"] == stage]

    sections = [overview_section(rows),
                documents_section("Ingest", stage_rows("ingest")),
                documents_section("Clean", stage_rows("clean")),
                lambda: dedup_section(_manifest(rows, "dedup")),
                lambda: tokenizer_section(rows),
                lambda: mixture_section(rows),
                lambda: train_section(rows)]
    summary = {"pipeline": config.name, "run": run_id or "(no catalog)", "stages": ", ".join(config.stages),
               "sources": len(config.sources), "work_dir": config.work_dir}
    name = f"{run_id or 'latest'}.html"
    return report.write_report(Path(config.work_dir) / "reports" / name, f"curate run: {config.name}", sections,
                               summary)
