"""Training-text sampling: memory cap, domain shares, held-out split, lossless sentences."""

from __future__ import annotations

import pyarrow as pa
import pytest
from tokenizer_corpora import jsonl_texts

from curation.documents import read_documents
from tokenizer.evalsets import load_eval_set
from tokenizer.presets import SampleConfig
from tokenizer.sampling import (
    DomainInput,
    build_sample,
    heldout_mask,
    parse_domain_inputs,
    sampling_order,
    split_sentences,
    utf8_digests,
)


def test_short_domains_sample_first():
    available = {"zh": 100, "en": 100, "code": 100, "paper": 5}
    weights = {"zh": 0.4, "en": 0.3, "code": 0.2, "paper": 0.1}
    assert sampling_order(available, weights) == ["paper", "zh", "en", "code"]
    assert sampling_order({"a": 1, "b": 1}, {"a": 0.0, "b": 1.0}) == ["b", "a"]


@pytest.mark.parametrize("source", ["code/stack_shaped.jsonl", "zh_web/thucnews/thucnews.jsonl",
                                    "paper/unarxive/unarxive-2212-fulltext.jsonl"])
def test_sentences_are_lossless_and_bounded(source):
    for text in jsonl_texts(source, 1_000_000):
        sentences = split_sentences(text, 1024)
        assert "".join(sentences) == text
        assert all(0 < len(s.encode("utf-8")) <= 1024 for s in sentences)


def test_long_lines_cut_at_character_boundaries():
    text = "汉字" * 1000 + "\n    indented\n"
    sentences = split_sentences(text, 256)
    assert "".join(sentences) == text
    assert all(len(s.encode()) <= 256 for s in sentences)


def test_digests_read_arrow_buffers_like_python():
    import xxhash

    texts = ["a", "", "汉字 text", "😀" * 3]
    for array in (pa.array(texts, pa.string()), pa.array(texts, pa.large_string()),
                  pa.array(["x", *texts], pa.large_string()).slice(1)):
        assert utf8_digests(array).tolist() == [xxhash.xxh64_intdigest(t.encode()) for t in texts]


def _config(**kwargs) -> SampleConfig:
    defaults = dict(max_sample_bytes=400_000, domain_weights={"zh": 0.4, "en": 0.3, "code": 0.2, "paper": 0.1},
                    heldout_per_mille=100, max_sentence_bytes=4096)
    return SampleConfig(**(defaults | kwargs))


def test_cap_and_shares(domain_dirs):
    domains = [DomainInput(n, [p]) for n, p in domain_dirs.items()]
    sample = build_sample(domains, _config())
    assert 0.98 * 400_000 < sample.num_bytes <= 400_000  # filled to within a sentence per domain
    assert sample.num_bytes == sum(len(s.encode()) for s in sample.sentences())
    for name, weight in {"zh": 0.4, "en": 0.3, "code": 0.2, "paper": 0.1}.items():
        assert sample.domains[name].sample_bytes / sample.num_bytes == pytest.approx(weight, abs=0.01)
    again = build_sample(domains, _config())
    assert list(again.sentences()) == list(sample.sentences())  # deterministic


def test_a_short_domain_gives_its_share_to_the_others(domain_dirs):
    domains = [DomainInput(n, [p]) for n, p in domain_dirs.items()]
    weights = {"zh": 0.1, "en": 0.1, "code": 0.1, "paper": 0.7}  # paper has ~0.4 MB, not 0.7 MB
    sample = build_sample(domains, _config(max_sample_bytes=1_000_000, domain_weights=weights))
    paper = sample.domains["paper"]
    texts = [t for table in read_documents(domain_dirs["paper"], ["text"]) for t in table.column("text").to_pylist()]
    held = heldout_mask(utf8_digests(pa.array(texts, pa.large_string())), 100)
    assert paper.sample_bytes == sum(len(t.encode()) for t, h in zip(texts, held) if not h) < 700_000
    others = [sample.domains[n].sample_bytes for n in ("zh", "en", "code")]
    assert max(others) - min(others) < 2 * 4096  # equal weights share the rest, to within a sentence
    assert 0.98 * 1_000_000 < sample.num_bytes <= 1_000_000


def test_held_out_documents_never_train(domain_dirs, corpora):
    config = _config(max_sample_bytes=10_000_000)
    sample = build_sample([DomainInput("zh", [domain_dirs["zh"]])], config, num_heldout_sentences=50)
    texts = [t for table in read_documents(domain_dirs["zh"], ["text"]) for t in table.column("text").to_pylist()]
    held = heldout_mask(utf8_digests(pa.array(texts, pa.large_string())), config.heldout_per_mille)
    train_sentences = {s for t, h in zip(texts, held) if not h for s in split_sentences(t, 4096)}
    heldout_only = {s for t, h in zip(texts, held) if h for s in split_sentences(t, 4096)} - train_sentences
    sampled = set(sample.sentences())
    assert sampled <= train_sentences and not sampled & heldout_only
    assert sample.domains["zh"].num_docs_heldout == int(held.sum()) > 10
    assert set(sample.heldout_sentences) <= heldout_only | train_sentences and sample.heldout_sentences
    # the report picks the same held-out documents from the JSONL file the directory came from
    eval_set = load_eval_set("zh", corpora / "zh_web/thucnews/thucnews.jsonl", 100, 10**9)
    thucnews = set(jsonl_texts("zh_web/thucnews/thucnews.jsonl", 600_000))
    assert {t for t, h in zip(texts, held) if h} & thucnews == set(eval_set.texts) & thucnews


def test_every_domain_needs_a_weight(domain_dirs):
    with pytest.raises(ValueError, match="'other' has no weight"):
        build_sample([DomainInput("other", [domain_dirs["zh"]])], _config())


def test_everything_but_held_out_text_when_the_cap_is_large(domain_dirs):
    domains = [DomainInput(n, [p]) for n, p in domain_dirs.items()]
    sample = build_sample(domains, _config(domain_weights={}, max_sample_bytes=10**9))
    for name, directory in domain_dirs.items():
        texts = [t for table in read_documents(directory, ["text"]) for t in table.column("text").to_pylist()]
        held = heldout_mask(utf8_digests(pa.array(texts, pa.large_string())), 100)
        assert sample.domains[name].sample_bytes == sum(len(t.encode()) for t, h in zip(texts, held) if not h)


def test_domain_inputs(domain_dirs, tmp_path):
    domains = parse_domain_inputs([f"zh={domain_dirs['zh']}", str(domain_dirs["code"]), f"zh={domain_dirs['paper']}"])
    assert [(d.name, len(d.dirs)) for d in domains] == [("zh", 2), ("code", 1)]
    with pytest.raises(ValueError, match="not a directory"):
        parse_domain_inputs([str(tmp_path / "missing")])
    with pytest.raises(ValueError, match="no Parquet"):
        parse_domain_inputs([str(tmp_path)])
