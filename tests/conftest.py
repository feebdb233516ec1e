"""Shared test setup: where the real sample corpora live (../shared/corpora beside the checkout)."""

from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.fail(f"sample corpora not found at {CORPORA}; tests need ../shared/corpora beside the checkout")
    return CORPORA
