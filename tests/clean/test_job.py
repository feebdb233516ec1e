"""The clean job over real samples: every document accounted for, reproducible bytes, resume."""

import dataclasses
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from clean_samples import cc_zh_table, code_table, en_html_table, jsonl_table, write_documents, zh_html_table

from curation.clean.job import clean_directory
from curation.clean.profile import english_module, load_profile
from curation.documents import done_marker, list_shards, read_documents, read_manifest
from curation.parallel import SerialExecutor


class ReversedExecutor:
    """Runs tasks last-first: outputs must not depend on task order."""

    def map(self, fn, tasks, label=""):
        return list(reversed([fn(t) for t in reversed(tasks)]))


def _zh_documents() -> pa.Table:
    return pa.concat_tables([
        cc_zh_table(), zh_html_table(),
        jsonl_table("zh_web/thucnews/thucnews.jsonl", "thucnews", limit=150),
        jsonl_table("zh_web/sogou/news_sohusite_smarty.jsonl", "sogou", limit=80),
        jsonl_table("zh_bulk/manpages_zh.jsonl", "manpages_zh", limit=60),
        jsonl_table("en_wiki/wikitext2_tokens_valid.jsonl", "wiki", limit=5)])


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean_zh")
    in_dir = write_documents(_zh_documents(), root / "in", rows_per_shard=150)
    profile = load_profile("configs/clean/cc_zh.yaml")
    manifest = clean_directory(in_dir, root / "out", profile, SerialExecutor())
    return root, in_dir, profile, manifest


def _all(directory) -> pa.Table:
    return pa.concat_tables(read_documents(directory))


def test_every_input_document_is_kept_or_rejected_with_a_reason(zh_run):
    root, in_dir, _, manifest = zh_run
    kept, rejected = _all(root / "out" / "kept"), _all(root / "out" / "rejected")
    inputs = _all(in_dir)
    assert manifest["num_in"] == inputs.num_rows == kept.num_rows + rejected.num_rows
    assert sorted(kept.column("id").to_pylist() + rejected.column("id").to_pylist()) == \
        sorted(inputs.column("id").to_pylist())
    assert kept.column("reject_reason").null_count == kept.num_rows
    reasons = rejected.column("reject_reason").to_pylist()
    assert all(isinstance(r, str) and r for r in reasons)
    counts = manifest["counts"]
    for source in set(inputs.column("source").to_pylist()):
        named = counts[source]
        total = named.get("kept", 0) + sum(v for k, v in named.items() if k.startswith("rejected:"))
        assert total == pc.sum(pc.equal(inputs.column("source"), source)).as_py()
    assert counts["cc_zh"]["rejected:gambling"] >= 10 and counts["cc_zh"]["rejected:link_list"] >= 3
    assert counts["wiki"] == {"rejected:lang_not_allowed:en": 5, "pii:email": 0, "pii:id_number": 0,
                              "pii:ip": 0, "pii:phone": 0}
    assert counts["thucnews"]["kept"] >= 0.95 * 150
    assert manifest["outputs"] == {"clean_kept": "kept/*.parquet", "clean_rejected": "rejected/*.parquet"}
    assert {s["dir"] for s in manifest["shards"]} == {"kept", "rejected"}


def test_scores_and_language_are_written_beside_the_text(zh_run):
    root, _, _, _ = zh_run
    kept = _all(root / "out" / "kept")
    names = kept.column_names
    assert names[:6] == ["id", "text", "source", "url", "lang", "meta"] and names[-1] == "reject_reason"
    assert {"lang_score", "quality_cjk_ratio", "quality_gambling_hits", "pii_phone"} <= set(names)
    assert set(kept.column("lang").to_pylist()) == {"zh"}
    assert pc.min(kept.column("lang_score")).as_py() >= 0.5
    html = kept.filter(pc.equal(kept.column("source"), "zh_html")).column("text").to_pylist()
    assert len(html) == 3 and all("<" not in t and "</" not in t for t in html)


