"""Measure our implementation and the library a user would otherwise pick, in one run, on the same input.

Each benchmark module defines `run(args) -> list[Comparison]`; `python -m benchmarks NAME` runs it
and prints one line per comparison. Timings are wall-clock seconds of the best of `repeat` runs
on this machine, taken back to back so both sides see the same load.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@dataclass
class Comparison:
    name: str
    unit: str
    ours: float
    theirs: float
    competitor: str
    higher_is_better: bool = True
    note: str = ""

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.ours / self.theirs if self.theirs else float("inf")
        return self.theirs / self.ours if self.ours else float("inf")

    def line(self) -> str:
        return (f"{self.name}: ours {self.ours:,.3f} {self.unit} | {self.competitor} {self.theirs:,.3f} "
                f"{self.unit} | ratio {self.ratio:.2f}x" + (f"  ({self.note})" if self.note else ""))


def best_seconds(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of `repeat` wall-clock timings of fn()."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def throughput(name: str, num_bytes: int, ours: Callable[[], object], theirs: Callable[[], object],
               competitor: str, repeat: int = 3, note: str = "") -> Comparison:
    """MB/s of ours vs theirs over the same `num_bytes` of input."""
    mb = num_bytes / 1e6
    return Comparison(name, "MB/s", mb / best_seconds(ours, repeat), mb / best_seconds(theirs, repeat),
                      competitor, note=note)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(comparisons: list[Comparison], json_path: str | None = None) -> None:
    for c in comparisons:
        print(c.line(), flush=True)
    if json_path:
        Path(json_path).write_text(json.dumps([asdict(c) | {"ratio": c.ratio} for c in comparisons],
                                              indent=1) + "\n")
