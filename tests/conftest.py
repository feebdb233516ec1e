"""Shared test setup: where the real sample corpora live (../shared/corpora beside the checkout)."""

from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


@pytest.fixture(scope="session")
def corpora() -> Path:
    if not CORPORA.is_dir():
        pytest.fail(f"sample corpora not found at {CORPORA}; tests need ../shared/corpora beside the checkout")
    return CORPORA


def debian_tool(command: str, package: str) -> str:
    """The path of a Debian tool a test needs, installing its package with apt-get when missing."""
    import shutil
    import subprocess

    found = shutil.which(command)
    if found:
        return found
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    result = subprocess.run(install, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=900)
        result = subprocess.run(install, capture_output=True, text=True, timeout=900)
    found = shutil.which(command)
    if not found:
        pytest.fail(f"{command} is needed and `apt-get install {package}` failed: {result.stderr[-300:]}")
    return found
