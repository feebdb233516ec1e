"""The dedup job on real corpora: known duplicates found, survivors by priority, every document accounted for."""

import json
import re
from collections import defaultdict

import pytest

from curation.config import ConfigError
from curation.dedup.job import run_dedup
from curation.dedup.settings import DedupConfig, load_dedup_config
from curation.dedup.shingles import MODE_CHARS, MODE_WORDS
from curation.documents import read_documents, read_manifest
from curation.parallel import SerialExecutor
from tests.dedup.corpora import read_output, similar_pairs


def _inputs(dirs) -> dict[tuple[str, str], str]:
    """(source, id) -> text of every input document."""
    docs = {}
    for directory in dirs:
        for table in read_documents(directory, ["id", "source", "text"]):
            docs.update({(r["source"], r["id"]): r["text"] for r in table.to_pylist()})
    return docs


def _clusters(out_dir) -> dict[tuple[str, str], str]:
    """(source, id) -> predicted cluster (the document itself when it is in none)."""
    label = {}
    for r in read_output(out_dir, "kept", ["id", "source", "dup_cluster"]):
        label[(r["source"], r["id"])] = str(r["dup_cluster"]) if r["dup_cluster"] is not None else r["id"]
    for r in read_output(out_dir, "duplicates", ["id", "source", "cluster_id"]):
        label[(r["source"], r["id"])] = str(r["cluster_id"])
    return label


def _assert_accounted(out_dir, inputs: dict) -> dict:
    kept = {(r["source"], r["id"]) for r in read_output(out_dir, "kept", ["id", "source"])}
    dups = {(r["source"], r["id"]) for r in read_output(out_dir, "duplicates", ["id", "source"])}
    assert not kept & dups and kept | dups == set(inputs)
    manifest = read_manifest(out_dir)
    for source, counts in manifest["counts"].items():
        assert counts["input"] == counts["kept"] + counts["duplicates"]
        assert counts["input"] == sum(1 for s, _ in inputs if s == source)
        assert counts["kept"] == sum(1 for s, _ in kept if s == source)
        assert counts["duplicates"] == counts["exact_duplicates"] + counts["near_duplicates"]
    return manifest


@pytest.mark.parametrize("priority", [["reviews_htl", "reviews_shop"], ["reviews_shop", "reviews_htl"]])
def test_review_copies_across_corpora_cluster_and_survivor_follows_priority(reviews_dirs, tmp_path, priority):
    inputs = _inputs(reviews_dirs)
    run_dedup(reviews_dirs, tmp_path / "out", DedupConfig(priority=priority), SerialExecutor())
    manifest = _assert_accounted(tmp_path / "out", inputs)
    # ground truth computed here: texts equal once all whitespace and case are dropped
    groups = defaultdict(list)
    for key, text in inputs.items():
        groups[re.sub(r"\s+", "", text.lower())].append(key)
    groups = [g for g in groups.values() if len(g) > 1]
    assert len(groups) > 5000
    clusters = _clusters(tmp_path / "out")
    kept = {(r["source"], r["id"]) for r in read_output(tmp_path / "out", "kept", ["id", "source"])}
    mixed = 0
    for members in groups:
        assert len({clusters[m] for m in members}) == 1, members
        sources = {s for s, _ in members}
        if len(sources) == 2:
            mixed += 1
            survivors = [m for m in members if m in kept]
            assert len(survivors) <= 1 and all(s == priority[0] for s, _ in survivors), members
    assert mixed > 5000  # online_shopping_10_cats repeats most of ChnSentiCorp's hotel reviews
    dropped = priority[1]
    assert manifest["cross_corpus"][dropped][priority[0]] >= mixed - 200
    dups = read_output(tmp_path / "out", "duplicates")
    for row in dups:
        survivor_text = inputs[(row["survivor_source"], row["survivor_id"])]
        if " ".join(row["text"].lower().split()) == " ".join(survivor_text.lower().split()):
            assert row["dup_kind"] == "exact" and row["similarity"] == 1.0
        if row["dup_kind"] == "near":
            assert row["similarity"] >= 0.5
    sizes = manifest["cluster_size_histogram"]
    assert sum(int(size) * n for size, n in sizes.items()) == len(dups) + manifest["num_clusters"]


def test_overlapping_chinese_collections_found_across_corpora(poetry_dirs, tmp_path):
    inputs = _inputs(poetry_dirs)
    keys = sorted(inputs)
    truth = similar_pairs([inputs[k] for k in keys], MODE_CHARS, 0.3)
    config = DedupConfig(threshold=0.4, priority=["chinese_poetry", "fortunes_zh"])
    manifest = run_dedup(poetry_dirs, tmp_path / "out", config, SerialExecutor())
    _assert_accounted(tmp_path / "out", inputs)
    clusters = _clusters(tmp_path / "out")
    known = [(keys[i], keys[j]) for (i, j), jaccard in truth.items() if jaccard >= 0.5]
    # Lunyu passages that fortunes-zh repeats from chinese_poetry, and Tang/Song collections that repeat poems
    assert sum(1 for a, b in known if a[0] != b[0]) >= 4 and sum(1 for a, b in known if a[0] == b[0]) >= 20
    for a, b in known:
        assert clusters[a] == clusters[b], (a, b)
    dups = read_output(tmp_path / "out", "duplicates", ["id", "source", "survivor_source"])
    fortunes_dups = [r for r in dups if r["source"] == "fortunes_zh"]
    assert fortunes_dups and all(r["survivor_source"] == "chinese_poetry" for r in fortunes_dups)
    assert manifest["cross_corpus"]["fortunes_zh"]["chinese_poetry"] == len(fortunes_dups)
    # precision on real data: every duplicate is truly alike (>= threshold - 0.1) some member of its cluster
    members = defaultdict(list)
    for key, label in clusters.items():
        members[label].append(keys.index(key))
    for r in dups:
        i = keys.index((r["source"], r["id"]))
        mates = [j for j in members[clusters[(r["source"], r["id"])]] if j != i]
        assert max(truth.get((min(i, j), max(i, j)), 0.0) for j in mates) >= 0.3, r


