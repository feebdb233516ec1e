"""English web quality rules: Gopher repetition and quality, C4, FineWeb, as columns over a batch.

`annotate` measures every document once (Arrow string kernels for lines and substrings, spaCy-
compatible words from `english_words`, numba for n-grams) and applies C4's line removal to the
text; `decide` turns the measurements into the first failing rule per document, in datatrove's
chain order (GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter -> FineWebQualityFilter)
and in each filter's own order of checks, so reasons can be compared with datatrove's one for one.
Defaults are datatrove's. As in datatrove, FineWeb sees the text after C4 removed lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.clean.english_lines import (
    TERMINAL_PUNCTUATION,
    Lines,
    c4_columns,
    count_matches,
    fineweb_columns,
    ratio,
    re2_class,
)
from curation.clean.english_ngrams import duplicate_ngram_chars, duplicates, top_ngram_chars
from curation.clean.english_words import Tokens

STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
# datatrove's PUNCTUATION: a word made only of these (or of terminal punctuation) is a "symbol".
PUNCTUATION = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»" + "".join(
    map(chr, [*range(0, 9), *range(11, 32), *range(127, 160)])
)


@dataclass
class EnglishRules:
    """Thresholds of the English web rules; None (or 0) switches a check off, as in datatrove."""

    gopher_repetition: bool = True
    dup_line_frac: float | None = 0.3
    dup_para_frac: float | None = 0.3
    dup_line_char_frac: float | None = 0.2
    dup_para_char_frac: float | None = 0.2
    top_ngram_fracs: dict[int, float] = field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})
    dup_ngram_fracs: dict[int, float] = field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    gopher_quality: bool = True
    min_doc_words: int | None = 50  # words with a character that is not punctuation
    max_doc_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1  # "#" and "..." per word, each
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8  # datatrove's max_non_alpha_words_ratio (misnamed there)
    min_stop_words: int | None = 2
    stop_words: list[str] = field(default_factory=lambda: list(STOP_WORDS))

    c4: bool = True
    c4_remove_citations: bool = True
    c4_filter_no_terminal_punct: bool = True
    c4_min_num_sentences: int = 5  # -1: off
    c4_min_words_per_line: int = 3  # -1: off
    c4_max_word_length: int = 1000  # -1: off
    c4_filter_lorem_ipsum: bool = True
    c4_filter_javascript: bool = True
    c4_filter_curly_bracket: bool = True
    c4_filter_policy: bool = True
    c4_badwords_path: str | None = None  # one word a line (C4's LDNOOBW list); None: no badwords rule

    fineweb: bool = True
    fineweb_line_punct_thr: float = 0.12
    fineweb_line_punct_exclude_zero: bool = False
    fineweb_stop_chars: str | None = None  # None: TERMINAL_PUNCTUATION
    fineweb_short_line_thr: float = 0.67
    fineweb_short_line_length: int = 30
    fineweb_char_duplicates_ratio: float = 0.01
    fineweb_new_line_ratio: float = 0.3

    def __post_init__(self) -> None:
        for name, table in (("top_ngram_fracs", self.top_ngram_fracs), ("dup_ngram_fracs", self.dup_ngram_fracs)):
            bad = [n for n in table if not isinstance(n, int) or isinstance(n, bool) or n < 1]
            if bad:
                raise ValueError(f"{name}: n-gram sizes must be positive integers, got {bad[0]!r}")
        if not self.stop_words and self.min_stop_words:
            raise ValueError("min_stop_words is set but stop_words is empty")


def annotate(texts: pa.Array, rules: EnglishRules) -> pa.Table:
    """Measure every document for the English rules; `text` comes back with C4's line removal applied."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts.cast(pa.large_string()), "")
    num_chars = np.asarray(pc.utf8_length(texts), dtype=np.int64)
    lines = Lines.of(texts)
    columns: dict[str, np.ndarray] = {"quality_num_chars": num_chars}
    if rules.gopher_repetition:
        columns |= _gopher_repetition(texts, num_chars, lines.doc_words, rules)
    if rules.gopher_quality:
        columns |= _gopher_quality(texts, lines, rules)
    if rules.c4:
        c4_text, c4_found, c4_words = c4_columns(lines, rules)
        columns |= c4_found
    else:
        c4_text, c4_words = texts, lines.doc_words.counts()
    if rules.fineweb:
        columns |= fineweb_columns(c4_text, c4_words, rules)
    return pa.table({"text": c4_text, **columns})


