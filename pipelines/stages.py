"""The jobs of each pipeline stage: where they read, where they write, what their fingerprint covers.

A job's output directory is `work_dir/<stage>/<name>`. Its fingerprint covers the resolved settings
and the upstream stage directories it reads (their manifests, by content), so a job reruns exactly
when what it reads or how it is configured changed. Documents flow
ingest -> clean (sources with a profile) -> dedup (all sources not opted out, across corpora);
`documents_dir` names the newest complete form of a source's documents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from curation.config import ConfigError, to_dict
from pipelines.pipeline import PipelineConfig
from pipelines.stage import fingerprint, log, run_stage, stage_status

CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"
DEDUP_JOB = "all"


@dataclass
class StageJob:
    """One output directory of a stage: how to fingerprint it, build it and summarise its manifest."""

    stage: str
    name: str
    out_dir: Path
    settings: Callable[[], dict]
    inputs: Callable[[], list[Path]]
    build: Callable[[Path], dict]
    describe: Callable[[dict], dict]
    catalog_stage: str = ""  # the stage name in the catalog, as the stage's own command records it

    def __post_init__(self) -> None:
        self.catalog_stage = self.catalog_stage or self.stage

    def key(self) -> str:
        return fingerprint(self.settings(), self.inputs())

    def run(self, catalog, run_id) -> dict:
        manifest, skipped = run_stage(self.catalog_stage, self.out_dir, self.key(), self.build, catalog, run_id)
        return {"stage": self.stage, "source": self.name, "skipped": skipped, "out_dir": str(self.out_dir),
                **self.describe(manifest)}

    def status(self) -> str:
        try:
            key = self.key()
        except (FileNotFoundError, ValueError) as exc:
            return f"run (after upstream stages: {str(exc).splitlines()[0][:80]})"
        return stage_status(self.catalog_stage, self.out_dir, key)


def stage_dir(config: PipelineConfig, stage: str, name: str | None = None) -> Path:
    path = Path(config.work_dir) / stage
    return path / name if name else path


def source_paths(config: PipelineConfig, name: str) -> list[Path]:
    paths = [Path(config.corpora_dir) / p for p in config.sources[name].paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"pipeline {config.name}: input of source {name} not found: {missing[0]}")
    return paths


def cleaned(config: PipelineConfig, name: str) -> bool:
    return "clean" in config.stages and config.sources[name].clean is not None


def deduplicated(config: PipelineConfig, name: str) -> bool:
    return "dedup" in config.stages and config.sources[name].dedup


def _before_dedup(config: PipelineConfig, name: str) -> tuple[Path, Path]:
    """(directory of documents, stage directory whose manifest stands for it) before dedup."""
    if cleaned(config, name):
        out = stage_dir(config, "clean", name)
        return out / "kept", out
    out = stage_dir(config, "ingest", name)
    return out, out


def documents_dir(config: PipelineConfig, name: str) -> tuple[Path, Path]:
    """(the newest form of a source's documents, the stage directory whose manifest stands for it)."""
    if deduplicated(config, name):
        from curation.dedup.job import KEPT_DIR
        from curation.dedup.layout import source_dir_name

        out = stage_dir(config, "dedup", DEDUP_JOB)
        return out / KEPT_DIR / source_dir_name(name), out
    return _before_dedup(config, name)


def _documents_row(manifest: dict, removed: int, mb_out: float, counts: dict, summary: str) -> dict:
    return {"docs_in": manifest["num_in"], "docs_out": manifest.get("num_out", manifest.get("num_docs")),
            "removed": removed, "mb_out": round(mb_out, 1), "counts": counts, "summary": summary}


# -- ingest and clean: one job per source ------------------------------------------------------


def _ingest_jobs(config: PipelineConfig, executor) -> list[StageJob]:
    from curation.ingest.job import IngestOptions, ingest

    jobs = []
    for name, source in sorted(config.sources.items()):
        options = IngestOptions(source=name, text_field=source.text_field, max_doc_bytes=config.max_doc_bytes)

        def describe(m, name=name):
            return _documents_row(m, m["num_quarantined"] + m["num_skipped"], m["num_bytes"] / 1e6,
                                  m["counts"][name], f"{m['num_docs']:,} documents")

        jobs.append(StageJob(
            "ingest", name, stage_dir(config, "ingest", name),
            settings=lambda options=options: dataclasses.asdict(options),
            inputs=lambda name=name: source_paths(config, name),
            build=lambda out, name=name, options=options: ingest(source_paths(config, name), out, options, executor),
            describe=describe))
    return jobs


def clean_profile_path(profile: str) -> Path:
    """A profile name (configs/clean/NAME.yaml) or a YAML path."""
    path = Path(profile) if profile.endswith((".yaml", ".yml")) else CONFIGS_DIR / "clean" / f"{profile}.yaml"
    if not path.is_file():
        raise ConfigError(f"clean profile {profile!r} not found ({path})")
    return path


def _clean_jobs(config: PipelineConfig, executor) -> list[StageJob]:
    from curation.clean.job import clean_directory
    from curation.clean.profile import load_profile

    jobs = []
    for name, source in sorted(config.sources.items()):
        if source.clean is None:
            continue
        profile = load_profile(clean_profile_path(source.clean))
        in_dir = stage_dir(config, "ingest", name)

        def describe(m, name=name):
            kept_mb = sum(s["num_bytes"] for s in m["shards"] if s.get("dir") == "kept") / 1e6
            return _documents_row(m, m["num_rejected"], kept_mb, m["counts"].get(name, {}),
                                  f"{m['num_out']:,} kept, {m['num_rejected']:,} rejected ({m['profile']})")

        jobs.append(StageJob(
            "clean", name, stage_dir(config, "clean", name),
            settings=lambda profile=profile: to_dict(profile), inputs=lambda in_dir=in_dir: [in_dir],
            build=lambda out, in_dir=in_dir, profile=profile: clean_directory(in_dir, out, profile, executor),
            describe=describe))
    return jobs


# -- dedup: one job across every source --------------------------------------------------------


def _dedup_jobs(config: PipelineConfig, executor) -> list[StageJob]:
    from curation.dedup.job import run_dedup
    from curation.dedup.settings import load_dedup_config

    names = [n for n in sorted(config.sources) if deduplicated(config, n)]
    if not names:
        return []
    settings = config.dedup
    dedup_config = load_dedup_config(settings.config, {"priority": settings.priority or None,
                                                       "threshold": settings.threshold})
    read_dirs = [_before_dedup(config, n)[0] for n in names]

    def describe(m):
        counts = {source: {"duplicate:exact": c["exact_duplicates"], "duplicate:near": c["near_duplicates"]}
                  for source, c in m["counts"].items()}
        return _documents_row(m, m["num_duplicates"], 0.0, counts,
                              f"{m['num_out']:,} kept, {m['num_exact_duplicates']:,} exact and "
                              f"{m['num_near_duplicates']:,} near duplicates in {m['num_clusters']:,} clusters")

    return [StageJob(
        "dedup", DEDUP_JOB, stage_dir(config, "dedup", DEDUP_JOB),
        settings=lambda: {"config": dataclasses.asdict(dedup_config), "sources": names},
        inputs=lambda: [_before_dedup(config, n)[1] for n in names],
        build=lambda out: run_dedup(read_dirs, out, dedup_config, executor, log=log),
        describe=describe)]


# -- tokenizer: train, then report -------------------------------------------------------------


def tokenizer_model_dir(config: PipelineConfig) -> Path:
    return stage_dir(config, "tokenizer", "model")


def _tokenizer_jobs(config: PipelineConfig, executor) -> list[StageJob]:
    from tokenizer.presets import load_tokenizer_config
    from tokenizer.report import report_directory
    from tokenizer.sampling import DomainInput
    from tokenizer.train import train_tokenizer

    settings = config.tokenizer
    sample = {"max_sample_bytes": int(settings.max_sample_mb * 1e6)} if settings.max_sample_mb else None
    tok_config = load_tokenizer_config(settings.preset, settings.config,
                                       {"vocab_size": settings.vocab_size, "sample": sample})
    domains: dict[str, DomainInput] = {}
    for name, source in sorted(config.sources.items()):
        if source.domain:
            domain = domains.setdefault(source.domain, DomainInput(source.domain, []))
            domain.dirs.append(documents_dir(config, name)[0])
    key_dirs = sorted({documents_dir(config, n)[1] for n, s in config.sources.items() if s.domain})
    model_dir = tokenizer_model_dir(config)
    train = StageJob(
        "tokenizer", "model", model_dir,
        settings=lambda: {"config": to_dict(tok_config),
                          "domains": {d.name: [str(p) for p in d.dirs] for d in domains.values()}},
        inputs=lambda: key_dirs,
        build=lambda out: train_tokenizer(tok_config, list(domains.values()), out, log),
        describe=lambda m: {"docs_in": None, "docs_out": None, "removed": None, "mb_out": None, "counts": {},
                            "summary": f"{m['num_out']:,} pieces ({tok_config.name})"},
        catalog_stage="tokenizer_train")
    jobs = [train]
    if settings.eval:
        evals = [(eval_name, documents_dir(config, source)[0]) for eval_name, source in settings.eval.items()]
        baselines = [(name, Path(config.corpora_dir) / path) for name, path in settings.baselines.items()]
        per_mille = tok_config.sample.heldout_per_mille

        def build_report(out):
            return report_directory([(None, model_dir)], baselines, evals, out, per_mille,
                                    int(settings.max_eval_mb * 1e6), log=log)

        jobs.append(StageJob(
            "tokenizer", "report", stage_dir(config, "tokenizer", "report"),
            settings=lambda: {"evals": {n: str(p) for n, p in evals}, "baselines": {n: str(p) for n, p in baselines},
                              "heldout_per_mille": per_mille, "max_eval_mb": settings.max_eval_mb},
            inputs=lambda: [model_dir, *key_dirs, *(p for _, p in baselines)],
            build=build_report,
            describe=lambda m: {"docs_in": m["num_in"], "docs_out": None, "removed": None, "mb_out": None,
                                "counts": {}, "summary": f"{m['num_out']} tokenizers on {len(evals)} eval sets"},
            catalog_stage="tokenizer_report"))
    return jobs


# -- mixtures: stable and decay ----------------------------------------------------------------


def mixture_dir(config: PipelineConfig, mixture_stage: str) -> Path:
    return stage_dir(config, "mixture", mixture_stage)


def pipeline_recipe(config: PipelineConfig, mixture_stage: str):
    """The stage's recipe with the pipeline's documents, tokenizer, seq_len and budget filled in."""
    from mixtures.recipe import load_recipe, source_inputs

    settings = config.mixture
    budget_tokens = settings.stable_tokens if mixture_stage == "stable" else settings.decay_tokens
    overrides = {"seq_len": settings.seq_len, "budget": {"num_tokens": budget_tokens} if budget_tokens else None,
                 "on_infeasible": settings.on_infeasible}
    path = settings.stable if mixture_stage == "stable" else settings.decay
    recipe = load_recipe(path, overrides)
    if recipe.stage != mixture_stage:
        raise ConfigError(f"{path}: is a {recipe.stage}-stage recipe, but the pipeline uses it as {mixture_stage}")
    key_inputs: list[Path] = []
    for name, spec in recipe.sources.items():
        if spec.format == "documents" and name in config.sources:
            read_dir, key_dir = documents_dir(config, name)
            spec.path, spec.prefer_path = str(read_dir), None
            key_inputs.append(key_dir)
        else:
            key_inputs.extend(source_inputs(recipe, name))
    if "tokenizer" in config.stages:
        recipe.tokenizer = str(tokenizer_model_dir(config) / "tokenizer.model")
    return recipe, key_inputs


def _mixture_jobs(config: PipelineConfig, executor) -> list[StageJob]:
    from mixtures.build import build_mixture

    stages = ["stable"] + (["decay"] if config.mixture.decay else [])
    jobs = []
    for mixture_stage in stages:
        def settings(mixture_stage=mixture_stage):
            recipe, _ = pipeline_recipe(config, mixture_stage)
            tokenizer = Path(recipe.tokenizer)
            if not tokenizer.is_file():
                raise FileNotFoundError(f"tokenizer {tokenizer} not built yet")
            return {"recipe": recipe.to_dict() | {"source_file": ""}}

        def inputs(mixture_stage=mixture_stage):
            recipe, key_inputs = pipeline_recipe(config, mixture_stage)
            return [*key_inputs, Path(recipe.tokenizer)]

        def build(out, mixture_stage=mixture_stage):
            return build_mixture(pipeline_recipe(config, mixture_stage)[0], out, executor, log=log)

        def describe(m):
            return {"docs_in": sum(s["available_docs"] or 0 for s in m["sources"].values()),
                    "docs_out": m["num_rows"], "removed": None, "mb_out": None, "counts": m["counts"],
                    "summary": f"{m['num_tokens']:,} tokens in {m['num_rows']:,} rows of {m['row_tokens']:,}"}

        jobs.append(StageJob("mixture", mixture_stage, mixture_dir(config, mixture_stage),
                             settings=settings, inputs=inputs, build=build, describe=describe))
    return jobs


# -- train ---------------------------------------------------------------------------------------


def pipeline_train_config(config: PipelineConfig, out_dir: Path):
    from curation.config import load_config
    from trainer.config import TrainConfig

    settings = config.train
    overrides = {"out_dir": str(out_dir), "max_steps": settings.max_steps,
                 "checkpoint_every": settings.checkpoint_every}
    cfg = load_config(settings.config, TrainConfig, overrides)
    cfg.data.stable_dir = str(mixture_dir(config, "stable"))
    cfg.data.decay_dir = str(mixture_dir(config, "decay")) if config.mixture.decay else None
    if settings.eval is not None:
        cfg.eval.sets = dict(settings.eval)
    return cfg.validate(settings.config)


def _train_jobs(config: PipelineConfig, executor) -> list[StageJob]:
    out_dir = stage_dir(config, "train", "model")

    def build(out):
        from curation.documents import write_manifest
        from trainer.loop import train
        from trainer.report import read_log

        summary = train(pipeline_train_config(config, out))
        if not summary["finished"]:
            raise RuntimeError(f"training stopped at step {summary['step']} before the end")
        losses = [r["loss"] for r in read_log(out) if r.get("kind") == "train"]
        manifest = {"stage": "train", "num_in": summary["tokens"], "num_out": summary["step"],
                    "first_loss": losses[0] if losses else None, "last_loss": losses[-1] if losses else None,
                    "eval": summary["eval"], "checkpoint": summary["checkpoint"],
                    "config": to_dict(pipeline_train_config(config, out))}
        write_manifest(out, manifest)
        return manifest

    def describe(m):
        evals = ", ".join(f"{n} {r['bits_per_byte']:.3f}" for n, r in (m.get("eval") or {}).items())
        loss = f"loss {m['first_loss']:.3f} -> {m['last_loss']:.3f}" if m.get("last_loss") is not None else ""
        return {"docs_in": None, "docs_out": None, "removed": None, "mb_out": None, "counts": {},
                "summary": f"{m['num_out']} steps, {m['num_in']:,} tokens; {loss}"
                           + (f"; held-out bits/byte {evals}" if evals else "")}

    inputs = [mixture_dir(config, "stable")] + ([mixture_dir(config, "decay")] if config.mixture.decay else [])
    return [StageJob("train", "model", out_dir,
                     settings=lambda: {"train": to_dict(pipeline_train_config(config, out_dir))},
                     inputs=lambda: inputs, build=build, describe=describe)]


_STAGE_JOBS = {"ingest": _ingest_jobs, "clean": _clean_jobs, "dedup": _dedup_jobs, "tokenizer": _tokenizer_jobs,
               "mixture": _mixture_jobs, "train": _train_jobs}


def stage_jobs(stage: str, config: PipelineConfig, executor) -> list[StageJob]:
    """The jobs of one stage, in a fixed order."""
    return _STAGE_JOBS[stage](config, executor)
