"""Pipelines as YAML: named sources and the stages to run over them, executed as one idempotent job.

Each stage writes `<work_dir>/<stage>/<source>` and is skipped when that directory is complete for
the same inputs and config (see pipelines.stage), so a finished pipeline rerun does no work.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from curation.config import ConfigError, load_config
from curation.ingest.job import IngestOptions, ingest
from pipelines import report
from pipelines.stage import fingerprint, run_stage


@dataclass
class SourceConfig:
    paths: list[str]
    text_field: str | None = None
    clean: str | None = None


@dataclass
class PipelineConfig:
    name: str
    sources: dict[str, SourceConfig]
    work_dir: str = "work"
    corpora_dir: str = "."
    max_doc_bytes: int = 32 * 1024 * 1024
    stages: list[str] = field(default_factory=lambda: ["ingest"])




def load_pipeline(path: str | Path, overrides: dict | None = None) -> PipelineConfig:
    """Read and check a pipeline YAML file; `overrides` (None values ignored) replace top-level keys."""
    config = load_config(path, PipelineConfig, overrides)
    for stage in config.stages:
        if stage not in STAGE_RUNNERS:
            raise ConfigError(f"{path}: unknown stage {stage!r} (known: {', '.join(STAGE_RUNNERS)})")
    if not config.sources:
        raise ConfigError(f"{path}: no sources")
    return config


def source_paths(config: PipelineConfig, source: SourceConfig) -> list[Path]:
    paths = [Path(config.corpora_dir) / p for p in source.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"pipeline {config.name}: input not found: {missing[0]}")
    return paths


def _ingest_stage(config: PipelineConfig, executor, catalog, run_id) -> list[dict]:
    rows = []
    for name, source in sorted(config.sources.items()):
        paths = source_paths(config, source)
        options = IngestOptions(source=name, text_field=source.text_field, max_doc_bytes=config.max_doc_bytes)
        manifest, skipped = run_stage(
            "ingest", stage_dir(config, "ingest", name), fingerprint(asdict(options), paths),
            lambda out_dir, paths=paths, options=options: ingest(paths, out_dir, options, executor),
            catalog, run_id)
        rows.append({"stage": "ingest", "source": name, "skipped": skipped, "docs_in": manifest["num_in"],
                     "docs_out": manifest["num_docs"], "removed": manifest["num_quarantined"] + manifest["num_skipped"],
                     "mb_out": round(manifest["num_bytes"] / 1e6, 1), "counts": manifest["counts"][name]})
        progress(f"ingest {name}: {manifest['num_docs']:,} documents" + (" (already complete)" if skipped else ""))
    return rows


STAGE_RUNNERS = {"ingest": _ingest_stage}
REMOVAL_PREFIXES = ("quarantined:", "skipped:", "rejected:", "duplicate")


def stage_dir(config: PipelineConfig, stage: str, source: str | None = None) -> Path:
    path = Path(config.work_dir) / stage
    return path / source if source else path


def progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run_pipeline(config: PipelineConfig, executor, catalog=None, run_id: str | None = None,
                 should_stop=lambda: False) -> dict:
    """Run the pipeline's stages in order; return summary rows (one per stage and source) and whether it stopped.

    `should_stop` is checked between stages: a stop leaves complete stages complete and the next
    run resumes at the first incomplete one.
    """
    rows: list[dict] = []
    for stage in config.stages:
        if should_stop():
            progress(f"stopping before {stage}; rerun to continue")
            return {"rows": rows, "stopped": True, "report": None}
        rows += STAGE_RUNNERS[stage](config, executor, catalog, run_id)
    report = write_run_report(config, rows, run_id)
    progress(f"report: {report}")
    return {"rows": rows, "stopped": False, "report": str(report)}


def write_run_report(config: PipelineConfig, rows: list[dict], run_id: str | None) -> Path:
    """The run's HTML report, from the rows the stages returned."""
    sections = []
    for stage in config.stages:
        stage_rows = [r for r in rows if r["stage"] == stage]
        sections.append(report.stage_section(stage.capitalize(), stage_rows))
        sections.append(report.reasons_section(stage.capitalize(), {r["source"]: r.get("counts", {}) for r in stage_rows},
                                               REMOVAL_PREFIXES))
    summary = {"pipeline": config.name, "run": run_id or "(no catalog)", "stages": ", ".join(config.stages),
               "sources": len(config.sources)}
    name = f"{run_id or 'latest'}.html"
    return report.write_report(Path(config.work_dir) / "reports" / name, f"curate run: {config.name}", sections,
                               summary)
