"""Mixture recipes: a YAML file validated into a typed `Recipe`, and the inputs each source reads.

A recipe names its sources with paths and weights **in tokens** (shares of the mixture, normalised
to sum to 1), a budget (a token count, or a model size times a tokens-per-parameter ratio: MiniCPM
argues ~192), `seq_len`, the tokenizer, a seed and the most epochs any source may be repeated.
`mixtures.plan` turns a recipe plus what each source holds into token targets and epochs.

    stage: stable
    tokenizer: ../shared/corpora/tokenizers/chinese_llama2_tokenizer.model
    seq_len: 2048
    seed: 1234
    budget: {model_params: 100000, tokens_per_param: 192}
    max_epochs: 4
    on_infeasible: fail        # fail | shrink (lower the budget) | redistribute (move the excess)
    sources:
      cc_zh: {weight: 0.25, path: work/sample/ingest/cc_zh, prefer_path: work/sample/dedup/cc_zh}
      sft_zh: {weight: 0.05, format: chat, path: [../shared/corpora/sft/*_zh_*.jsonl]}

Relative paths are relative to the directory `curate` runs in (the repository root), as in the
pipeline configs. `prefer_path` is read instead of `path` when it holds a complete stage directory
(a manifest), so a recipe picks up the deduplicated corpus once `curate dedup` has produced it.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from curation.config import ConfigError, load_config, to_dict
from curation.documents import MANIFEST_NAME, list_shards

STAGES = ("stable", "decay")
FORMATS = ("documents", "chat")
ON_INFEASIBLE = ("fail", "shrink", "redistribute")
# Source names end up in file names and manifest keys.
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DEFAULT_SEGMENT_SEQS = 4


@dataclass
class SourceSpec:
    """One source of a recipe: where it lives, its weight in tokens, how it is read."""

    weight: float
    path: str | list[str]
    format: str = "documents"  # documents: document directories; chat: JSONL (or ingested) conversations
    max_epochs: float | None = None  # default: the recipe's max_epochs
    prefer_path: str | None = None  # used instead of `path` when it is a complete stage directory


@dataclass
class BudgetSpec:
    """The total number of tokens: `num_tokens`, or `model_params * tokens_per_param`."""

    num_tokens: int | None = None
    model_params: int | None = None
    tokens_per_param: float = 192.0


@dataclass
class Recipe:
    stage: str
    tokenizer: str
    sources: dict[str, SourceSpec]
    budget: BudgetSpec
    name: str = ""
    seq_len: int = 2048
    seed: int = 0
    max_epochs: float = 4.0
    on_infeasible: str = "fail"
    rows_per_shard: int = 1024
    # Documents longer than this are cut into segments that are shuffled apart (so one long book is
    # not a block of hundreds of consecutive rows); default DEFAULT_SEGMENT_SEQS * seq_len.
    segment_tokens: int | None = None
    source_file: str = ""  # where the recipe was read from (set by load_recipe)

    @property
    def row_tokens(self) -> int:
        """Tokens per packed row: seq_len inputs plus the one extra target."""
        return self.seq_len + 1

    @property
    def max_segment_tokens(self) -> int:
        return self.segment_tokens or DEFAULT_SEGMENT_SEQS * self.seq_len

    def budget_tokens(self) -> int:
        if self.budget.num_tokens is not None:
            return self.budget.num_tokens
        return round(self.budget.model_params * self.budget.tokens_per_param)

    def source_max_epochs(self, name: str) -> float:
        spec = self.sources[name]
        return self.max_epochs if spec.max_epochs is None else spec.max_epochs

    def weight_shares(self) -> dict[str, float]:
        """The recipe weights normalised to sum to 1, in source order."""
        total = sum(s.weight for s in self.sources.values())
        return {name: spec.weight / total for name, spec in self.sources.items()}

    def to_dict(self) -> dict:
        return to_dict(self)


def load_recipe(path: str | Path, overrides: dict | None = None) -> Recipe:
    """Read and validate a recipe YAML file (overrides: top-level keys, e.g. seed)."""
    recipe = load_config(path, Recipe, overrides)
    recipe.source_file = str(path)
    validate_recipe(recipe, str(path))
    return recipe


def validate_recipe(recipe: Recipe, where: str = "<recipe>") -> None:
    """Reject values the planner cannot use; every message names the file and key."""
    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{where}: {key} {why}")

    if recipe.stage not in STAGES:
        raise bad("stage", f"must be one of {', '.join(STAGES)}, got {recipe.stage!r}")
    if recipe.on_infeasible not in ON_INFEASIBLE:
        raise bad("on_infeasible", f"must be one of {', '.join(ON_INFEASIBLE)}, got {recipe.on_infeasible!r}")
    for key in ("seq_len", "rows_per_shard"):
        if getattr(recipe, key) < 1:
            raise bad(key, f"must be at least 1, got {getattr(recipe, key)}")
    if recipe.segment_tokens is not None and recipe.segment_tokens < 1:
        raise bad("segment_tokens", f"must be at least 1, got {recipe.segment_tokens}")
    if not recipe.max_epochs > 0:
        raise bad("max_epochs", f"must be positive, got {recipe.max_epochs}")
    budget = recipe.budget
    if (budget.num_tokens is None) == (budget.model_params is None):
        raise bad("budget", "needs exactly one of num_tokens or model_params")
    if budget.num_tokens is not None and budget.num_tokens < 1:
        raise bad("budget.num_tokens", f"must be at least 1, got {budget.num_tokens}")
    if budget.model_params is not None and not (budget.model_params > 0 and budget.tokens_per_param > 0):
        raise bad("budget", "model_params and tokens_per_param must be positive")
    if not recipe.sources:
        raise bad("sources", "must name at least one source")
    for name, spec in recipe.sources.items():
        if not _SOURCE_NAME.match(name):
            raise bad(f"sources.{name}", "is not a valid source name (letters, digits, _ . -)")
        if not spec.weight > 0:
            raise bad(f"sources.{name}.weight", f"must be positive, got {spec.weight}")
        if spec.format not in FORMATS:
            raise bad(f"sources.{name}.format", f"must be one of {', '.join(FORMATS)}, got {spec.format!r}")
        if spec.max_epochs is not None and not spec.max_epochs > 0:
            raise bad(f"sources.{name}.max_epochs", f"must be positive, got {spec.max_epochs}")
        if not spec.path:
            raise bad(f"sources.{name}.path", "is empty")


def source_inputs(recipe: Recipe, name: str) -> list[Path]:
    """The files and directories a source reads: `prefer_path` when complete, else `path` (globs expanded)."""
    spec = recipe.sources[name]
    if spec.prefer_path and (Path(spec.prefer_path) / MANIFEST_NAME).is_file():
        return [Path(spec.prefer_path)]
    patterns = [spec.path] if isinstance(spec.path, str) else list(spec.path)
    inputs: list[Path] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches or not all(Path(m).exists() for m in matches):
            raise ConfigError(f"{recipe.source_file or '<recipe>'}: sources.{name}.path: {pattern} not found")
        inputs.extend(Path(m) for m in matches)
    for path in inputs:
        if spec.format == "documents" and not (path.is_dir() and list_shards(path)) and path.suffix != ".parquet":
            raise ConfigError(f"{recipe.source_file or '<recipe>'}: sources.{name}.path: {path} is not a "
                              f"document directory (Parquet shards); run `curate ingest` on it first")
    return inputs
