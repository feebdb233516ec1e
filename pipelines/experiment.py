"""`curate experiment`: the wind tunnel. Variants that differ in one data decision, same everything else.

    WORK/data-<corpus>/                 the prepared corpus (pipelines.experiment_corpus), shared
    WORK/<experiment>/mixtures/<name>/  each variant's stable (and decay) mixture
    WORK/<experiment>/runs/<variant>/seed-<s>/  one training run: log.jsonl, checkpoints, manifest.json
    WORK/<experiment>/results.json, report.html

Every variant x seed trains the experiment's preset for the same steps x batch_size x seq_len tokens
(a branch trains only its decay steps, from its parent's decay-start checkpoint of the same seed),
then is evaluated in bits per byte on each domain's held-out set. A run directory is a stage
(pipelines.stage): finished runs are skipped on rerun, interrupted ones resume from their last
checkpoint, and a changed variant starts over. Results go to the catalog (experiment_results) and
to a self-contained HTML report with the verdict per comparison (pipelines.experiment_verdict).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from curation.config import to_dict
from curation.documents import read_json, write_json, write_manifest
from pipelines.experiment_config import CorpusConfig, ExperimentConfig, load_corpus
from pipelines.experiment_verdict import verdicts
from pipelines.stage import fingerprint, log, run_stage
from trainer.schedule import WSDSchedule

DEFAULT_SECONDS_PER_KTOKEN = 0.2  # 2 shared CPU cores, tiny preset, 8K vocabulary; replaced by measurements
TIMING_FILE = "timing.json"


@dataclass(frozen=True)
class PlannedRun:
    variant: str
    seed: int
    total_steps: int  # the run's schedule length (a branch counts its parent's stable steps)
    train_steps: int  # steps this run trains itself
    decay_start: int
    decay_steps: int
    parent: str | None

    @property
    def key(self) -> str:
        return f"{self.variant}/seed-{self.seed}"


def schedule_of(exp: ExperimentConfig, variant: str) -> WSDSchedule:
    """The variant's resolved schedule; a branch decays from its parent's decay start."""
    v = exp.variants[variant]
    own = exp.schedule_for(variant)
    if v.branch_from is None:
        return WSDSchedule.from_config(own, exp.steps)
    start = schedule_of(exp, v.branch_from).decay_start
    decay = own.decay_steps if own.decay_steps is not None else round(own.decay_fraction * exp.steps)
    own.decay_steps = decay
    return WSDSchedule.from_config(own, start + decay)


def plan_runs(exp: ExperimentConfig) -> list[PlannedRun]:
    """Every variant x seed, parents before their branches."""
    order = [n for n, v in exp.variants.items() if v.branch_from is None]
    order += [n for n, v in exp.variants.items() if v.branch_from is not None]
    runs = []
    for name in order:
        s = schedule_of(exp, name)
        parent = exp.variants[name].branch_from
        own = s.decay_steps if parent else s.total_steps
        runs += [PlannedRun(name, seed, s.total_steps, own, s.decay_start, s.decay_steps, parent) for seed in exp.seeds]
    return runs


def seconds_per_ktoken(work_dir: Path) -> float:
    timing = work_dir / TIMING_FILE
    if timing.is_file():
        return float(read_json(timing)["seconds_per_ktoken"])
    return DEFAULT_SECONDS_PER_KTOKEN


def _record_timing(work_dir: Path, seconds: float, tokens: int) -> None:
    """Keep a running measurement of training seconds per 1,000 tokens on this machine for --plan."""
    timing = work_dir / TIMING_FILE
    old = read_json(timing) if timing.is_file() else {"seconds": 0.0, "tokens": 0}
    total_s, total_t = old["seconds"] + seconds, old["tokens"] + tokens
    if total_t:
        write_json(timing, {"seconds": total_s, "tokens": total_t, "seconds_per_ktoken": 1000 * total_s / total_t})


def format_plan(exp: ExperimentConfig, corpus: CorpusConfig, work_dir: Path) -> tuple[str, float]:
    """The cost table: per variant its runs, steps, tokens and estimated minutes; and the total minutes."""
    tokens_per_step = exp.batch_size * corpus.seq_len
    rate = seconds_per_ktoken(work_dir)
    lines = [f"experiment {exp.name}: {len(exp.variants)} variants x {len(exp.seeds)} seeds, "
             f"{exp.steps} steps x {tokens_per_step:,} tokens ({exp.steps * tokens_per_step:,} tokens a run)",
             f"{'variant':<22}{'runs':>5}{'steps/run':>10}{'tokens/run':>12}{'minutes':>9}  from"]
    total = 0.0
    for name in exp.variants:
        runs = [r for r in plan_runs(exp) if r.variant == name]
        steps = runs[0].train_steps
        minutes = len(runs) * steps * tokens_per_step * rate / 1000 / 60
        total += minutes
        done = sum((work_dir / exp.name / "runs" / r.key / "manifest.json").is_file() for r in runs)
        origin = f"{runs[0].parent} step {runs[0].decay_start}" if runs[0].parent else "scratch"
        lines.append(f"{name:<22}{len(runs):>5}{steps:>10}{steps * tokens_per_step:>12,}{minutes:>9.1f}  {origin}"
                     + (f" ({done} done)" if done else ""))
    lines.append(f"estimated {total:.1f} minutes of training at {rate:.3f} s per 1K tokens "
                 f"({'measured' if (work_dir / TIMING_FILE).is_file() else 'default'}), plus evaluation")
    return "\n".join(lines), total


class Experiment:
    """One experiment config, its corpus, and its directories."""

    def __init__(self, exp: ExperimentConfig, work_dir: str | Path | None = None):
        self.exp = exp
        self.corpus_path = Path(exp.corpus)
        self.corpus = load_corpus(self.corpus_path)
        self.work_dir = Path(work_dir or exp.work_dir)
        self.data_dir = self.work_dir / f"data-{self.corpus_path.stem}"
        self.dir = self.work_dir / exp.name
        self.corpus_manifest: dict | None = None

    def prepare(self, executor, catalog=None, run_id=None) -> dict:
        self.corpus_manifest, _ = prepare_corpus_dir(self, executor, catalog, run_id)
        return self.corpus_manifest

    # -- mixtures ----------------------------------------------------------------------------

    def _mixture(self, name: str, spec: dict, build) -> Path:
        out = self.dir / "mixtures" / name
        key = fingerprint(spec | {"corpus": self.corpus_manifest["tokenizer_sha256"],
                                  "vocab": self.corpus_manifest["vocab_size"]}, [self.data_dir])
        run_stage("experiment_mixture", out, key, build)
        return out

    def stable_mixture(self, variant: str) -> Path:
        from pipelines.experiment_mixture import build_stable

        v = self.exp.variants[variant]
        rows = self.exp.steps * self.exp.batch_size
        spec = {"kind": "stable", "pool": v.pool, "order": v.order, "block_order": v.block_order, "rows": rows}
        name = f"stable-{v.pool}-{v.order}" + (f"-{'-'.join(v.block_order)}" if v.block_order else "")
        return self._mixture(name, spec, lambda out: build_stable(
            out, self.data_dir, self.corpus, self.corpus_manifest, v.pool, v.order, v.block_order, rows))

    def decay_mixture(self, run: PlannedRun) -> Path | None:
        from pipelines.experiment_mixture import build_decay

        v = self.exp.variants[run.variant]
        if v.decay is None or run.decay_steps == 0:
            return None
        rows = run.decay_steps * self.exp.batch_size
        checkpoint = self.branch_point(run) if v.decay.selection == "entropy" else None
        spec = {"kind": "decay", "pool": v.pool, "decay": to_dict(v.decay), "rows": rows}
        name = f"decay-{run.variant}"
        if checkpoint is not None:  # the selection depends on the seed's model
            spec["checkpoint"], name = str(checkpoint), f"{name}-seed-{run.seed}"
        return self._mixture(name, spec, lambda out: build_decay(
            out, self.data_dir, self.corpus, self.corpus_manifest, v.pool, v.decay, rows, run.seed, checkpoint))

    def branch_point(self, run: PlannedRun) -> Path:
        from trainer.checkpoint import checkpoint_dir

        path = checkpoint_dir(self.run_dir(PlannedRun(run.parent, run.seed, 0, 0, 0, 0, None)), run.decay_start)
        if not (path / "trainer.pt").is_file():
            raise ValueError(f"{path}: the parent's decay-start checkpoint is missing; run {run.parent} first")
        return path

    # -- runs --------------------------------------------------------------------------------

    def run_dir(self, run: PlannedRun) -> Path:
        return self.dir / "runs" / run.variant / f"seed-{run.seed}"

    def train_config(self, run: PlannedRun):
        from trainer.config import load_train_config

        exp, v = self.exp, self.exp.variants[run.variant]
        parent = exp.variants[run.parent] if run.parent else v
        cfg = load_train_config(exp.train, out_dir=str(self.run_dir(run)), max_steps=run.total_steps,
                                batch_size=exp.batch_size, micro_batch_size=exp.batch_size, seed=run.seed)
        cfg.max_tokens = None
        cfg.data.stable_dir = str(self.stable_mixture(run.parent or run.variant))
        decay = self.decay_mixture(run)
        cfg.data.decay_dir = str(decay) if decay else None
        cfg.data.seed, cfg.data.shuffle = run.seed, parent.order != "blocks"
        cfg.schedule = exp.schedule_for(run.variant)
        cfg.schedule.decay_steps = run.decay_steps
        cfg.eval.sets = {name: str(self.data_dir / info["dir"])
                         for name, info in self.corpus_manifest["heldout"].items()}
        cfg.eval.every_steps, cfg.eval.micro_batch_size = exp.eval_every, exp.eval_micro_batch_size
        cfg.threads, cfg.plot, cfg.keep_checkpoints = exp.threads, False, 1
        cfg.checkpoint_every = max(10, run.total_steps // 4)
        cfg.init_from = str(self.branch_point(run)) if run.parent else None
        return cfg

    def train_run(self, run: PlannedRun, catalog=None, run_id=None) -> tuple[dict, bool]:
        from trainer.loop import train

        cfg = self.train_config(run)
        mixtures = [cfg.data.stable_dir] + ([cfg.data.decay_dir] if cfg.data.decay_dir else [])
        key = fingerprint(to_dict(cfg) | {"version": 1}, mixtures)

        def build(out: Path) -> dict:
            started = time.monotonic()
            log(f"experiment {self.exp.name}: training {run.key} ({run.train_steps} steps)")
            summary = train(cfg, progress=False)
            if not summary["finished"]:
                raise AssertionError(f"{out}: training stopped at step {summary['step']}")
            seconds = time.monotonic() - started
            tokens = run.train_steps * cfg.batch_size * self.corpus_manifest["seq_len"]
            _record_timing(self.work_dir, seconds, tokens)
            manifest = {"stage": "experiment_run", "variant": run.variant, "seed": run.seed,
                        "steps": run.total_steps, "train_steps": run.train_steps, "tokens": tokens,
                        "seconds": round(seconds, 2),
                        "bits_per_byte": {d: r["bits_per_byte"] for d, r in summary["eval"].items()},
                        "curve": eval_curve(out), "config": to_dict(cfg)}
            write_manifest(out, manifest)  # last: its presence marks the run finished
            return manifest

        return run_stage("experiment_run", self.run_dir(run), key, build)

    def run(self, catalog=None, run_id=None) -> dict:
        """Train every run not yet finished; write results.json and the report; return the results."""
        started = time.monotonic()
        records, trained = [], 0
        for run in plan_runs(self.exp):
            manifest, skipped = self.train_run(run)
            trained += not skipped
            records.append({k: manifest[k] for k in ("variant", "seed", "steps", "train_steps", "tokens", "seconds",
                                                      "bits_per_byte", "curve")})
        results = {"experiment": self.exp.name, "question": self.exp.question, "runs": records,
                   "trained": trained, "seconds": round(time.monotonic() - started, 1),
                   "config": to_dict(self.exp), "heldout": self.corpus_manifest["heldout"],
                   "verdicts": [asdict(v) | {"text": v.text} for v in verdicts(self.exp.pairs(), per_variant(records))]}
        write_json(self.dir / "results.json", results)
        if catalog is not None and run_id is not None:
            catalog.record_experiment(run_id, self.exp.name, records)
        from pipelines.experiment_report import write_experiment_report

        write_experiment_report(self.dir / "report.html", results)
        return results


def prepare_corpus_dir(experiment: Experiment, executor, catalog=None, run_id=None):
    from pipelines.experiment_corpus import prepare_corpus

    return prepare_corpus(experiment.corpus, experiment.data_dir, executor, catalog, run_id)


def eval_curve(run_dir: Path) -> list[dict]:
    """The run's evaluations in order: [{step, bits_per_byte: {domain: value}}]."""
    path = run_dir / "log.jsonl"
    if not path.is_file():
        return []
    curve = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("kind") == "eval":
            curve.append({"step": record["step"],
                          "bits_per_byte": {d: r["bits_per_byte"] for d, r in record["sets"].items()}})
    return curve


def per_variant(records: list[dict]) -> dict[str, dict[str, list[float]]]:
    """results[variant][domain] = bits per byte per seed (in seed order)."""
    out: dict[str, dict[str, list[float]]] = {}
    for r in sorted(records, key=lambda r: (r["variant"], r["seed"])):
        for domain, value in r["bits_per_byte"].items():
            out.setdefault(r["variant"], {}).setdefault(domain, []).append(value)
    return out
