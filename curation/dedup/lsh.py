"""LSH banding: choosing bands x rows for a threshold, and the S-curve those parameters give.

Two documents with Jaccard similarity s share at least one of b bands of r signature values with
probability P(s) = 1 - (1 - s^r)^b (the S-curve). The false-positive area is the integral of P
below the threshold, the false-negative area the integral of 1 - P above it; the search picks the
(b, r) with b * r <= num_perm that minimises their weighted sum (datasketch's criterion, computed
here for every (b, r) at once). Candidates are verified against the signature estimate before they
merge clusters, so false positives cost only verification work: the default config weights false
negatives higher. A verified pair must also have an estimate >= threshold: with k values that
estimate is Binomial(k, s) / k, which `acceptance_probability` folds into the curve.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

S_CURVE_POINTS = (0.5, 0.7, 0.8, 0.85, 0.9)
_GRID_POINTS = 2001


@dataclass(frozen=True)
class LshParams:
    """Bands x rows over a signature of num_perm values, and the expected error areas."""

    num_perm: int
    bands: int
    rows: int
    threshold: float
    false_positive_area: float
    false_negative_area: float

    def candidate_probability(self, similarity: float | np.ndarray) -> float | np.ndarray:
        """P(two documents of this Jaccard similarity share a band): the S-curve."""
        return 1.0 - (1.0 - np.asarray(similarity, dtype=np.float64) ** self.rows) ** self.bands

    def s_curve(self, points: tuple[float, ...] = S_CURVE_POINTS) -> dict[str, dict[str, float]]:
        """{similarity: {candidate, accepted}}: LSH probability, and with the verification step."""
        return {f"{s:.2f}": {"candidate": round(float(self.candidate_probability(s)), 4),
                             "accepted": round(float(self.candidate_probability(s))
                                               * acceptance_probability(s, self.threshold, self.num_perm), 4)}
                for s in points}

    def as_dict(self) -> dict:
        return asdict(self) | {"s_curve": self.s_curve()}

    def describe(self) -> str:
        """One line: the parameters, the error areas, and the S-curve."""
        curve = ", ".join(f"P({s})={v['candidate']:.3f}/{v['accepted']:.3f}" for s, v in self.s_curve().items())
        return (f"LSH {self.bands} bands x {self.rows} rows of {self.num_perm} (threshold {self.threshold}): "
                f"false-positive area {self.false_positive_area:.4f}, false-negative area "
                f"{self.false_negative_area:.4f}; candidate/accepted {curve}")


def _areas(threshold: float, bands: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False-positive and false-negative areas of the S-curves of many (bands, rows) at once."""
    s = np.linspace(0.0, 1.0, _GRID_POINTS)[None, :]
    p = 1.0 - (1.0 - s ** rows[:, None]) ** bands[:, None]
    below = s[0] <= threshold
    fp = np.trapezoid(np.where(below, p, 0.0), s[0], axis=1)
    fn = np.trapezoid(np.where(~below, 1.0 - p, 0.0), s[0], axis=1)
    return fp, fn  # exact cut at the threshold for thresholds on the 0.0005 grid


def choose_params(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
                  false_negative_weight: float = 0.5) -> LshParams:
    """The (bands, rows) minimising the weighted false-positive plus false-negative areas."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    pairs = np.array([(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)])
    fp, fn = _areas(threshold, pairs[:, 0], pairs[:, 1])
    cost = false_positive_weight * fp + false_negative_weight * fn
    best = int(np.argmin(cost))  # ties: the first, i.e. fewest bands
    bands, rows = (int(x) for x in pairs[best])
    return LshParams(num_perm, bands, rows, threshold, round(float(fp[best]), 6), round(float(fn[best]), 6))


def fixed_params(threshold: float, num_perm: int, bands: int, rows: int) -> LshParams:
    """Given (bands, rows), with their error areas computed."""
    if bands * rows > num_perm:
        raise ValueError(f"bands x rows = {bands * rows} exceeds num_perm {num_perm}")
    fp, fn = _areas(threshold, np.array([bands]), np.array([rows]))
    return LshParams(num_perm, bands, rows, threshold, round(float(fp[0]), 6), round(float(fn[0]), 6))


def params_for(config) -> LshParams:
    """The LSH parameters a DedupConfig asks for: fixed when it sets bands and rows, else searched."""
    if config.bands is not None:
        return fixed_params(config.threshold, config.num_perm, config.bands, config.rows)
    return choose_params(config.threshold, config.num_perm, config.false_positive_weight,
                         config.false_negative_weight)


def acceptance_probability(similarity: float, threshold: float, num_perm: int) -> float:
    """P(estimate >= threshold) when the estimate is Binomial(num_perm, similarity) / num_perm."""
    need = math.ceil(threshold * num_perm - 1e-9)
    if similarity >= 1.0:
        return 1.0
    if similarity <= 0.0:
        return 0.0 if need > 0 else 1.0
    k = np.arange(need, num_perm + 1)
    log_pmf = (np.array([math.lgamma(num_perm + 1) - math.lgamma(x + 1) - math.lgamma(num_perm - x + 1)
                         for x in k]) + k * math.log(similarity) + (num_perm - k) * math.log1p(-similarity))
    return float(np.exp(log_pmf).sum())
