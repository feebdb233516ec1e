"""`curate schedule`: run pipelines on cron timetables as a long-running service.

Each tick finds the pipelines that are due (cron expressions, UTC), applies the catch-up policy to
runs missed while the service was down, and runs them one after another on the Dask cluster. A
pipeline is never run twice at once: its run holds an flock on `<state_dir>/<name>.lock`, which the
operating system releases if the process dies, so a crash leaves no stale lock. SIGTERM stops the
service after the current stage (stages are resumable, so the next start picks up there).
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from croniter import croniter

from curation.config import ConfigError, load_config

CATCH_UP_POLICIES = ("none", "latest", "all")


@dataclass
class ScheduleEntry:
    pipeline: str
    cron: str
    name: str | None = None
    work_dir: str | None = None  # overrides of the pipeline file's own
    corpora_dir: str | None = None


@dataclass
class ScheduleConfig:
    schedules: list[ScheduleEntry]
    catch_up: str = "latest"
    state_dir: str = "work/schedule"
    status_host: str = "127.0.0.1"
    status_port: int = 8787
    tick_seconds: float = 30.0
    max_catch_up_runs: int = 24


def load_schedule(path: str | Path) -> ScheduleConfig:
    """Read and check a schedule YAML file."""
    config = load_config(path, ScheduleConfig)
    if config.catch_up not in CATCH_UP_POLICIES:
        raise ConfigError(f"{path}: catch_up must be one of {', '.join(CATCH_UP_POLICIES)}, got {config.catch_up!r}")
    for entry in config.schedules:
        if not croniter.is_valid(entry.cron):
            raise ConfigError(f"{path}: invalid cron expression {entry.cron!r} for {entry.pipeline}")
        entry.name = entry.name or Path(entry.pipeline).stem
    names = [e.name for e in config.schedules]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: two schedules share a name; give them distinct `name`s")
    return config


def due_times(cron: str, last_due: datetime | None, now: datetime, policy: str, limit: int) -> list[datetime]:
    """The scheduled times to run now: none if nothing is due, else per the catch-up policy.

    `last_due` is the scheduled time of the last run started (None on a service's first start).
    """
    if last_due is None:
        # A fresh service (no history) does not replay the past: only a time due within the last
        # minute counts, whatever the policy.
        since, policy = now - timedelta(minutes=1), "latest"
    else:
        since = last_due
    times = []
    it = croniter(cron, since)
    while len(times) < limit:
        t = it.get_next(datetime)
        if t > now:
            break
        times.append(t)
    if not times:
        return []
    if policy == "none":
        # Only a time within one tick of now counts; anything older was missed while down.
        return [times[-1]] if now - times[-1] <= timedelta(minutes=1) else []
    return times[-1:] if policy == "latest" else times


@contextmanager
def pipeline_lock(state_dir: Path, name: str):
    """Hold the pipeline's lock, or yield False at once if another process holds it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    handle = open(state_dir / f"{name}.lock", "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


class Stopper:
    """Set by SIGTERM/SIGINT; checked between stages and ticks."""

    def __init__(self):
        self.event = threading.Event()

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.event.set())

    def __call__(self) -> bool:
        return self.event.is_set()

    def wait(self, seconds: float) -> None:
        self.event.wait(seconds)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def run_due(config: ScheduleConfig, catalog, run_one, now: datetime, should_stop) -> list[dict]:
    """Start every due run once (per catch-up policy); return what happened to each."""
    happened = []
    for entry in config.schedules:
        last = catalog.last_scheduled(entry.name)
        for due in due_times(entry.cron, last, now, config.catch_up, config.max_catch_up_runs):
            if should_stop():
                return happened
            with pipeline_lock(Path(config.state_dir), entry.name) as locked:
                if not locked:
                    happened.append({"schedule": entry.name, "due": due, "status": "locked"})
                    break
                catalog.record_scheduled(entry.name, due)
                status = run_one(entry, due)
                happened.append({"schedule": entry.name, "due": due, "status": status})
    return happened


def serve_forever(config: ScheduleConfig, catalog, run_one, stopper: Stopper, once: bool = False) -> list[dict]:
    """Tick until stopped (or once); return the log of runs started."""
    log = []
    while not stopper():
        log += run_due(config, catalog, run_one, utc_now(), stopper)
        if once:
            break
        stopper.wait(config.tick_seconds)
    return log


def seconds_until_next(config: ScheduleConfig, now: datetime) -> float:
    nexts = [croniter(e.cron, now).get_next(datetime) for e in config.schedules]
    return max(0.0, (min(nexts) - now).total_seconds()) if nexts else float("inf")
