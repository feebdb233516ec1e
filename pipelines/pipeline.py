"""Pipelines as YAML: named sources and the stages to run over them, executed as one idempotent job.

    ingest -> clean -> dedup -> tokenizer (train, report) -> mixture (stable, decay) -> train

Each stage writes directories under `work_dir/<stage>/` and is skipped when a directory is complete
for the same inputs and config (see pipelines.stage), resumed when interrupted and redone when its
inputs or config change, so a finished pipeline rerun does no work. `plan_pipeline` says, without
running anything, what a run would do and why.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from curation.config import ConfigError, load_config

STAGE_ORDER = ("ingest", "clean", "dedup", "tokenizer", "mixture", "train")


@dataclass
class SourceConfig:
    paths: list[str]  # files or directories, relative to corpora_dir
    text_field: str | None = None
    clean: str | None = None  # clean profile: configs/clean/NAME.yaml or a YAML path; None: not cleaned
    domain: str | None = None  # tokenizer training domain (a key of its domain_weights); None: not sampled
    dedup: bool = True  # take part in the cross-corpus dedup stage


@dataclass
class DedupSettings:
    config: str | None = None  # configs/dedup/*.yaml (default: configs/dedup/default.yaml)
    priority: list[str] = field(default_factory=list)  # sources, most trusted copy first
    threshold: float | None = None


@dataclass
class TokenizerSettings:
    preset: str = "120k"
    config: str | None = None  # a YAML layered over the preset
    vocab_size: int | None = None
    max_sample_mb: float | None = None  # MB of training text held in memory
    eval: dict[str, str] = field(default_factory=dict)  # eval set name -> source (its held-out documents)
    baselines: dict[str, str] = field(default_factory=dict)  # name -> tokenizer file, relative to corpora_dir
    max_eval_mb: float = 4.0


@dataclass
class MixtureSettings:
    stable: str = "configs/mixtures/stable.yaml"
    decay: str | None = "configs/mixtures/decay.yaml"
    seq_len: int | None = None  # overrides both recipes
    stable_tokens: int | None = None  # overrides the recipes' budgets
    decay_tokens: int | None = None
    on_infeasible: str | None = None  # overrides the recipes': fail | shrink | redistribute


@dataclass
class TrainSettings:
    config: str = "configs/train/tiny.yaml"
    max_steps: int | None = None
    checkpoint_every: int | None = None
    eval: dict[str, str] | None = None  # held-out sets (name -> JSONL/Parquet path); None: the config's


@dataclass
class PipelineConfig:
    name: str
    sources: dict[str, SourceConfig]
    work_dir: str = "work"
    corpora_dir: str = "."
    max_doc_bytes: int = 32 * 1024 * 1024
    stages: list[str] = field(default_factory=lambda: ["ingest"])
    dedup: DedupSettings = field(default_factory=DedupSettings)
    tokenizer: TokenizerSettings = field(default_factory=TokenizerSettings)
    mixture: MixtureSettings = field(default_factory=MixtureSettings)
    train: TrainSettings = field(default_factory=TrainSettings)


def load_pipeline(path: str | Path, overrides: dict | None = None) -> PipelineConfig:
    """Read and check a pipeline YAML file; `overrides` (None values ignored) replace top-level keys."""
    config = load_config(path, PipelineConfig, overrides)
    for stage in config.stages:
        if stage not in STAGE_ORDER:
            raise ConfigError(f"{path}: unknown stage {stage!r} (known: {', '.join(STAGE_ORDER)})")
    positions = [STAGE_ORDER.index(s) for s in config.stages]
    if positions != sorted(set(positions)):
        raise ConfigError(f"{path}: stages must be in the order {' -> '.join(STAGE_ORDER)}, without repeats")
    if not config.sources:
        raise ConfigError(f"{path}: no sources")
    for name in config.dedup.priority:
        if name not in config.sources:
            raise ConfigError(f"{path}: dedup.priority names {name!r}, which is not a source")
    for eval_name, source in config.tokenizer.eval.items():
        if source not in config.sources:
            raise ConfigError(f"{path}: tokenizer.eval.{eval_name} names {source!r}, which is not a source")
    if "tokenizer" in config.stages and not any(s.domain for s in config.sources.values()):
        raise ConfigError(f"{path}: the tokenizer stage needs sources with a `domain`")
    return config


def progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run_pipeline(config: PipelineConfig, executor, catalog=None, run_id: str | None = None,
                 should_stop=lambda: False) -> dict:
    """Run the pipeline's stages in order; return summary rows (one per stage job) and whether it stopped.

    `should_stop` is checked between stages: a stop leaves complete stages complete and the next
    run resumes at the first incomplete one.
    """
    from pipelines.run_report import write_run_report
    from pipelines.stages import stage_jobs

    rows: list[dict] = []
    for stage in config.stages:
        if should_stop():
            progress(f"stopping before {stage}; rerun to continue")
            return {"rows": rows, "stopped": True, "report": None}
        for job in stage_jobs(stage, config, executor):
            row = job.run(catalog, run_id)
            rows.append(row)
            progress(f"{job.stage} {job.name}: {row['summary']}" + (" (already complete)" if row["skipped"] else ""))
    report = write_run_report(config, rows, run_id)
    progress(f"report: {report}")
    return {"rows": rows, "stopped": False, "report": str(report)}


def plan_pipeline(config: PipelineConfig) -> list[tuple[str, str, str, str]]:
    """(stage, name, output directory, what a run would do and why) for every job, running nothing.

    A job that is complete today but downstream of one that will run is "maybe": it reruns only if
    the upstream run changes its output (same inputs give the same bytes, so often it does not).
    """
    from curation.parallel import SerialExecutor
    from pipelines.stages import stage_jobs

    plan, upstream_runs = [], None
    for stage in config.stages:
        stage_runs = None
        for job in stage_jobs(stage, config, SerialExecutor()):
            status = job.status()
            if status.startswith("skip") and upstream_runs:
                status = f"maybe: reruns if {upstream_runs}'s new output differs"
            elif not status.startswith("skip"):
                stage_runs = stage_runs or stage
            plan.append((job.stage, job.name, str(job.out_dir), status))
        upstream_runs = upstream_runs or stage_runs
    return plan
