"""Shingles, signatures and LSH parameters: tiny in-code cases plus estimate quality on real pairs."""

import numpy as np
import pyarrow as pa
import pytest
from datasketch.lsh import _optimal_param

from curation.dedup.lsh import acceptance_probability, choose_params
from curation.dedup.planted import build_planted_set
from curation.dedup.shingles import (
    MODE_AUTO,
    MODE_CHARS,
    MODE_CODE,
    MODE_WORDS,
    batch_shingles,
    ngram_sizes,
    shingle_modes,
)
from curation.dedup.signatures import estimate_jaccard, signatures_of_sets, sketch_texts

NGRAMS = ngram_sizes(5, 5, 5)


def _shingles(texts, mode, ngrams=NGRAMS):
    hashes, starts, exact = batch_shingles(pa.array(texts, pa.large_string()), np.full(len(texts), mode, np.int8),
                                           ngrams)
    return [set(hashes[starts[i]:starts[i + 1]].tolist()) for i in range(len(texts))], exact


def test_word_shingles_ignore_case_punctuation_and_whitespace_but_exact_key_keeps_punctuation():
    sets, exact = _shingles(["The quick brown fox jumps over the lazy dog.",
                             "the  QUICK brown\nfox jumps, over the lazy dog",
                             "The quick brown fox jumps over the lazy cat."], MODE_WORDS)
    assert len(sets[0]) == 5  # 9 words -> 5 word 5-grams
    assert sets[0] == sets[1]
    assert len(sets[0] & sets[2]) == 4
    assert tuple(exact[0]) != tuple(exact[1])  # the comma and the full stop differ


def test_exact_key_collapses_whitespace_and_case_and_full_width_forms():
    texts = ["Hello World 2024", "  hello\n\tworld   2024 ", "ＨＥＬＬＯ　Ｗｏｒｌｄ　２０２４", "Hello World 2025"]
    _, exact = _shingles(texts, MODE_WORDS)
    keys = [tuple(k) for k in exact]
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] != keys[0]


def test_chinese_is_shingled_by_characters_and_code_keeps_operators():
    sets, _ = _shingles(["我们今天去北京玩，很开心。", "我们今天去北京玩很开心"], MODE_CHARS)
    assert len(sets[0]) == 11 - 5 + 1 and sets[0] == sets[1]  # 11 characters
    words, _ = _shingles(["我们今天去北京玩，很开心。"], MODE_WORDS)
    assert words[0] == sets[0]  # a CJK character is a token of its own in word mode too
    code, _ = _shingles(["x = a + b", "x = a - b"], MODE_CODE, ngram_sizes(5, 5, 3))
    assert len(code[0]) == 3 and len(code[0] & code[1]) == 1  # only "x = a" is shared
    plain, _ = _shingles(["x = a + b", "x = a - b"], MODE_WORDS, ngram_sizes(3, 5, 5))
    assert plain[0] == plain[1]  # word mode drops the operators that code mode keeps


def test_short_documents_are_one_shingle_and_empty_ones_none():
    sets, _ = _shingles(["very short text", "", "。，！"], MODE_WORDS)
    assert [len(s) for s in sets] == [1, 0, 0]


def test_modes_follow_lang_and_source_and_unlabelled_text_is_sniffed(corpora):
    langs = pa.array(["en", "zh", "zh-Hant", "ZH_cn", "code", None, "ja", "fr"])
    sources = pa.array(["c4", "cc_zh", "x", "x", "x", "x", "x", "stack"])
    modes = shingle_modes(langs, sources, ["zh", "ja"], ["code"], ["stack"])
    assert modes.tolist() == [MODE_WORDS, MODE_CHARS, MODE_CHARS, MODE_CHARS, MODE_CODE, MODE_AUTO, MODE_CHARS,
                              MODE_CODE]
    zh = (corpora / "zh_web/thucnews/thucnews.jsonl").read_text(encoding="utf-8").splitlines()[0]
    en = (corpora / "en_wiki/wikitext2_tokens_valid.jsonl").read_text(encoding="utf-8").splitlines()[0]
    sketch = sketch_texts(pa.array([zh, en], pa.large_string()), np.full(2, MODE_AUTO, np.int8), NGRAMS, 64, 1)
    assert sketch.modes.tolist() == [MODE_CHARS, MODE_WORDS]


def test_signatures_are_deterministic_per_seed():
    texts = pa.array(["one two three four five six seven eight", "一二三四五六七八九十"], pa.large_string())
    modes = np.array([MODE_WORDS, MODE_CHARS], np.int8)
    a = sketch_texts(texts, modes, NGRAMS, 128, seed=7)
    b = sketch_texts(texts, modes, NGRAMS, 128, seed=7)
    c = sketch_texts(texts, modes, NGRAMS, 128, seed=8)
    assert np.array_equal(a.signatures, b.signatures)
    assert not np.array_equal(a.signatures, c.signatures)
    assert a.num_shingles.tolist() == [4, 6]


@pytest.fixture(scope="module")
def real_pairs(corpora):
    """True Jaccard and shingle sets of planted near-duplicate pairs and of unrelated pairs (Chinese, English)."""
    pairs = []
    for lang, mode in (("zh", MODE_CHARS), ("en", MODE_WORDS)):
        planted = build_planted_set(corpora, lang, 80, seed=3)
        sets, _ = _shingles(planted.texts, mode)
        pairs += [(sets[a], sets[b]) for a, b in planted.index_pairs(max_unrelated=40)]
    return pairs


def test_one_permutation_estimates_match_true_jaccard_on_real_pairs(real_pairs):
    hashes, starts = [], [0]
    for a, b in real_pairs:
        for s in (a, b):
            hashes += sorted(s)
            starts.append(len(hashes))
    signatures = signatures_of_sets(np.array(hashes, np.uint64), np.array(starts), 256, seed=1)
    estimates = estimate_jaccard(signatures[0::2], signatures[1::2])
    truth = np.array([len(a & b) / len(a | b) for a, b in real_pairs])
    errors = np.abs(estimates - truth)
    assert truth.min() < 0.1 and truth.max() > 0.9  # both unrelated and near-duplicate pairs
    # k-permutation MinHash with 256 values has standard error sqrt(J(1-J)/256) <= 0.031
    assert errors.mean() < 0.015 and errors.max() < 0.08  # measured: 0.006 and 0.042 (datasketch: 0.007, 0.054)


def test_parameter_search_agrees_with_datasketch_and_s_curve_is_monotone():
    for threshold, num_perm in ((0.8, 128), (0.7, 256), (0.9, 64)):
        params = choose_params(threshold, num_perm, 0.5, 0.5)
        assert (params.bands, params.rows) == _optimal_param(threshold, num_perm, 0.5, 0.5)
    params = choose_params(0.8, 256, 0.2, 0.8)
    curve = [params.candidate_probability(s) for s in (0.5, 0.7, 0.8, 0.9)]
    assert curve == sorted(curve) and curve[0] < 0.01 and curve[-1] > 0.99
    assert acceptance_probability(0.9, 0.8, 256) > 0.999 > 0.001 > acceptance_probability(0.7, 0.8, 256)