def test_disjoint_wikitext_splits_give_no_duplicates(wiki_dirs, tmp_path):
    inputs = _inputs(wiki_dirs)
    truth = similar_pairs(list(inputs.values()), MODE_WORDS, 0.05)
    assert not truth  # WikiText valid and test hold different articles: nothing to find
    manifest = run_dedup(wiki_dirs, tmp_path / "out", DedupConfig(), SerialExecutor())
    _assert_accounted(tmp_path / "out", inputs)
    assert manifest["num_duplicates"] == 0 and manifest["num_out"] == len(inputs) == 122


def test_unknown_config_key_is_an_error_naming_key_and_file(tmp_path):
    path = tmp_path / "dedup.yaml"
    path.write_text("treshold: 0.7\n")
    with pytest.raises(ConfigError, match=r"dedup.yaml: unknown key 'treshold'"):
        load_dedup_config(path)
    path.write_text("threshold: 0.7\nbands: 40\nrows: 10\n")
    with pytest.raises(ConfigError, match="bands x rows"):
        load_dedup_config(path)
    assert load_dedup_config(overrides={"threshold": 0.7}).threshold == 0.7


def test_bad_inputs_are_one_line_errors(tmp_path, wiki_dirs):
    with pytest.raises(ValueError, match="not a directory"):
        run_dedup([tmp_path / "missing"], tmp_path / "out", DedupConfig(), SerialExecutor())
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no Parquet shards"):
        run_dedup([tmp_path / "empty"], tmp_path / "out", DedupConfig(), SerialExecutor())
    with pytest.raises(ValueError, match="given twice"):
        run_dedup([wiki_dirs[0], wiki_dirs[0]], tmp_path / "out", DedupConfig(), SerialExecutor())


def test_manifest_reports_lsh_curve_and_memory(wiki_dirs, tmp_path):
    manifest = run_dedup(wiki_dirs, tmp_path / "out", DedupConfig(), SerialExecutor())
    lsh = manifest["lsh"]
    assert lsh["bands"] * lsh["rows"] <= lsh["num_perm"] == 256
    assert lsh["s_curve"]["0.50"]["candidate"] < 0.05 < 0.95 < lsh["s_curve"]["0.90"]["candidate"]
    assert manifest["run"]["peak_rss_mb"]["max_task_process_mb"] > 50
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["config"]["threshold"] == 0.8
    assert not (tmp_path / "out" / "work").exists()  # keep_work is off by default


def test_survivor_is_chosen_by_priority_then_quality_then_id(tmp_path):
    import pyarrow as pa

    from curation.documents import documents_table, write_shard
    from tests.dedup.corpora import read_jsonl

    news = read_jsonl("zh_web/thucnews/thucnews.jsonl", limit=4)
    texts = [r["text"] for r in news]
    ids = ["n0", "n1", "n2", "n3"]
    for name, quality in (("a", [0.9, 0.1, None, 0.5]), ("b", [0.2, 0.8, 0.7, 0.5])):
        table = documents_table(ids, texts, f"src_{name}", langs=["zh"] * 4)
        table = table.append_column("quality_score", pa.array(quality, pa.float64()))
        write_shard(table, tmp_path / name / "part-00000.parquet")
    inputs = [tmp_path / "a", tmp_path / "b"]
    run_dedup(inputs, tmp_path / "q", DedupConfig(), SerialExecutor())
    survivors = {r["id"]: r["source"] for r in read_output(tmp_path / "q", "kept", ["id", "source"])}
    # higher quality wins; a missing score loses; equal scores fall back to id, then source name
    assert survivors == {"n0": "src_a", "n1": "src_b", "n2": "src_b", "n3": "src_a"}
    run_dedup(inputs, tmp_path / "p", DedupConfig(priority=["src_b"]), SerialExecutor())
    survivors = {r["id"]: r["source"] for r in read_output(tmp_path / "p", "kept", ["id", "source"])}
    assert survivors == {i: "src_b" for i in ids}
    dups = read_output(tmp_path / "p", "duplicates")
    assert {(r["id"], r["survivor_id"], r["dup_kind"], r["similarity"]) for r in dups} == \
        {(i, i, "exact", 1.0) for i in ids}
    kept = read_output(tmp_path / "p", "kept")
    assert all(r["dup_cluster_size"] == 2 and r["dup_cluster"] is not None for r in kept)
    assert all(r["quality_score"] is not None or r["id"] == "n2" for r in kept + dups)
