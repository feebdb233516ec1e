"""The Dask implementation of `curation.parallel.Executor`.

Default: an in-process LocalCluster sized to the machine. `--scheduler tcp://HOST:PORT` or the
CURATE_SCHEDULER environment variable runs the same job on an existing cluster instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

SCHEDULER_ENV = "CURATE_SCHEDULER"


class DaskExecutor:
    """Maps functions over tasks on a dask.distributed cluster, one Dask task per item."""

    def __init__(self, scheduler: str | None = None, num_workers: int | None = None,
                 progress: bool | None = None, quiet: bool = False):
        self.scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        self.requested_workers = num_workers
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.quiet = quiet
        self._client = None
        self._cluster = None

    def __enter__(self) -> DaskExecutor:
        from distributed import Client, LocalCluster

        if self.scheduler:
            self._client = Client(self.scheduler)
        else:
            workers = self.requested_workers or os.cpu_count() or 1
            # Processes, one thread each: our tasks hold the GIL in Python/numba code.
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=":0", silence_logs=40)
            self._client = Client(self._cluster)
        if not self.quiet:
            where = self.scheduler or "local cluster"
            print(f"dask: {where}, {self.num_workers} workers, dashboard {self.dashboard_link}",
                  file=sys.stderr)
        return self

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    @property
    def num_workers(self) -> int:
        return len(self._client.scheduler_info(n_workers=-1)["workers"]) if self._client else 0

    @property
    def dashboard_link(self) -> str:
        return self._client.dashboard_link if self._client else ""

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any], label: str = "") -> list[Any]:
        if not tasks:
            return []
        from distributed import as_completed

        # pure=False: a task's identity is its position, so equal task descriptions still run.
        futures = self._client.map(fn, list(tasks), pure=False)
        if self.progress:
            from tqdm import tqdm

            with tqdm(total=len(futures), desc=label or getattr(fn, "__name__", "tasks"),
                      unit="task", file=sys.stderr) as bar:
                for _ in as_completed(futures):
                    bar.update(1)
        return self._client.gather(futures)
