"""The executor interface that multi-pass jobs are written against.

A job maps a top-level function over small task descriptions (paths, parameters) and gathers
small results (counts, shard infos); the data itself moves through files, never through the
executor. `pipelines.executor` supplies the Dask implementation; tests hand jobs a SerialExecutor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Executor(Protocol):
    """Runs fn(task) for every task and returns the results in task order."""

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], label: str = "") -> list[Any]: ...


class SerialExecutor:
    """Runs every task in this process, in order: the reference for determinism tests."""

    num_workers = 1

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], label: str = "") -> list[Any]:
        return [fn(task) for task in tasks]
