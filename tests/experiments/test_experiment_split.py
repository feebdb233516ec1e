"""The held-out split: disjoint from every training pool by document id, and by repository for code."""

from __future__ import annotations

import json

import pyarrow.ipc as ipc

from curation.documents import read_documents


def _ids(directory) -> set[str]:
    return {i for t in read_documents(directory, ["id"]) for i in t.column("id").to_pylist()}


def test_heldout_documents_never_train(tiny_run):
    data = tiny_run["experiment"].data_dir
    manifest = json.loads((data / "manifest.json").read_text())
    for domain in ("zh", "en", "code", "papers", "instructions"):
        train, held = _ids(data / "split" / domain / "train"), _ids(data / "split" / domain / "heldout")
        assert train and held and not train & held
        assert manifest["heldout"][domain]["docs"] > 0
        if domain == "instructions":
            continue
        for pool in ("raw", "cleaned", "deduped"):
            with ipc.open_file(str(data / "tokens" / pool / f"{domain}.arrow")) as reader:
                pool_ids = set(reader.read_all().column("id").to_pylist())
            assert pool_ids <= train and not pool_ids & held
    # Cleaning and dedup only remove documents: cleaned is a subset of raw, deduped of cleaned.
    raw, cleaned = manifest["pools"]["raw"], manifest["pools"]["cleaned"]
    assert all(cleaned[d]["docs"] <= raw[d]["docs"] for d in raw)
    assert sum(cleaned[d]["docs"] for d in raw) < sum(raw[d]["docs"] for d in raw)


def test_code_is_held_out_by_repository(tiny_run):
    data = tiny_run["experiment"].data_dir

    def repos(side):
        return {json.loads(m)["max_stars_repo_name"] for t in read_documents(data / "split" / "code" / side, ["meta"])
                for m in t.column("meta").to_pylist()}

    train, held = repos("train"), repos("heldout")
    assert held and len(train) > len(held) and not train & held
