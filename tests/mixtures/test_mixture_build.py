"""The mixture build on real sample data: exact shares, packing, masks, shuffle, determinism, resume."""

from __future__ import annotations

import copy

import numpy as np
import pyarrow as pa
import pytest
from mixture_corpora import write_recipe

from curation.documents import file_sha256, read_json
from curation.parallel import SerialExecutor
from mixtures.build import WORK_DIR, build_mixture
from mixtures.encoding import TextTokenizer
from mixtures.recipe import load_recipe
from mixtures.shards import SEQUENCE_SCHEMA, list_sequence_shards, read_sequence_shard
from mixtures.shuffle import open_bucket

BOS, EOS = 1, 2


def _hashes(out_dir) -> dict[str, str]:
    return {p.name: file_sha256(p) for p in list_sequence_shards(out_dir)}


def _build(tmp_path, recipe_dict, executor, name="out", **kwargs):
    recipe = load_recipe(write_recipe(tmp_path / f"{name}.yaml", recipe_dict))
    return build_mixture(recipe, tmp_path / name, executor, log=lambda m: None, **kwargs)


def test_realized_shares_match_the_recipe(serial_build, base_recipe):
    out, manifest = serial_build
    weights = {n: s["weight"] for n, s in base_recipe["sources"].items()}
    total_weight = sum(weights.values())
    assert manifest["num_tokens"] == manifest["num_rows"] * 257 == round(300_000 / 257) * 257
    counted = {}
    for shard in manifest["shards"]:
        for name, tokens in shard["source_tokens"].items():
            counted[name] = counted.get(name, 0) + tokens
    for name, source in manifest["sources"].items():
        assert abs(source["realized_share"] - weights[name] / total_weight) < 0.005, name
        assert source["num_tokens"] == counted[name] == source["target_tokens"]
    assert sum(counted.values()) == manifest["num_tokens"]
    # firefly holds ~81K tokens and its share is ~105K: one whole epoch, then a fractional one
    sft_zh = manifest["sources"]["sft_zh"]
    assert sft_zh["whole_epochs"] == 1 and 1 < sft_zh["epochs"] < 2 and sft_zh["available_exact"]
    assert manifest["tokenizer"]["sha256"] == file_sha256(base_recipe["tokenizer"])
    assert manifest["seed"] == 7 and manifest["recipe"]["sources"]["wiki"]["weight"] == 0.1
    assert manifest["memory"]["max_bucket_mb"] > 0 and "bound" in manifest["memory"]


def test_shards_open_with_pyarrow_and_hf_datasets(serial_build):
    datasets = pytest.importorskip("datasets")
    out, manifest = serial_build
    shards = list_sequence_shards(out)
    assert len(shards) == manifest["num_shards"] == -(-manifest["num_rows"] // 64)
    table = read_sequence_shard(shards[0])
    assert table.schema == SEQUENCE_SCHEMA and table.num_rows == 64
    with pa.memory_map(str(shards[-1])) as source:
        assert pa.ipc.open_stream(source).read_all().num_rows == manifest["num_rows"] - 64 * (len(shards) - 1)
    dataset = datasets.Dataset.from_file(str(shards[1]))
    assert dataset.num_rows == 64 and dataset.column_names == SEQUENCE_SCHEMA.names
    row = dataset[5]
    assert len(row["input_ids"]) == len(row["loss_mask"]) == 257
    assert row["input_ids"] == read_sequence_shard(shards[1]).column("input_ids")[5].as_py()


def test_rows_separate_documents_with_eos_and_record_boundaries(serial_build, base_recipe):
    out, manifest = serial_build
    tokenizer = TextTokenizer(base_recipe["tokenizer"])
    num_starts = continuations = 0
    for path in list_sequence_shards(out):
        table = read_sequence_shard(path)
        ids = np.asarray(table.column("input_ids").combine_chunks().values).reshape(-1, 257)
        mask = np.asarray(table.column("loss_mask").combine_chunks().values).reshape(-1, 257)
        for r, starts in enumerate(table.column("doc_starts").to_pylist()):
            row = ids[r]
            assert starts[0] == 0 and starts == sorted(set(starts)) and max(starts) < 257
            bos = set(np.flatnonzero(row == BOS).tolist())
            assert bos <= set(starts)  # every document begins at a recorded boundary
            for e in np.flatnonzero(row[:-1] == EOS):
                assert e + 1 in starts  # a document ends with EOS, and the next one starts there
            for s in starts[1:]:
                # EOS between documents; after a piece of a long document, no loss on the jump
                if row[s - 1] != EOS:
                    assert mask[r, s] == 0
                    continuations += 1
            num_starts += len(starts)
        assert set(np.unique(mask).tolist()) <= {0, 1}
    assert num_starts > 1.2 * manifest["num_rows"] and 0 < continuations < 0.2 * num_starts, continuations
    sources = manifest["sources"]
    for name in ("zh_news", "wiki", "redpajama", "stack"):
        # documents train on every token but the first after a piece of a long document
        assert 0.97 * sources[name]["num_tokens"] < sources[name]["num_loss_tokens"] <= sources[name]["num_tokens"]
    for name in ("sft_code", "sft_zh"):
        assert 0.2 * sources[name]["num_tokens"] < sources[name]["num_loss_tokens"] < sources[name]["num_tokens"]
    total_masked = sum(s["num_tokens"] - s["num_loss_tokens"] for s in sources.values())
    all_masks = np.concatenate([np.asarray(read_sequence_shard(p).column("loss_mask").combine_chunks().values)
                                for p in list_sequence_shards(out)])
    assert (all_masks == 0).sum() == total_masked
    # the rows decode to the sources' text: a thucnews article's opening is in the mixture
    decoded = "".join(tokenizer.sp.decode(row.tolist()) for p in list_sequence_shards(out)
                      for row in np.asarray(read_sequence_shard(p).column("input_ids").combine_chunks().values)
                      .reshape(-1, 257))
    assert "<|im_start|>" not in decoded and "assistant\n" in decoded and "def " in decoded


def test_global_shuffle_interleaves_sources(serial_build):
    out, manifest = serial_build
    names = list(manifest["sources"])
    stream = np.concatenate([open_bucket(p).column("source").to_numpy()
                             for p in sorted((out / WORK_DIR / "buckets").glob("bucket-*.arrow"))])
    assert len(stream) > 500
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[-1], stream, [-1]])) != 0))
    shares = np.bincount(stream, minlength=len(names)) / len(stream)
    expected_switches = (1 - (shares ** 2).sum()) * len(stream)
    assert runs.max() <= 20, f"a run of {runs.max()} segments from one source"
    assert len(runs) > 0.8 * expected_switches
    # per-source blocks would fill shards with one source; here every shard mixes nearly all of them
    for shard in manifest["shards"]:
        tokens = shard["source_tokens"]
        assert len(tokens) >= len(names) - 1 and max(tokens.values()) < 0.65 * sum(tokens.values()), shard