def decide(annotations: pa.Table, rules: EnglishRules) -> pa.Array:
    """The first failing rule of every document in chain order (null: keep)."""
    reasons = decide_each(annotations, rules)
    return pc.coalesce(*reasons.values()) if reasons else pa.nulls(annotations.num_rows, pa.string())


def decide_each(annotations: pa.Table, rules: EnglishRules) -> dict[str, pa.Array]:
    """Each filter's own first failing rule (null: passes), keyed by filter, in chain order."""
    col = _Columns(annotations)
    out = {}
    with np.errstate(invalid="ignore"):
        if rules.gopher_repetition:
            out["gopher_repetition"] = _first(
                [
                    ("gopher_empty", col["quality_num_chars"] == 0),
                    ("gopher_dup_para_frac", _above(col["quality_dup_para_frac"], rules.dup_para_frac)),
                    ("gopher_dup_para_char_frac", _above(col["quality_dup_para_char_frac"], rules.dup_para_char_frac)),
                    ("gopher_dup_line_frac", _above(col["quality_dup_line_frac"], rules.dup_line_frac)),
                    ("gopher_dup_line_char_frac", _above(col["quality_dup_line_char_frac"], rules.dup_line_char_frac)),
                    *[
                        (f"gopher_top_{n}gram", _above(col[f"quality_top_{n}gram_frac"], frac))
                        for n, frac in sorted(rules.top_ngram_fracs.items())
                    ],
                    *[
                        (f"gopher_dup_{n}gram", _above(col[f"quality_dup_{n}gram_frac"], frac))
                        for n, frac in sorted(rules.dup_ngram_fracs.items())
                    ],
                ]
            )
        if rules.gopher_quality:
            words = col["quality_num_words"]
            mean = col["quality_mean_word_length"]
            out["gopher_quality"] = _first(
                [
                    ("gopher_short_doc", _below(words, rules.min_doc_words)),
                    ("gopher_long_doc", _above(words, rules.max_doc_words)),
                    ("gopher_below_avg_threshold", _below(mean, rules.min_avg_word_length)),
                    ("gopher_above_avg_threshold", _above(mean, rules.max_avg_word_length)),
                    ("gopher_too_many_hashes", _above(col["quality_hash_word_ratio"], rules.max_symbol_word_ratio)),
                    (
                        "gopher_too_many_ellipsis",
                        _above(col["quality_ellipsis_word_ratio"], rules.max_symbol_word_ratio),
                    ),
                    ("gopher_too_many_bullets", _above(col["quality_bullet_line_frac"], rules.max_bullet_lines_ratio)),
                    (
                        "gopher_too_many_end_ellipsis",
                        _above(col["quality_ellipsis_line_frac"], rules.max_ellipsis_lines_ratio),
                    ),
                    (
                        "gopher_below_alpha_threshold",
                        _below(col["quality_alpha_word_frac"], rules.min_alpha_words_ratio),
                    ),
                    ("gopher_enough_stop_words", _below(col["quality_stop_words"], rules.min_stop_words)),
                ]
            )
        if rules.c4:
            lorem, curly = col["quality_c4_lorem_ipsum_line"], col["quality_c4_curly_bracket_line"]
            checks = [
                ("c4_lorem_ipsum", (lorem >= 0) & ((curly < 0) | (lorem < curly))),
                ("c4_curly_bracket", curly >= 0),
                ("c4_too_few_sentences", col["quality_c4_num_sentences"] < rules.c4_min_num_sentences),
            ]
            if rules.c4_badwords_path:
                checks.append(("c4_badwords", col["quality_c4_badwords"] > 0))
            out["c4"] = _first(checks)
        if rules.fineweb:
            punct = col["quality_fw_line_punct_frac"]
            out["fineweb"] = _first(
                [
                    ("fineweb_empty", col["quality_fw_num_lines"] == 0),
                    (
                        "fineweb_line_punct_ratio",
                        (punct < rules.fineweb_line_punct_thr)
                        & ~((punct == 0) & rules.fineweb_line_punct_exclude_zero),
                    ),
                    ("fineweb_short_line_ratio", col["quality_fw_short_line_frac"] > rules.fineweb_short_line_thr),
                    ("fineweb_char_dup_ratio", col["quality_fw_char_dup_frac"] > rules.fineweb_char_duplicates_ratio),
                    ("fineweb_list_ratio", col["quality_fw_newline_word_ratio"] > rules.fineweb_new_line_ratio),
                ]
            )
    return out


