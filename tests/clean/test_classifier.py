"""The fastText quality classifier: references vs raw web, scored on held-out real documents."""

import numpy as np
import pyarrow as pa
import pytest
from clean_samples import jsonl_table, write_documents

from curation.clean.classifier import TrainingOptions, score_texts, train_classifier
from curation.clean.job import clean_batch
from curation.clean.profile import ClassifierOptions, CleanProfile, LangIdOptions

OPTIONS = TrainingOptions(chunk_chars=500)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    root = tmp_path_factory.mktemp("classifier")
    positive = write_documents(pa.concat_tables([
        jsonl_table("en_wiki/wikitext2_tokens_valid.jsonl", "wiki"),
        jsonl_table("en_books/gutenberg.jsonl", "books", limit=10),
        jsonl_table("paper/unarxive/unarxive-2212-fulltext.jsonl", "papers")]), root / "positive")
    negative = write_documents(pa.concat_tables([
        jsonl_table("en_web/dolma/multiple_files__cc_en_head-0091.jsonl", "dolma"),
        jsonl_table("en_web/redpajama_samples/redpajama-cc-2023-06-refined.jsonl", "cc"),
        jsonl_table("en_web/redpajama_samples/redpajama-c4-refined.jsonl", "c4")]), root / "negative")
    stats = train_classifier([positive], [negative], root / "quality.bin", OPTIONS)
    return root / "quality.bin", stats, (positive, negative)


def _held_out():
    references = jsonl_table("en_wiki/wikitext2_tokens_test.jsonl", "wiki").column("text")
    web = jsonl_table("en_web/dolma/multiple_files__cc_en_head-0174.jsonl", "dolma").column("text")
    return references, web


def test_held_out_references_score_above_held_out_web_text(model):
    path, stats, _ = model
    assert stats["examples_per_class"] == min(stats["positive_chunks"], stats["negative_chunks"]) > 50
    references, web = _held_out()
    good = score_texts(references, path, OPTIONS.chunk_chars).to_numpy()
    bad = score_texts(web, path, OPTIONS.chunk_chars).to_numpy()
    auc = float((good[:, None] > bad[None, :]).mean())
    assert auc >= 0.95
    assert good.mean() > 0.7 and bad.mean() < 0.4
    assert 0.0 <= bad.min() and good.max() <= 1.0


def test_training_is_reproducible(model, tmp_path):
    path, _, (positive, negative) = model
    train_classifier([positive], [negative], tmp_path / "again.bin", OPTIONS)
    references, _ = _held_out()
    first = score_texts(references, path, OPTIONS.chunk_chars).to_numpy()
    second = score_texts(references, tmp_path / "again.bin", OPTIONS.chunk_chars).to_numpy()
    assert np.array_equal(first, second)


def test_clean_adds_the_score_column_and_thresholds_on_it(model):
    path, _, _ = model
    references, web = _held_out()
    texts = pa.concat_arrays([references.combine_chunks().slice(0, 10), web.combine_chunks()])
    table = pa.table({"id": [str(i) for i in range(len(texts))], "text": texts.cast(pa.large_string()),
                      "source": ["mixed"] * len(texts), "url": pa.nulls(len(texts), pa.string()),
                      "lang": pa.nulls(len(texts), pa.string()), "meta": pa.nulls(len(texts), pa.string())})
    scores = score_texts(texts, path, OPTIONS.chunk_chars).to_numpy()
    threshold = float(np.median(scores))
    profile = CleanProfile(langid=LangIdOptions(enabled=False),
                           classifier=ClassifierOptions(model_path=str(path), min_score=threshold,
                                                        max_chars=OPTIONS.chunk_chars))
    cleaned = clean_batch(table, profile)
    # the score is taken on the cleaned (normalized, PII-masked) text that is written out
    scores = score_texts(cleaned.column("text"), path, OPTIONS.chunk_chars).to_numpy()
    assert np.array_equal(cleaned.column("quality_classifier_score").to_numpy(), scores)
    reasons = cleaned.column("reject_reason").to_pylist()
    assert [r is not None for r in reasons] == list(scores < threshold)
    assert set(reasons) == {None, "classifier_low_score"}


def test_training_needs_both_sides(tmp_path, model):
    _, _, (positive, _) = model
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="both sides"):
        train_classifier([positive], [empty], tmp_path / "m.bin", OPTIONS)
