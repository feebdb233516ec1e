"""Column arithmetic the rule modules share: Arrow text columns in, per-row NumPy counts and ratios out."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def to_numpy(array) -> np.ndarray:
    """An Arrow array (or chunked array) as a NumPy array, copying only when it must."""
    return np.asarray(array.to_numpy(zero_copy_only=False))


def as_text_column(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous large_string array with nulls as empty strings."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    return pc.fill_null(texts, "").cast(pa.large_string())


def count_chars(texts: pa.Array, char_class: str) -> np.ndarray:
    """Characters of a regex class per row: length minus length with the class's runs deleted
    (3-4x faster than counting one-character matches)."""
    without = pc.utf8_length(pc.replace_substring_regex(texts, char_class + "+", ""))
    return to_numpy(pc.utf8_length(texts)).astype(np.int64) - to_numpy(without).astype(np.int64)


def ratio(num: np.ndarray, den: np.ndarray) -> pa.Array:
    """num / den per row as float32, 0 where den is 0."""
    return pa.array(np.where(den > 0, num / np.maximum(den, 1), 0.0).astype(np.float32))