class _Columns:
    """Annotation columns as numpy arrays, with a clear error for one the rules need but lack."""

    def __init__(self, annotations: pa.Table):
        self._table = annotations

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._table.column_names:
            raise ValueError(f"annotations have no {name!r} column: annotate with the rules you decide with")
        return self._table[name].to_numpy(zero_copy_only=False)


def _above(values: np.ndarray, threshold: float | None) -> np.ndarray:
    return values > threshold if threshold else np.zeros(len(values), bool)


def _below(values: np.ndarray, threshold: float | None) -> np.ndarray:
    return values < threshold if threshold else np.zeros(len(values), bool)


def _first(checks: list[tuple[str, np.ndarray]]) -> pa.Array:
    """The name of the first check that holds per row, null where none does."""
    names = pa.array([name for name, _ in checks], pa.string())
    index = np.full(len(checks[0][1]), -1, np.int64)
    for i in range(len(checks) - 1, -1, -1):
        index = np.where(checks[i][1], i, index)
    return names.take(pa.array(index, mask=index < 0))


def _gopher_repetition(texts: pa.Array, num_chars: np.ndarray, words: Tokens, rules: EnglishRules) -> dict:
    n = len(texts)
    paragraphs = pc.split_pattern_regex(pc.utf8_trim_whitespace(texts), r"\n{2,}")
    num_paras, dup_paras, dup_para_chars = duplicates(paragraphs, n)
    num_lines, dup_lines, dup_line_chars = duplicates(pc.split_pattern_regex(texts, r"\n+"), n)
    out = {
        "quality_dup_para_frac": ratio(dup_paras, num_paras),
        "quality_dup_para_char_frac": ratio(dup_para_chars, num_chars),
        "quality_dup_line_frac": ratio(dup_lines, num_lines),
        "quality_dup_line_char_frac": ratio(dup_line_chars, num_chars),
    }
    lengths = np.asarray(pc.utf8_length(words.vocab), dtype=np.int64)[words.ids]
    for size in sorted(rules.top_ngram_fracs):
        chars = top_ngram_chars(words.ids, lengths, words.offsets, size)
        out[f"quality_top_{size}gram_frac"] = ratio(chars, num_chars)
    for size in sorted(rules.dup_ngram_fracs):
        chars = duplicate_ngram_chars(words.ids, lengths, words.offsets, size)
        out[f"quality_dup_{size}gram_frac"] = ratio(chars, num_chars)
    return out


def _gopher_quality(texts: pa.Array, lines: Lines, rules: EnglishRules) -> dict:
    n = len(texts)
    words = lines.doc_words
    vocab = words.vocab
    not_symbol = np.asarray(
        pc.match_substring_regex(vocab, f"[^{re2_class(PUNCTUATION + TERMINAL_PUNCTUATION)}]"), dtype=bool
    )[words.ids]
    alpha = np.asarray(pc.match_substring_regex(vocab, r"\pL"), dtype=bool)[words.ids]
    lengths = np.asarray(pc.utf8_length(vocab), dtype=np.int64)[words.ids]
    rows = words.row_index()
    num_tokens = words.counts()
    num_words = np.bincount(rows[not_symbol], minlength=n)
    word_chars = np.bincount(rows[not_symbol], weights=lengths[not_symbol], minlength=n)
    stop = np.asarray(pc.index_in(vocab, pa.array(rules.stop_words, pa.large_string())).fill_null(-1), dtype=np.int64)[
        words.ids
    ]
    is_stop = stop >= 0
    distinct = np.unique(rows[is_stop] * max(len(rules.stop_words), 1) + stop[is_stop])
    bullets, ellipses = lines.bullet_and_ellipsis_fracs()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_length = word_chars / num_words  # nan without words, like np.mean([])
    return {
        "quality_num_words": num_words,
        "quality_num_symbol_words": num_tokens - num_words,
        "quality_mean_word_length": mean_length,
        "quality_hash_word_ratio": ratio(count_matches(texts, "#"), num_tokens),
        "quality_ellipsis_word_ratio": ratio(count_matches(texts, "...") + count_matches(texts, "…"), num_tokens),
        "quality_bullet_line_frac": bullets,
        "quality_ellipsis_line_frac": ellipses,
        "quality_alpha_word_frac": ratio(np.bincount(rows[alpha], minlength=n), num_tokens),
        "quality_stop_words": np.bincount(distinct // max(len(rules.stop_words), 1), minlength=n),
    }
