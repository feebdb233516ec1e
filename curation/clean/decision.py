"""Turning rule failures into one readable reject reason per document, and counting reasons.

Every stage of clean (extraction, language, each rule set, the classifier) yields a string array
of reasons, null where the document passes; the document's `reject_reason` is the first non-null
one in pipeline order, so a page is reported for the earliest thing that disqualified it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def first_reason(checks: list[tuple[str, np.ndarray]], num_rows: int) -> pa.Array:
    """Combine (reason, failed-mask) pairs into one string array: the first failure wins, null = pass."""
    reasons = np.full(num_rows, None, dtype=object)
    for name, failed in reversed(checks):
        reasons[np.asarray(failed, dtype=bool)] = name
    return pa.array(reasons, pa.string())


def combine_reasons(stages: list[pa.Array], num_rows: int) -> pa.Array:
    """The first non-null reason across stages, in the order given (null when every stage passes)."""
    stages = [s.combine_chunks() if isinstance(s, pa.ChunkedArray) else s for s in stages]
    stages = [s.cast(pa.string()) for s in stages if s is not None]
    if not stages:
        return pa.nulls(num_rows, pa.string())
    return pc.coalesce(*stages) if len(stages) > 1 else stages[0]


def reason_counts(sources: pa.Array, reasons: pa.Array) -> dict[str, dict[str, int]]:
    """{source: {"kept": n, "rejected:<reason>": n}} for a batch (every row counted once)."""
    table = pa.table({"source": sources, "reason": pc.fill_null(
        pc.binary_join_element_wise("rejected:", reasons, ""), "kept")})
    grouped = table.group_by(["source", "reason"]).aggregate([([], "count_all")])
    counts: dict[str, dict[str, int]] = {}
    for source, reason, n in zip(*(grouped.column(c).to_pylist()
                                   for c in ("source", "reason", "count_all"))):
        counts.setdefault(source, {})[reason] = int(n)
    return counts


def merge_counts(parts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    """Sum {source: {name: value}} count dictionaries, keys sorted for stable manifests."""
    merged: dict[str, Counter] = {}
    for part in parts:
        for source, named in part.items():
            merged.setdefault(source, Counter()).update(named)
    return {source: dict(sorted(named.items())) for source, named in sorted(merged.items())}
