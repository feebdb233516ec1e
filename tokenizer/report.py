"""Compression report: bytes per token per eval set and tokenizer, in the shape of MiniCPM's Table 9.

bytes/token = UTF-8 bytes of the eval texts / tokens the tokenizer makes of them (documents
encoded whole, without bos/eos); the Average row is the plain mean over the eval sets, as in the
paper. tokens/s is one batch encode of the whole set with the library's own threads. The
byte-fallback share is the share of tokens that stand for a fragment of a character (see
tokenizer.reference). Given a model's summed negative log-likelihood (nats) over an eval set, its
bits per byte is nll / (ln 2 * bytes), which compares models with different tokenizers fairly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from curation.documents import write_json
from tokenizer.evalsets import EvalSet
from tokenizer.reference import ReferenceTokenizer

REPORT_JSON = "report.json"
REPORT_MARKDOWN = "report.md"
REPORT_CHART = "bytes_per_token.png"
# MiniCPM report, Table 9 (its own held-out documents, not ours): for context in the Markdown.
PAPER_TABLE9 = {
    "MiniCPM-120K": {"Chinese": 3.73, "English": 4.14, "Code": 2.81, "Paper": 2.93},
    "MiniCPM-70K": {"Chinese": 3.56, "English": 4.02, "Code": 2.76, "Paper": 2.88},
    "Llama-2": {"Chinese": 1.87, "English": 3.78, "Code": 2.74, "Paper": 2.97},
}
_WARMUP_CHARS = 4096


def bits_per_byte(sum_nll_nats: float, num_bytes: int) -> float:
    """A model's loss per UTF-8 byte in bits, from its summed token NLL in nats."""
    if num_bytes <= 0:
        raise ValueError("bits per byte needs a positive number of bytes")
    return sum_nll_nats / (math.log(2) * num_bytes)


def measure(tokenizer: ReferenceTokenizer, eval_set: EvalSet) -> dict:
    """Tokens, bytes/token, tokens/s and byte-fallback share of one tokenizer on one eval set."""
    tokenizer.encode_batch([eval_set.texts[0][:_WARMUP_CHARS]])
    started = time.perf_counter()
    encoded = tokenizer.encode_batch(eval_set.texts)
    seconds = time.perf_counter() - started
    num_tokens = sum(len(ids) for ids in encoded)
    num_partial = sum(int(tokenizer.partial_mask[np.asarray(ids, dtype=np.int64)].sum()) for ids in encoded if len(ids))
    return {"num_bytes": eval_set.num_bytes, "num_tokens": num_tokens,
            "bytes_per_token": eval_set.num_bytes / num_tokens if num_tokens else None,
            "seconds": seconds, "tokens_per_second": num_tokens / seconds if seconds > 0 else None,
            "num_byte_fallback_tokens": num_partial,
            "byte_fallback_share": num_partial / num_tokens if num_tokens else None}


