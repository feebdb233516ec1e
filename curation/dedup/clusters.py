"""Clusters from verified edges: connected components, one survivor each, decisions per input shard.

Only documents that appear in an edge are loaded (the graph of duplicates, not the corpus). Union-
find runs over them in numba, each component rooted at its smallest member so the result does not
depend on edge order. The survivor of a component is its first document by (source priority rank,
quality descending with missing last, id, source, document key); the others are its duplicates,
with their signature similarity to the survivor (1.0 and kind "exact" when the normalized texts are
equal) so that transitive members (a ~ b ~ c, a !~ c) are visible. cluster_id is a 64-bit hash of
the survivor's source and id: stable across runs, inputs order and worker counts.
"""

from __future__ import annotations

from pathlib import Path

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.dedup import layout
from curation.dedup.buckets import SignatureStore, read_edges
from curation.dedup.shingles import splitmix64, utf8_buffers
from curation.documents import read_shard, write_shard

DECISION_SCHEMA = pa.schema([
    ("row", pa.int64()), ("is_survivor", pa.bool_()), ("cluster_id", pa.int64()), ("cluster_size", pa.int32()),
    ("survivor_id", pa.string()), ("survivor_source", pa.string()), ("similarity", pa.float32()),
    ("dup_kind", pa.string()),
])


@nb.njit(cache=True)
def _find(parent, x):
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:  # path compression
        parent[x], x = root, parent[x]
    return root


@nb.njit(cache=True)
def connected_components(a, b, num_nodes):
    """Component root (its smallest node index) of every node, given edges as node-index arrays."""
    parent = np.arange(num_nodes)
    for e in range(len(a)):
        ra = _find(parent, a[e])
        rb = _find(parent, b[e])
        if ra < rb:
            parent[rb] = ra
        elif rb < ra:
            parent[ra] = rb
    roots = np.empty(num_nodes, dtype=np.int64)
    for i in range(num_nodes):
        roots[i] = _find(parent, i)
    return roots


@nb.njit(cache=True)
def _fnv_strings(data, offsets):
    out = np.empty(len(offsets) - 1, dtype=np.uint64)
    for d in range(len(offsets) - 1):
        h = np.uint64(0xCBF29CE484222325)
        for i in range(offsets[d], offsets[d + 1]):
            h = (h ^ np.uint64(data[i])) * np.uint64(0x100000001B3)
        out[d] = splitmix64(h)
    return out


def cluster_ids(sources: pa.Array, ids: pa.Array) -> np.ndarray:
    """int64 cluster ids: a 64-bit hash of 'source NUL id' of the survivor."""
    joined = pc.binary_join_element_wise(sources, ids, "\x00")
    data, offsets = utf8_buffers(joined)
    return _fnv_strings(data, offsets).view(np.int64)


def node_attributes(out_dir: Path, tags: list[str], nodes: np.ndarray) -> pa.Table:
    """id, source, rank, quality, exact1, exact2 of the given document keys (sorted), in their order."""
    shards, rows = layout.split_keys(nodes)
    parts = []
    for shard in np.unique(shards):
        where = np.flatnonzero(shards == shard)
        docs = read_shard(layout.docs_path(out_dir, tags[int(shard)]),
                          ["id", "source", "rank", "quality", "exact1", "exact2"])
        parts.append(docs.take(pa.array(rows[where])))
    return pa.concat_tables(parts) if parts else None


def rank_survivors(nodes: np.ndarray, roots: np.ndarray, attrs: pa.Table) -> pa.Table:
    """Nodes sorted by component then survivor preference, with the survivor's position per row."""
    table = attrs.append_column("node", pa.array(nodes)).append_column("root", pa.array(roots))
    table = table.sort_by([("root", "ascending"), ("rank", "ascending"), ("quality", "descending"),
                           ("id", "ascending"), ("source", "ascending"), ("node", "ascending")])
    root = table.column("root").to_numpy()
    positions = np.arange(len(root))
    first = np.ones(len(root), dtype=bool)
    first[1:] = root[1:] != root[:-1]
    survivor_pos = np.maximum.accumulate(np.where(first, positions, 0))
    sizes = np.diff(np.append(np.flatnonzero(first), len(root)))
    group_size = np.repeat(sizes, sizes).astype(np.int32)
    return table.append_column("is_survivor", pa.array(first)) \
        .append_column("survivor_pos", pa.array(survivor_pos)) \
        .append_column("cluster_size", pa.array(group_size))


