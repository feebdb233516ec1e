"""Seed spread and a plain verdict per comparison and domain.

Every variant is trained with the same seeds (model initialisation and data order). For a domain,
a variant's result is the mean bits per byte over its seeds, and its spread is the range
(max - min) over them. The rule:

    B beats A on D   when  mean_A - mean_B > max(range_A, range_B)   (lower bits/byte is better)
    A beats B on D   when  mean_B - mean_A > max(range_A, range_B)
    otherwise        "no difference within the spread"

With fewer than two seeds on either side there is no spread, and no verdict is given.

The larger of the two seed ranges is a deliberately conservative yardstick for three seeds: a
difference smaller than what re-seeding one variant moves its own result is not called an effect.
It is not a significance test, and with three seeds it cannot be one; it says "this gap is bigger
than anything the seeds alone did here".
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SEEDS = 2  # with one seed there is no spread, so no verdict
RULE = ("B beats A on a domain when its mean bits/byte over the seeds is lower by more than the larger "
        "of the two seed ranges (max - min over seeds); otherwise no difference within the spread.")


@dataclass(frozen=True)
class Summary:
    mean: float
    low: float
    high: float
    num_seeds: int

    @property
    def spread(self) -> float:
        return self.high - self.low


def summarize(values: list[float]) -> Summary:
    if not values:
        raise ValueError("no results to summarize")
    return Summary(sum(values) / len(values), min(values), max(values), len(values))


@dataclass(frozen=True)
class Verdict:
    a: str
    b: str
    domain: str
    difference: float  # mean_B - mean_A (negative: B is better)
    spread: float  # max(range_A, range_B)
    winner: str | None  # a, b, or None for no difference
    num_seeds: int = 3  # the fewer of the two variants' seed counts

    @property
    def text(self) -> str:
        gap = abs(self.difference)
        if self.num_seeds < MIN_SEEDS:
            return (f"not judged on {self.domain}: {self.num_seeds} seed(s), a spread needs {MIN_SEEDS} "
                    f"({self.b} - {self.a} = {self.difference:+.4f} bits/byte)")
        if self.winner is None:
            return (f"no difference on {self.domain} within the spread ({self.b} - {self.a} = "
                    f"{self.difference:+.4f} bits/byte, seed spread {self.spread:.4f})")
        loser = self.a if self.winner == self.b else self.b
        return (f"{self.winner} beats {loser} on {self.domain} by {gap:.4f} bits/byte, beyond the seed "
                f"spread ({self.spread:.4f})")


def compare(a: str, b: str, domain: str, results_a: list[float], results_b: list[float]) -> Verdict:
    """The verdict for B against A on one domain (the rule in the module docstring)."""
    sa, sb = summarize(results_a), summarize(results_b)
    difference = sb.mean - sa.mean
    spread = max(sa.spread, sb.spread)
    num_seeds = min(sa.num_seeds, sb.num_seeds)
    winner = None
    if abs(difference) > spread and num_seeds >= MIN_SEEDS:
        winner = b if difference < 0 else a
    return Verdict(a, b, domain, difference, spread, winner, num_seeds)


def verdicts(pairs: list[tuple[str, str]], results: dict[str, dict[str, list[float]]]) -> list[Verdict]:
    """Every pair x every domain both variants were evaluated on; results[variant][domain] = per seed."""
    out = []
    for a, b in pairs:
        for domain in results[a]:
            if domain in results[b]:
                out.append(compare(a, b, domain, results[a][domain], results[b][domain]))
    return out