def build_report(tokenizers: Sequence[ReferenceTokenizer], eval_sets: Sequence[EvalSet],
                 reference: str | None = None, model_nll: dict[str, Callable[[list[str]], float]] | None = None,
                 log: Callable[[str], None] = lambda message: None) -> dict:
    """Measure every tokenizer on every eval set; ratios are to `reference` (a tokenizer name)."""
    names = [t.name for t in tokenizers]
    if len(set(names)) != len(names):
        raise ValueError(f"tokenizer names must be unique, got {', '.join(names)}; name them NAME=PATH")
    if reference is not None and reference not in names:
        raise ValueError(f"reference tokenizer {reference!r} is not among {', '.join(names)}")
    results = {}
    for tokenizer in tokenizers:
        results[tokenizer.name] = {e.name: measure(tokenizer, e) for e in eval_sets}
        per_set = ", ".join(f"{e}: {m['bytes_per_token']:.2f}" for e, m in results[tokenizer.name].items())
        log(f"report: {tokenizer.name}: bytes/token {per_set}")
    averages = {name: float(np.mean([m["bytes_per_token"] for m in by_set.values()]))
                for name, by_set in results.items()}
    # report.json is written with sorted keys: the column and row order travel as lists
    report = {"tokenizer_order": names, "eval_set_order": [e.name for e in eval_sets],
              "eval_sets": {e.name: e.summary() for e in eval_sets},
              "tokenizers": {t.name: t.summary() for t in tokenizers},
              "results": results, "average_bytes_per_token": averages, "reference": reference}
    if reference is not None:
        report["ratio_to_reference"] = {
            name: {e: by_set[e]["bytes_per_token"] / results[reference][e]["bytes_per_token"] for e in by_set}
            | {"Average": averages[name] / averages[reference]}
            for name, by_set in results.items()}
    if model_nll:
        report["models"] = {model: {e.name: {"sum_nll_nats": (nll := fn(e.texts)),
                                             "bits_per_byte": bits_per_byte(nll, e.num_bytes)}
                                    for e in eval_sets} for model, fn in model_nll.items()}
    return report


def markdown(report: dict) -> str:
    """The report as Markdown: a Table 9-shaped compression table, ratios, fallback and speed."""
    names, eval_names = report["tokenizer_order"], report["eval_set_order"]
    results = report["results"]

    def row(label, cells):
        return "| " + " | ".join([label, *cells]) + " |"

    lines = ["# Tokenizer compression (bytes per token, higher is better)", "",
             row("", names), row("---", ["---:"] * len(names)),
             row("Vocab Size", [f"{report['tokenizers'][n]['vocab_size']:,}" for n in names]),
             row("**Compression Rate (Bytes/Tokens)**", [""] * len(names))]
    lines += [row(e, [f"{results[n][e]['bytes_per_token']:.2f}" for n in names]) for e in eval_names]
    lines += [row("Average", [f"{report['average_bytes_per_token'][n]:.2f}" for n in names]), ""]
    if report.get("reference"):
        ratios = report["ratio_to_reference"]
        lines += [f"## Ratio to {report['reference']}", "", row("", names), row("---", ["---:"] * len(names))]
        lines += [row(e, [f"{ratios[n][e]:.2f}x" for n in names]) for e in [*eval_names, "Average"]] + [""]
    lines += ["## Byte-fallback share (tokens that are a fragment of a character)", "",
              row("", names), row("---", ["---:"] * len(names))]
    lines += [row(e, [f"{100 * results[n][e]['byte_fallback_share']:.2f}%" for n in names]) for e in eval_names]
    lines += ["", "## Encode speed (million tokens per second, batch, library threads)", "",
              row("", names), row("---", ["---:"] * len(names))]
    lines += [row(e, [f"{results[n][e]['tokens_per_second'] / 1e6:.2f}" for n in names]) for e in eval_names]
    lines += ["", "## Eval sets", "", row("set", ["documents", "MB", "split", "path"]),
              row("---", ["---:", "---:", "---", "---"])]
    sets = report["eval_sets"]
    lines += [row(e, [str(sets[e]["num_docs"]), f"{sets[e]['num_bytes'] / 1e6:.2f}", sets[e]["split"],
                      f"`{sets[e]['path']}`"]) for e in eval_names]
    if report.get("models"):
        lines += ["", "## Models (bits per byte, lower is better)", "", row("", eval_names),
                  row("---", ["---:"] * len(eval_names))]
        lines += [row(m, [f"{by_set[e]['bits_per_byte']:.3f}" for e in eval_names])
                  for m, by_set in sorted(report["models"].items())]
    paper = list(PAPER_TABLE9)
    lines += ["", "For context, the paper's Table 9 (its own held-out documents):", "",
              row("", paper), row("---", ["---:"] * len(paper))]
    lines += [row(e, [f"{PAPER_TABLE9[p][e]:.2f}" for p in paper]) for e in PAPER_TABLE9["Llama-2"]]
    return "\n".join(lines) + "\n"


