"""Planning a mixture: integer token targets and epochs per source, checked against what sources hold.

The budget is rounded to a whole number of packed rows (`seq_len + 1` tokens each), and split into
integer per-source targets by largest remainder, so the targets sum to exactly rows * row_tokens and
packing never pads. A source whose target needs more than its `max_epochs` passes over its tokens
makes the recipe infeasible: planning fails with one line naming the sources and numbers, or, when
the recipe says so, re-plans: `shrink` lowers the budget until every source fits at the recipe's
shares; `redistribute` caps those sources at max_epochs and spreads the rest over the others by
weight (water-filling), so shares move but the budget holds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from mixtures.recipe import Recipe


class MixtureError(ValueError):
    """A recipe that cannot be built as written: the message names the sources and the numbers."""


@dataclass(frozen=True)
class Holding:
    """What a source holds: documents, text bytes and tokens (exact once tokenized, else estimated)."""

    num_docs: int
    num_bytes: int
    num_tokens: int
    exact: bool


@dataclass(frozen=True)
class SourcePlan:
    name: str
    weight_share: float  # the recipe weight, normalised
    target_share: float  # target_tokens / total_tokens (differs from weight_share after redistribute)
    target_tokens: int
    available_tokens: int
    available_exact: bool
    max_epochs: float

    @property
    def epochs(self) -> float:
        """Passes over the source's tokens the target needs (fractional)."""
        return self.target_tokens / self.available_tokens if self.available_tokens else math.inf


