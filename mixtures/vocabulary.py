"""A compact vocabulary: a tokenizer's ids renumbered densely over the pieces a corpus uses.

On CPU a tiny model's cost is mostly its vocabulary-sized embedding and softmax, and a small
corpus uses a fraction of a 50K-piece tokenizer. Renumbering is a bijection on the pieces that
occur, so losses and bits per byte mean what they would with the full tokenizer (pieces that never
occur get no probability mass, which only makes the comparison between variants cheaper, not
different). A mixture built this way names the map in its manifest (`vocab_map`: a .npy file of
the original ids, position = new id), so anything that encodes text for its model (evaluation,
`curate select-sft`) renumbers the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


class CompactVocabulary:
    """Original tokenizer ids <-> dense ids 0..size-1 over `used` (sorted, unique)."""

    def __init__(self, used: np.ndarray, tokenizer_size: int):
        used = np.unique(np.asarray(used, dtype=np.int64))
        if len(used) and (used[0] < 0 or used[-1] >= tokenizer_size):
            raise ValueError(f"vocabulary ids outside the tokenizer's 0..{tokenizer_size - 1}")
        self.used = used
        self.table = np.full(tokenizer_size, -1, dtype=np.int64)
        self.table[used] = np.arange(len(used))

    @property
    def size(self) -> int:
        return len(self.used)

    def map(self, ids: np.ndarray) -> np.ndarray:
        """Original ids -> compact ids (uint32); an id outside the vocabulary is an error."""
        mapped = self.table[np.asarray(ids, dtype=np.int64)]
        if len(mapped) and mapped.min() < 0:
            missing = np.asarray(ids)[mapped < 0][:5].tolist()
            raise ValueError(f"pieces {missing} are not in the compact vocabulary (built on other text)")
        return mapped.astype(np.uint32)

    def map_or(self, ids: np.ndarray, fallback: int) -> np.ndarray:
        """Like map, but pieces outside the vocabulary become `fallback` (for text it never saw)."""
        mapped = self.table[np.asarray(ids, dtype=np.int64)]
        return np.where(mapped < 0, fallback, mapped).astype(np.uint32)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            np.save(f, self.used)
        return path

    @classmethod
    def load(cls, path: str | Path, tokenizer_size: int) -> CompactVocabulary:
        return cls(np.load(path), tokenizer_size)


def manifest_vocabulary(manifest: dict, mixture_dir: str | Path, tokenizer_size: int) -> CompactVocabulary | None:
    """The compact vocabulary a mixture manifest names (relative to the mixture), or None."""
    name = manifest.get("vocab_map")
    if not name:
        return None
    path = Path(name) if Path(name).is_absolute() else Path(mixture_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the mixture's vocab_map is missing")
    return CompactVocabulary.load(path, tokenizer_size)