def test_seed_changes_the_order_but_not_the_shares(tmp_path, base_recipe, serial_build):
    other = copy.deepcopy(base_recipe)
    other["seed"] = 8
    manifest = _build(tmp_path, other, SerialExecutor())
    assert _hashes(tmp_path / "out") != _hashes(serial_build[0])
    # a finished build's directory is not resumed into a different recipe's mixture
    before = _hashes(serial_build[0])
    with pytest.raises(ValueError, match="another recipe"):
        build_mixture(load_recipe(tmp_path / "out.yaml"), serial_build[0], SerialExecutor(), log=lambda m: None)
    assert _hashes(serial_build[0]) == before
    for name, source in manifest["sources"].items():
        assert source["num_tokens"] == serial_build[1]["sources"][name]["num_tokens"]


class FailingExecutor(SerialExecutor):
    """Dies like a killed job after `after` tasks of one pass."""

    def __init__(self, label: str, after: int):
        self.label, self.after = label, after

    def map(self, fn, tasks, label=""):
        if label != self.label:
            return super().map(fn, tasks, label)
        for i, task in enumerate(tasks):
            if i == self.after:
                raise KeyboardInterrupt
            fn(task)
        return []


def test_interrupted_build_resumes_to_identical_bytes(tmp_path, base_recipe, serial_build):
    with pytest.raises(KeyboardInterrupt):
        _build(tmp_path, base_recipe, FailingExecutor("pack", after=5))
    done = sorted((tmp_path / "out").glob("shard-*.arrow.done.json"))
    assert len(done) == 5 and not (tmp_path / "out" / "manifest.json").exists()
    first_mtime = list_sequence_shards(tmp_path / "out")[0].stat().st_mtime_ns
    manifest = _build(tmp_path, base_recipe, SerialExecutor())
    assert _hashes(tmp_path / "out") == _hashes(serial_build[0])
    assert list_sequence_shards(tmp_path / "out")[0].stat().st_mtime_ns == first_mtime
    tasks = manifest["timing"]["tasks"]
    # every tokenize, scatter and sort task, and the 5 packed shards, came back from their markers
    assert manifest["timing"]["resumed_tasks"] == tasks["tokenize"] + tasks["scatter"] + tasks["sort"] + 5
    assert read_json(tmp_path / "out" / "manifest.json")["num_tokens"] == manifest["num_tokens"]
    assert not (tmp_path / "out" / WORK_DIR).exists()


def test_one_and_two_dask_workers_give_identical_bytes(tmp_path, base_recipe, serial_build):
    from pipelines.executor import DaskExecutor

    with DaskExecutor(num_workers=2, quiet=True) as executor:
        manifest = _build(tmp_path, base_recipe, executor)
    assert _hashes(tmp_path / "out") == _hashes(serial_build[0])
    assert len(manifest["shards"]) == serial_build[1]["num_shards"]
