"""Pipelines as YAML: named sources and the stages to run over them, executed as one idempotent job.

Each stage writes `<work_dir>/<stage>/<source>` and is skipped when that directory is complete for
the same inputs and config (see pipelines.stage), so a finished pipeline rerun does no work.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from curation.config import ConfigError, load_config
from curation.ingest.job import IngestOptions, ingest
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


KNOWN_STAGES = ("ingest",)


def load_pipeline(path: str | Path) -> PipelineConfig:
    """Read and check a pipeline YAML file."""
    config = load_config(path, PipelineConfig)
    for stage in config.stages:
        if stage not in KNOWN_STAGES:
            raise ConfigError(f"{path}: unknown stage {stage!r} (known: {', '.join(KNOWN_STAGES)})")
    if not config.sources:
        raise ConfigError(f"{path}: no sources")
    return config


def source_paths(config: PipelineConfig, source: SourceConfig) -> list[Path]:
    paths = [Path(config.corpora_dir) / p for p in source.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"pipeline {config.name}: input not found: {missing[0]}")
    return paths


def run_pipeline(config: PipelineConfig, executor, catalog=None, run_id: str | None = None) -> list[dict]:
    """Run the pipeline's stages for every source; return one summary row per stage and source."""
    rows = []
    work = Path(config.work_dir)
    for name, source in sorted(config.sources.items()):
        paths = source_paths(config, source)
        options = IngestOptions(source=name, text_field=source.text_field, max_doc_bytes=config.max_doc_bytes)
        out = work / "ingest" / name
        manifest, skipped = run_stage(
            "ingest", out, fingerprint(asdict(options), paths),
            lambda out_dir, paths=paths, options=options: ingest(paths, out_dir, options, executor),
            catalog, run_id)
        rows.append({"stage": "ingest", "source": name, "skipped": skipped, "docs_in": manifest["num_in"],
                     "docs_out": manifest["num_docs"], "quarantined": manifest["num_quarantined"],
                     "not_documents": manifest["num_skipped"], "mb_text": round(manifest["num_bytes"] / 1e6, 1)})
        print(f"[{len(rows)}/{len(config.sources)}] ingest {name}: {manifest['num_docs']:,} documents"
              + (" (already complete)" if skipped else ""), file=sys.stderr, flush=True)
    return rows
