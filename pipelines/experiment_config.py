"""Experiment configs (configs/experiments/*.yaml): variants that differ in one data decision.

An experiment names a corpus (configs/experiments/corpora/*.yaml: the domains, their held-out
split, the tokenizer), a trainer preset, one token budget (steps x batch_size x seq_len), the
seeds, and its variants. A variant says where its pre-training documents come from (`pool`: raw,
cleaned or deduplicated), in which order they are read (`order`), its learning-rate schedule
(`schedule`, keys of trainer.schedule.ScheduleConfig), what its decay phase reads (`decay`), and
whether it branches from another variant's stable-phase checkpoint (`branch_from`, same seed).
A default set (configs/experiments/default.yaml) lists experiment files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.config import ConfigError, from_dict, load_config
from trainer.schedule import ScheduleConfig

POOLS = ("raw", "cleaned", "deduped")
ORDERS = ("shuffled", "blocks")
SELECTIONS = ("all", "random", "entropy")
BANDS = ("low", "middle", "high")


@dataclass
class DomainConfig:
    """One evaluation domain and its documents: paths under corpora_dir, a clean profile."""

    paths: list[str] = field(default_factory=list)
    clean: str | None = None  # a profile name (configs/clean/NAME.yaml) or YAML path; None: cleaned = raw
    format: str = "text"  # text | chat (instruction conversations: never pre-training data)
    group_by: str = "id"  # id | repo: held-out split by document id, or by repository (code)


@dataclass
class CorpusConfig:
    corpora_dir: str = "../shared/corpora"
    tokenizer: str = ""  # a sentencepiece model; "": train a BPE of tokenizer_vocab_size on the train split
    tokenizer_vocab_size: int = 8000
    dedup: str = "configs/dedup/default.yaml"
    heldout_percent: int = 10  # documents whose split key hashes below this (of 100) are held out
    max_heldout_bytes: int = 40_000  # UTF-8 bytes scored per domain
    seq_len: int = 128
    domains: dict[str, DomainConfig] = field(default_factory=dict)

    def validate(self, where: str) -> CorpusConfig:
        if not self.domains:
            raise ConfigError(f"{where}: a corpus needs domains")
        for name, domain in self.domains.items():
            if domain.format not in ("text", "chat"):
                raise ConfigError(f"{where}: domains.{name}.format must be text or chat, got {domain.format!r}")
            if domain.group_by not in ("id", "repo"):
                raise ConfigError(f"{where}: domains.{name}.group_by must be id or repo, got {domain.group_by!r}")
            if not domain.paths:
                raise ConfigError(f"{where}: domains.{name}.paths is empty")
        if not 0 < self.heldout_percent < 100:
            raise ConfigError(f"{where}: heldout_percent must be in (0, 100), got {self.heldout_percent}")
        return self

    @property
    def text_domains(self) -> list[str]:
        return [n for n, d in self.domains.items() if d.format == "text"]

    @property
    def chat_domains(self) -> list[str]:
        return [n for n, d in self.domains.items() if d.format == "chat"]


@dataclass
class DecayDataConfig:
    """What the decay phase reads: pre-training documents plus a share of instruction tokens."""

    instruction_share: float = 0.0  # fraction of decay tokens that are instruction conversations
    selection: str = "all"  # all | random | entropy (curate select-sft on the branch point)
    keep: int = 0  # conversations kept by random or entropy selection
    band: str = "middle"  # entropy band kept: low | middle | high mean cross-entropy


@dataclass
class VariantConfig:
    pool: str = "deduped"
    order: str = "shuffled"
    block_order: list[str] = field(default_factory=list)  # order=blocks: domains first to last
    schedule: dict[str, Any] = field(default_factory=dict)
    decay: DecayDataConfig | None = None  # None: the stable mixture goes on through the decay
    branch_from: str | None = None  # a variant whose decay-start checkpoint this one starts from


@dataclass
class ExperimentConfig:
    name: str = ""
    question: str = ""
    corpus: str = "configs/experiments/corpora/sample.yaml"
    train: str = "configs/train/tiny.yaml"
    work_dir: str = "work/experiments"
    steps: int = 120
    batch_size: int = 16
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    schedule: dict[str, Any] = field(default_factory=dict)  # shared by variants
    comparisons: list[list[str]] = field(default_factory=list)  # [A, B]: does B beat A; default: vs first
    variants: dict[str, VariantConfig] = field(default_factory=dict)
    eval_every: int = 0  # also evaluate every N steps (curves in the report); 0: decay start and end
    eval_micro_batch_size: int = 16
    threads: int = 2

    def validate(self, where: str) -> ExperimentConfig:
        if not self.name:
            raise ConfigError(f"{where}: name is required")
        if len(self.variants) < 2:
            raise ConfigError(f"{where}: an experiment needs at least two variants")
        if not self.seeds:
            raise ConfigError(f"{where}: seeds is empty")
        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError(f"{where}: steps and batch_size must be >= 1")
        for name, v in self.variants.items():
            key = f"{where}: variants.{name}"
            if v.pool not in POOLS:
                raise ConfigError(f"{key}.pool must be one of {', '.join(POOLS)}, got {v.pool!r}")
            if v.order not in ORDERS:
                raise ConfigError(f"{key}.order must be one of {', '.join(ORDERS)}, got {v.order!r}")
            try:
                from_dict(ScheduleConfig, self.schedule | v.schedule, where, f"variants.{name}.schedule.")
            except ConfigError as exc:
                raise ConfigError(str(exc)) from None
            if v.branch_from is not None:
                parent = self.variants.get(v.branch_from)
                if parent is None or parent.branch_from is not None:
                    raise ConfigError(f"{key}.branch_from must name a variant that is not itself a branch, "
                                      f"got {v.branch_from!r}")
            if v.decay is not None:
                d = v.decay
                if d.selection not in SELECTIONS or d.band not in BANDS:
                    raise ConfigError(f"{key}.decay: selection must be one of {', '.join(SELECTIONS)} and band "
                                      f"one of {', '.join(BANDS)}")
                if not 0.0 <= d.instruction_share < 1.0:
                    raise ConfigError(f"{key}.decay.instruction_share must be in [0, 1)")
                if d.selection != "all" and d.keep < 1:
                    raise ConfigError(f"{key}.decay: selection {d.selection} needs keep >= 1")
                if d.selection == "entropy" and v.branch_from is None:
                    raise ConfigError(f"{key}.decay: entropy selection scores with the branch point's model; "
                                      f"set branch_from")
        for pair in self.comparisons:
            if len(pair) != 2 or any(p not in self.variants for p in pair):
                raise ConfigError(f"{where}: comparisons must be pairs of variant names, got {pair!r}")
        return self

    def schedule_for(self, variant: str) -> ScheduleConfig:
        return from_dict(ScheduleConfig, self.schedule | self.variants[variant].schedule)

    def pairs(self) -> list[tuple[str, str]]:
        if self.comparisons:
            return [(a, b) for a, b in self.comparisons]
        names = list(self.variants)
        return [(names[0], other) for other in names[1:]]


@dataclass
class ExperimentSet:
    experiments: list[str] = field(default_factory=list)


def load_experiment(path: str | Path, **overrides) -> ExperimentConfig:
    """Read configs/experiments/NAME.yaml; unknown keys are an error naming the key and file."""
    return load_config(path, ExperimentConfig, overrides).validate(str(path))


def load_corpus(path: str | Path) -> CorpusConfig:
    return load_config(path, CorpusConfig).validate(str(path))


def experiment_files(path: str | Path) -> list[Path]:
    """An experiment file as itself; a set file (`experiments: [...]`) as its members, relative to it."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    if isinstance(raw, dict) and "experiments" in raw:
        listed = load_config(path, ExperimentSet).experiments
        if not listed:
            raise ConfigError(f"{path}: experiments is empty")
        return [path.parent / name for name in listed]
    return [path]
