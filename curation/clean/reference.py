"""Sanity rules for curated reference text (books, Wikipedia, software documentation): annotate, decide.

Reference sources were written and edited by people, so the web rules misfire on them: book
chapters are 100K words long, verse and headings do not end in punctuation, reST and wiki markup
is full of bullets, "{", "#" and table borders, and WikiText splits punctuation off with spaces.
These rules only catch what is broken whatever the genre: undecodable bytes (U+FFFD from
ingest's lenient decoding; NUL and control characters are already gone after normalization, so
a NUL-padded file shows up here as too short or as garbage), too few words to be a document
(index stubs, a toctree, a lone heading), text that is mostly not letters (number tables, symbol
soup), and extreme repetition (the same long passage over and over: a broken dump or a page-join loop).
Rules work on any script: Han characters count as half a word each, as in curation.clean.paper.
Nothing here edits the text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.clean.decision import first_reason
from curation.clean.repetition import dup_ngram_coverage

# Letters, marks and digits of spaced scripts (every character is L, M, N, P, S, Z or C).
_WORD_RE2 = r"[^\s\p{P}\p{S}\p{Z}\p{C}\p{Han}]+"
_HAN_RE2 = r"\p{Han}"
_LETTER_RE2 = r"\p{L}"
_SPACE_RE2 = r"\s"
# Rules and table borders of plain-text markup (reST "=====", "+-----+", "*****", Markdown "---"):
# layout, not text, so they are left out of the letter share's denominator.
_RULER_RE2 = r"[-=+_*#~^.|:`<>/\\]{3,}"
# U+FFFD (bytes that did not decode), private-use and surrogate code points, C0/C1 controls
# other than tab and line feed.
_GARBAGE_RE2 = r"[\x{FFFD}\p{Co}\p{Cs}\x{0}-\x{8}\x{B}-\x{1F}\x{7F}-\x{9F}]"


@dataclass
class ReferenceRules:
    """Thresholds of the reference-text rules (one rejection reason each, checked in this order)."""

    # Shares are of the "text characters": non-space characters outside rulers and table borders.
    max_garbage_frac: float = 0.01  # "garbage_chars": U+FFFD, private-use, control characters
    min_words: int = 50  # "too_short": words (Han characters / 2), markup words included
    min_letter_frac: float = 0.3  # "mostly_non_text": letters
    ngram_chars: int = 100  # "repetitive": characters (whitespace skipped) inside repeated n-grams ...
    max_dup_ngram_char_frac: float = 0.9  # ... above this share of the non-space characters

    def __post_init__(self):
        if self.ngram_chars < 1:
            raise ValueError("ngram_chars must be at least 1")


def _np(array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _count_chars(texts: pa.Array, char_class: str) -> np.ndarray:
    """Characters of a regex class per row: length minus length with the class's runs deleted."""
    without = pc.utf8_length(pc.replace_substring_regex(texts, char_class + "+", ""))
    return _np(pc.utf8_length(texts)).astype(np.int64) - _np(without).astype(np.int64)


def _frac(num: np.ndarray, den: np.ndarray) -> pa.Array:
    return pa.array(np.where(den > 0, num / np.maximum(den, 1), 0.0).astype(np.float32))


def annotate(texts: pa.Array, rules: ReferenceRules) -> pa.Table:
    """The quality_* columns of the reference rules; the text is returned unchanged."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts, "").cast(pa.large_string())
    han = _count_chars(texts, _HAN_RE2)
    words = _np(pc.count_substring_regex(texts, _WORD_RE2)).astype(np.int64) + han // 2
    unruled = pc.replace_substring_regex(texts, _RULER_RE2, "")
    text_chars = _np(pc.utf8_length(unruled)).astype(np.int64) - _count_chars(unruled, _SPACE_RE2)
    dup_chars, dup_den = dup_ngram_coverage(texts, rules.ngram_chars)
    return pa.table({
        "text": texts,
        "quality_num_chars": pc.utf8_length(texts).cast(pa.int64()),
        "quality_num_words": pa.array(words),
        "quality_letter_frac": _frac(_count_chars(unruled, _LETTER_RE2), text_chars),
        "quality_garbage_frac": _frac(_count_chars(unruled, _GARBAGE_RE2), text_chars),
        "quality_dup_ngram_char_frac": _frac(dup_chars, dup_den),
    })


def decide(annotations: pa.Table, rules: ReferenceRules) -> pa.Array:
    """'garbage_chars', 'too_short', 'mostly_non_text', 'repetitive' or null (keep) per document."""
    a = {name: _np(annotations.column(name)) for name in annotations.column_names
         if name.startswith("quality_")}
    checks = [  # undecodable bytes first: such a file also looks short and not like text
        ("garbage_chars", a["quality_garbage_frac"] > rules.max_garbage_frac),
        ("too_short", a["quality_num_words"] < rules.min_words),
        ("mostly_non_text", a["quality_letter_frac"] < rules.min_letter_frac),
        ("repetitive", a["quality_dup_ngram_char_frac"] > rules.max_dup_ngram_char_frac),
    ]
    return first_reason(checks, annotations.num_rows)
