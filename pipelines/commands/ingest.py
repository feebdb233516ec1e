"""`curate ingest`: not built yet (its issue is open)."""

from __future__ import annotations


def add_commands(subparsers) -> None:
    """Nothing registered until the stage lands."""
