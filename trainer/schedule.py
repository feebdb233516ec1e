"""The Warmup-Stable-Decay learning-rate schedule (MiniCPM section 4) as a pure function of the step.

    factor(s) = (s + 1) / W                       s < W             (linear warmup)
              = 1                                 W <= s < S        (stable)
              = floor + (1 - floor) f((s - S) / D)  S <= s < S + D    (decay)

with f(0) = 1 and the decay kinds (x = (s - S) / D in [0, 1)):
exponential 0.5 ** ((s - S) / T_half) (MiniCPM; T_half defaults to D / 5, ending near 1/32),
linear 1 - x, cosine (1 + cos(pi x)) / 2, 1-sqrt 1 - sqrt(x).

Because the rate never depends on steps not yet taken, a checkpoint from the stable phase (step <=
S) can branch into several decays (other D, kind, or decay mixture) without retraining the stable
phase: `WSDSchedule.branch`, and `agrees_until` checks that a resumed run's schedule is consistent
with the steps already trained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

DECAY_KINDS = ("exponential", "linear", "cosine", "1-sqrt")


@dataclass
class ScheduleConfig:
    """The YAML side: warmup steps, decay kind, and the decay length as a fraction of the run."""

    warmup_steps: int = 100
    decay: str = "exponential"
    decay_fraction: float = 0.1
    decay_steps: int | None = None  # overrides decay_fraction
    half_life_fraction: float = 0.2  # exponential only: T_half = half_life_fraction * decay steps
    half_life_steps: float | None = None  # exponential only: overrides half_life_fraction (MiniCPM: 5000)
    min_lr_ratio: float = 0.0  # the floor the decay approaches, as a fraction of the peak


@dataclass(frozen=True)
class WSDSchedule:
    """A resolved WSD schedule: warmup W, decay start S, decay length D (total steps S + D)."""

    warmup_steps: int
    decay_start: int
    decay_steps: int
    decay: str = "exponential"
    half_life_steps: float = 1.0
    min_lr_ratio: float = 0.0

    def __post_init__(self):
        if self.decay not in DECAY_KINDS:
            raise ValueError(f"schedule.decay must be one of {', '.join(DECAY_KINDS)}, got {self.decay!r}")
        if self.warmup_steps < 0 or self.decay_steps < 0 or self.decay_start < self.warmup_steps:
            raise ValueError(f"schedule needs 0 <= warmup ({self.warmup_steps}) <= decay start "
                             f"({self.decay_start}) and decay steps >= 0 ({self.decay_steps})")
        if not 0.0 <= self.min_lr_ratio < 1.0:
            raise ValueError(f"schedule.min_lr_ratio must be in [0, 1), got {self.min_lr_ratio}")
        if self.half_life_steps <= 0:
            raise ValueError(f"schedule half life must be > 0 steps, got {self.half_life_steps}")

    @classmethod
    def from_config(cls, cfg: ScheduleConfig, total_steps: int) -> WSDSchedule:
        """Lay the config over a run of total_steps (decay = decay_steps or decay_fraction of it)."""
        if total_steps < 1:
            raise ValueError(f"a run needs at least one step, got {total_steps}")
        if not 0.0 <= cfg.decay_fraction <= 1.0:
            raise ValueError(f"schedule.decay_fraction must be in [0, 1], got {cfg.decay_fraction}")
        decay_steps = cfg.decay_steps if cfg.decay_steps is not None else round(cfg.decay_fraction * total_steps)
        if cfg.warmup_steps < 0 or decay_steps < 0:
            raise ValueError(f"schedule.warmup_steps ({cfg.warmup_steps}) and decay steps ({decay_steps}) must be >= 0")
        # A quick run (--max-steps) shorter than warmup + decay keeps its decay and cuts the warmup.
        decay_steps = min(decay_steps, total_steps)
        warmup_steps = min(cfg.warmup_steps, total_steps - decay_steps)
        half_life = cfg.half_life_steps or (cfg.half_life_fraction * decay_steps if decay_steps else 1.0)
        return cls(warmup_steps=warmup_steps, decay_start=total_steps - decay_steps, decay_steps=decay_steps,
                   decay=cfg.decay, half_life_steps=half_life, min_lr_ratio=cfg.min_lr_ratio)

    @property
    def total_steps(self) -> int:
        return self.decay_start + self.decay_steps

    def phase(self, step: int) -> str:
        if step < self.warmup_steps:
            return "warmup"
        return "stable" if step < self.decay_start else "decay"

    def factor(self, step: int) -> float:
        """The learning rate of step `step` (0-based) as a fraction of the peak."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if step < self.decay_start or self.decay_steps == 0:
            return 1.0
        elapsed = step - self.decay_start
        x = elapsed / self.decay_steps
        if self.decay == "exponential":
            f = 0.5 ** (elapsed / self.half_life_steps)
        elif self.decay == "linear":
            f = 1.0 - x
        elif self.decay == "cosine":
            f = 0.5 * (1.0 + math.cos(math.pi * x))
        else:
            f = 1.0 - math.sqrt(x)
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * f

    def factors(self, steps: int) -> np.ndarray:
        return np.array([self.factor(s) for s in range(steps)])

    def agrees_until(self, other: WSDSchedule, step: int) -> bool:
        """True when both schedules gave the same rate to every step before `step`."""
        if step <= min(self.decay_start, other.decay_start):
            # Warmup and stable phases: equal exactly when the warmups are.
            return self.warmup_steps == other.warmup_steps or step == 0
        return bool(np.array_equal(self.factors(step), other.factors(step)))

    def branch(self, decay_steps: int, decay: str | None = None, at: int | None = None,
               half_life_steps: float | None = None) -> WSDSchedule:
        """Another decay from a stable-phase step `at` (default: this decay's start)."""
        at = self.decay_start if at is None else at
        if not self.warmup_steps <= at <= self.decay_start:
            raise ValueError(f"step {at} is outside the stable phase [{self.warmup_steps}, {self.decay_start}]")
        if half_life_steps is None:  # keep this decay's half life as a fraction of its length
            fraction = self.half_life_steps / self.decay_steps if self.decay_steps else 0.2
            half_life_steps = fraction * decay_steps if decay_steps else 1.0
        return replace(self, decay_start=at, decay_steps=decay_steps, decay=decay or self.decay,
                       half_life_steps=half_life_steps)