def write_chart(report: dict, path: str | Path) -> None:
    """A grouped bar chart of bytes/token: eval sets on x, one bar per tokenizer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = report["tokenizer_order"]
    groups = [*report["eval_set_order"], "Average"]
    width = 0.8 / len(names)
    colors = plt.get_cmap("tab10" if len(names) <= 10 else "tab20").colors
    fig, ax = plt.subplots(figsize=(min(16.0, 4.0 + 0.25 * len(groups) * len(names)), 4.8))
    for i, name in enumerate(names):
        values = [report["results"][name][g]["bytes_per_token"] for g in groups[:-1]]
        values.append(report["average_bytes_per_token"][name])
        ax.bar(np.arange(len(groups)) + i * width - 0.4 + width / 2, values, width, label=name,
               color=colors[i % len(colors)])
    ax.set_xticks(np.arange(len(groups)), groups)
    ax.set_ylabel("bytes per token (higher: better compression)")
    ax.set_title("Tokenizer compression by domain")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_report(report: dict, out_dir: str | Path) -> list[str]:
    """Write report.json, report.md and the chart; return the file names."""
    out_dir = Path(out_dir)
    write_json(out_dir / REPORT_JSON, report)
    (out_dir / REPORT_MARKDOWN).write_text(markdown(report), encoding="utf-8")
    write_chart(report, out_dir / REPORT_CHART)
    return [REPORT_JSON, REPORT_MARKDOWN, REPORT_CHART]


def report_directory(tested: Sequence[tuple[str | None, Path]], baselines: Sequence[tuple[str | None, Path]],
                     eval_specs: Sequence[tuple[str, Path]], out_dir: str | Path, heldout_per_mille: int,
                     max_eval_bytes: int, split: str = "heldout", num_threads: int | None = None,
                     log: Callable[[str], None] = lambda message: None) -> dict:
    """Measure tokenizers on eval sets into out_dir (report files + manifest); return the manifest.

    `tested` and `baselines` are (name or None, path); ratios in the report are to the first baseline.
    """
    from curation.documents import read_json, write_manifest
    from tokenizer.evalsets import load_eval_set
    from tokenizer.reference import load_reference

    def name_of(name: str | None, path: Path) -> str | None:
        config = (path if path.is_dir() else path.parent) / "config.json"  # a `curate tokenizer train` dir
        return name or (read_json(config).get("config", {}).get("name") if config.is_file() else None)

    eval_sets = [load_eval_set(n, p, heldout_per_mille, max_eval_bytes, split) for n, p in eval_specs]
    for e in eval_sets:
        log(f"report: eval set {e.name}: {len(e.texts):,} documents, {e.num_bytes / 1e6:.2f} MB ({e.split})")
    tokenizers = [load_reference(p, name_of(n, p), num_threads) for n, p in [*tested, *baselines]]
    reference = tokenizers[len(tested)].name if baselines else None
    report = build_report(tokenizers, eval_sets, reference, log=log)
    settings = {"tokenizers": [str(p.resolve()) for _, p in tested],
                "baselines": [str(p.resolve()) for _, p in baselines],
                "evals": {n: str(p.resolve()) for n, p in eval_specs}, "split": split,
                "heldout_per_mille": heldout_per_mille, "max_eval_mb": max_eval_bytes / 1e6}
    report["settings"] = settings
    files = write_report(report, out_dir)
    manifest = {"stage": "tokenizer_report", "num_in": sum(len(e.texts) for e in eval_sets),
                "num_out": len(tokenizers), "files": files, "config": settings,
                "counts": {t: {e: m["num_tokens"] for e, m in by_set.items()}
                           for t, by_set in report["results"].items()}}
    write_manifest(out_dir, manifest)
    return manifest