def cluster_task(task: dict) -> dict:
    """Components over all verified edges; write one decisions file per input shard with members."""
    out_dir, tags = Path(task["out_dir"]), task["tags"]
    previous = layout.done(out_dir, "clusters", "all")
    if previous is not None:
        return previous
    layout.reset_peak_rss()
    edges = read_edges(out_dir)
    a = edges.column("a").to_numpy()
    b = edges.column("b").to_numpy()
    nodes = np.unique(np.concatenate([a, b]))
    roots = connected_components(np.searchsorted(nodes, a), np.searchsorted(nodes, b), len(nodes))
    stats = {"num_edges": len(a), "num_exact_edges": int(pc.sum(edges.column("exact")).as_py() or 0),
             "num_clustered_docs": len(nodes), "num_clusters": 0, "cluster_size_histogram": {},
             "cross_corpus": {}}
    if len(nodes):
        ranked = rank_survivors(nodes, roots, node_attributes(out_dir, tags, nodes))
        stats |= _write_decisions(out_dir, tags, ranked)
    stats["peak_rss_mb"] = layout.peak_rss_mb()
    return layout.mark_done(out_dir, "clusters", "all", stats)


def _write_decisions(out_dir: Path, tags: list[str], ranked: pa.Table) -> dict:
    survivor_pos = pa.array(ranked.column("survivor_pos").to_numpy())
    survivor_source = ranked.column("source").take(survivor_pos)
    survivor_id = ranked.column("id").take(survivor_pos)
    cluster_id = cluster_ids(survivor_source, survivor_id)
    node = ranked.column("node").to_numpy()
    survivor_node = node[survivor_pos.to_numpy()]
    exact = np.ones(len(node), dtype=bool)
    for name in ("exact1", "exact2"):
        column = ranked.column(name).to_numpy()
        exact &= column == column[survivor_pos.to_numpy()]
    similarity = SignatureStore(out_dir, tags).similarity(node, survivor_node)
    similarity[exact] = 1.0
    is_survivor = ranked.column("is_survivor").to_numpy(zero_copy_only=False)
    kind = np.where(is_survivor, None, np.where(exact, "exact", "near"))
    decisions = pa.table({
        "node": node, "row": layout.split_keys(node)[1], "is_survivor": is_survivor, "cluster_id": cluster_id,
        "cluster_size": ranked.column("cluster_size"), "survivor_id": survivor_id,
        "survivor_source": survivor_source, "similarity": similarity, "dup_kind": pa.array(kind, pa.string()),
        "source": ranked.column("source")})
    sizes = ranked.column("cluster_size").to_numpy()[is_survivor]
    values, counts = np.unique(sizes, return_counts=True)
    dups = decisions.filter(pa.array(~is_survivor))
    matrix: dict[str, dict[str, int]] = {}
    grouped = dups.group_by(["source", "survivor_source"]).aggregate([("row", "count")])
    for row in grouped.to_pylist():
        matrix.setdefault(row["source"], {})[row["survivor_source"]] = row["row_count"]
    decisions = decisions.sort_by("node")
    shards = layout.split_keys(decisions.column("node").to_numpy())[0]
    bounds = np.flatnonzero(np.diff(shards)) + 1
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(shards)]):
        part = decisions.slice(start, stop - start).select(DECISION_SCHEMA.names).cast(DECISION_SCHEMA)
        write_shard(part, layout.decisions_path(out_dir, tags[int(shards[start])]))
    return {"num_clusters": int(is_survivor.sum()),
            "cluster_size_histogram": {str(int(v)): int(c) for v, c in zip(values, counts)},
            "cross_corpus": {s: dict(sorted(m.items())) for s, m in sorted(matrix.items())}}