@dataclass(frozen=True)
class Plan:
    stage: str
    seq_len: int
    row_tokens: int
    num_rows: int
    rows_per_shard: int
    sources: dict[str, SourcePlan]
    replanned: str = ""  # what re-planning changed, empty when the recipe held as written

    @property
    def total_tokens(self) -> int:
        return self.num_rows * self.row_tokens

    @property
    def num_shards(self) -> int:
        return -(-self.num_rows // self.rows_per_shard)

    def to_dict(self) -> dict:
        return {"stage": self.stage, "seq_len": self.seq_len, "row_tokens": self.row_tokens,
                "num_rows": self.num_rows, "num_tokens": self.total_tokens, "num_shards": self.num_shards,
                "rows_per_shard": self.rows_per_shard, "replanned": self.replanned,
                "sources": {n: asdict(s) | {"epochs": round(s.epochs, 6)} for n, s in self.sources.items()}}


def allocate(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Split `total` into integers proportional to `shares` (largest remainder; ties by name)."""
    norm = sum(shares.values())
    exact = {name: total * share / norm for name, share in shares.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    left = total - sum(counts.values())
    for name in sorted(exact, key=lambda n: (counts[n] - exact[n], n))[:left]:
        counts[name] += 1
    return counts


def _caps(recipe: Recipe, holdings: dict[str, Holding]) -> dict[str, int]:
    return {name: math.floor(recipe.source_max_epochs(name) * holdings[name].num_tokens) for name in recipe.sources}


def _infeasible_message(recipe: Recipe, holdings: dict[str, Holding], targets: dict[str, int], total: int) -> str:
    parts = []
    for name, target in targets.items():
        held, max_epochs = holdings[name], recipe.source_max_epochs(name)
        if target <= max_epochs * held.num_tokens:
            continue
        need = f"{target / held.num_tokens:.2f} epochs" if held.num_tokens else "tokens"
        parts.append(f"source {name!r} needs {need} ({target / total:.1%} of {total:,} tokens = {target:,}) "
                     f"but holds {'' if held.exact else '~'}{held.num_tokens:,} tokens and allows "
                     f"max_epochs {max_epochs:g}")
    where = recipe.source_file or "recipe"
    return (f"{where}: cannot be met: " + "; ".join(parts) +
            "; lower its weight or the budget, raise max_epochs, or set on_infeasible: shrink or redistribute")


def _shrink(recipe: Recipe, holdings: dict[str, Holding], caps: dict[str, int]) -> int:
    """The most rows at which every source's share fits inside its cap."""
    shares = recipe.weight_shares()
    rows = min(math.floor(caps[n] / shares[n]) for n in shares) // recipe.row_tokens
    while rows > 0:
        targets = allocate(rows * recipe.row_tokens, shares)
        if all(targets[n] <= caps[n] for n in shares):
            return rows
        rows -= 1  # largest-remainder rounding put a capped source one token over
    raise MixtureError(f"{recipe.source_file or 'recipe'}: cannot be met even after shrinking: some source "
                       f"holds too few tokens for one row of {recipe.row_tokens:,}")


def _redistribute(recipe: Recipe, total: int, caps: dict[str, int]) -> dict[str, int]:
    """Cap sources at max_epochs and give what they cannot take to the others, by weight."""
    weights = {n: s.weight for n, s in recipe.sources.items()}
    capped: dict[str, int] = {}
    while True:
        free = {n: w for n, w in weights.items() if n not in capped}
        remaining = total - sum(capped.values())
        if not free:
            raise MixtureError(f"{recipe.source_file or 'recipe'}: cannot be met even redistributing: all "
                               f"sources at max_epochs hold {sum(caps.values()):,} tokens, the budget is {total:,}")
        targets = allocate(remaining, free)
        over = [n for n in free if targets[n] > caps[n]]
        if not over:
            return {n: capped.get(n, targets.get(n)) for n in weights}
        capped.update({n: caps[n] for n in over})


def plan_mixture(recipe: Recipe, holdings: dict[str, Holding]) -> Plan:
    """Targets and epochs per source; raises MixtureError or re-plans when a source is too small."""
    row_tokens = recipe.row_tokens
    rows = max(1, round(recipe.budget_tokens() / row_tokens))
    shares = recipe.weight_shares()
    caps = _caps(recipe, holdings)
    targets = allocate(rows * row_tokens, shares)
    replanned = ""
    if any(targets[n] > caps[n] for n in targets):
        message = _infeasible_message(recipe, holdings, targets, rows * row_tokens)
        if recipe.on_infeasible == "fail":
            raise MixtureError(message)
        if recipe.on_infeasible == "shrink":
            new_rows = _shrink(recipe, holdings, caps)
            replanned = f"shrink: budget lowered from {rows * row_tokens:,} to {new_rows * row_tokens:,} tokens"
            rows = new_rows
            targets = allocate(rows * row_tokens, shares)
        else:
            wanted, targets = targets, _redistribute(recipe, rows * row_tokens, caps)
            moved = [n for n in targets if targets[n] < wanted[n]]
            replanned = f"redistribute: {', '.join(moved)} capped at max_epochs, the rest spread by weight"
    total = rows * row_tokens
    assert sum(targets.values()) == total
    sources = {n: SourcePlan(name=n, weight_share=shares[n], target_share=targets[n] / total,
                             target_tokens=targets[n], available_tokens=holdings[n].num_tokens,
                             available_exact=holdings[n].exact, max_epochs=recipe.source_max_epochs(n))
               for n in recipe.sources}
    return Plan(stage=recipe.stage, seq_len=recipe.seq_len, row_tokens=row_tokens, num_rows=rows,
                rows_per_shard=recipe.rows_per_shard, sources=sources, replanned=replanned)


def format_plan(plan: Plan) -> str:
    """The plan as a table: share, target tokens, available tokens and epochs per source."""
    lines = [f"{'source':<16} {'weight':>7} {'share':>7} {'target tokens':>15} {'available':>15} "
             f"{'epochs':>7} {'max':>5}"]
    for s in plan.sources.values():
        available = f"{'' if s.available_exact else '~'}{s.available_tokens:,}"
        lines.append(f"{s.name:<16} {s.weight_share:>7.2%} {s.target_share:>7.2%} {s.target_tokens:>15,} "
                     f"{available:>15} {s.epochs:>7.2f} {s.max_epochs:>5g}")
    lines.append(f"{plan.stage}: {plan.total_tokens:,} tokens = {plan.num_rows:,} rows of {plan.row_tokens:,} "
                 f"(seq_len {plan.seq_len:,} + 1) in {plan.num_shards:,} shards"
                 + (f"; re-planned ({plan.replanned})" if plan.replanned else ""))
    return "\n".join(lines)
