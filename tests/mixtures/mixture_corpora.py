"""Paths and helpers shared by the mixture tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
REFERENCE_TOKENIZER = CORPORA / "tokenizers" / "llama2_tokenizer.model"


def write_recipe(path: Path, recipe: dict) -> Path:
    path.write_text(yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