def test_outputs_do_not_depend_on_task_order_or_batch_size(zh_run, tmp_path):
    root, in_dir, profile, manifest = zh_run
    small_batches = dataclasses.replace(profile, rows_per_batch=37)
    again = clean_directory(in_dir, tmp_path / "out", small_batches, ReversedExecutor())
    first = {(s["dir"], s["shard"]): s["sha256"] for s in manifest["shards"]}
    second = {(s["dir"], s["shard"]): s["sha256"] for s in again["shards"]}
    assert first == second
    assert again["counts"] == manifest["counts"]


def test_an_interrupted_run_redoes_only_its_missing_shards(zh_run, tmp_path):
    _, in_dir, profile, manifest = zh_run
    out = tmp_path / "out"
    clean_directory(in_dir, out, profile, SerialExecutor())
    (out / "manifest.json").unlink()
    lost = list_shards(out / "kept")[1]
    done_marker(lost).unlink()
    (out / "rejected" / lost.name).unlink()
    untouched = done_marker(list_shards(out / "kept")[0])
    before = untouched.stat().st_mtime_ns
    resumed = clean_directory(in_dir, out, profile, SerialExecutor())
    assert untouched.stat().st_mtime_ns == before
    assert read_manifest(out)["counts"] == manifest["counts"] == resumed["counts"]
    assert sorted(s["sha256"] for s in resumed["shards"]) == sorted(s["sha256"] for s in manifest["shards"])


def test_code_profile_keeps_files_verbatim_and_names_refused_languages(tmp_path):
    files = code_table(limit=700)
    in_dir = write_documents(files, tmp_path / "in", rows_per_shard=400)
    manifest = clean_directory(in_dir, tmp_path / "out", load_profile("configs/clean/code.yaml"),
                               SerialExecutor())
    kept = _all(tmp_path / "out" / "kept")
    assert set(kept.column("lang").to_pylist()) == {"code"}  # no language ID on code
    assert "lang_score" not in kept.column_names
    counts = manifest["counts"]["stack"]
    assert counts["kept"] >= 600
    assert counts.get("rejected:autogenerated", 0) >= 1
    assert {k for k in counts if k.startswith("rejected:")} <= {
        "rejected:autogenerated", "rejected:language_not_allowed", "rejected:long_mean_lines",
        "rejected:data_heavy", "rejected:minified", "rejected:extension_not_allowed"}
    licence = "Permission is hereby granted, free of charge"
    licensed = {i for i, t in zip(files.column("id").to_pylist(), files.column("text").to_pylist())
                if licence in t[:3000]}
    kept_text = dict(zip(kept.column("id").to_pylist(), kept.column("text").to_pylist()))
    assert len(licensed) >= 90 and licensed <= set(kept_text)  # MIT headers (Newtonsoft.Json) ...
    assert all(licence in kept_text[i] for i in licensed)  # ... stay in the kept files


def test_web_en_profile_runs_the_english_rules_on_html_pages(tmp_path):
    pytest.importorskip("curation.clean.english")
    documents = pa.concat_tables([en_html_table(),
                                  jsonl_table("en_web/redpajama_samples/redpajama-c4-refined.jsonl", "c4")])
    in_dir = write_documents(documents, tmp_path / "in")
    manifest = clean_directory(in_dir, tmp_path / "out", load_profile("configs/clean/web_en.yaml"),
                               SerialExecutor())
    assert manifest["num_out"] + manifest["num_rejected"] == documents.num_rows
    assert manifest["counts"]["en_html"].get("kept", 0) >= 10
    kept = _all(tmp_path / "out" / "kept")
    assert all("<div" not in t for t in kept.column("text").to_pylist())


def test_bad_input_is_one_clear_error(tmp_path, monkeypatch):
    profile = load_profile("configs/clean/cc_zh.yaml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no Parquet shards"):
        clean_directory(tmp_path / "empty", tmp_path / "out", profile, SerialExecutor())
    with pytest.raises(ValueError, match="not a directory"):
        clean_directory(tmp_path / "missing", tmp_path / "out", profile, SerialExecutor())
    monkeypatch.setitem(sys.modules, "curation.clean.english", None)
    with pytest.raises(ValueError, match="English web rules"):
        english_module()
