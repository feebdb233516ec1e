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

from curation.clean.columns import as_text_column, count_chars, ratio, to_numpy
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





def annotate(texts: pa.Array, rules: ReferenceRules) -> pa.Table:
    """The quality_* columns of the reference rules; the text is returned unchanged."""
    texts = as_text_column(texts)
    han = count_chars(texts, _HAN_RE2)
    words = to_numpy(pc.count_substring_regex(texts, _WORD_RE2)).astype(np.int64) + han // 2
    unruled = pc.replace_substring_regex(texts, _RULER_RE2, "")
    text_chars = to_numpy(pc.utf8_length(unruled)).astype(np.int64) - count_chars(unruled, _SPACE_RE2)
    dup_chars, dup_den = dup_ngram_coverage(texts, rules.ngram_chars)
    return pa.table({
        "text": texts,
        "quality_num_chars": pc.utf8_length(texts).cast(pa.int64()),
        "quality_num_words": pa.array(words),
        "quality_letter_frac": ratio(count_chars(unruled, _LETTER_RE2), text_chars),
        "quality_garbage_frac": ratio(count_chars(unruled, _GARBAGE_RE2), text_chars),
        "quality_dup_ngram_char_frac": ratio(dup_chars, dup_den),
    })


def decide(annotations: pa.Table, rules: ReferenceRules) -> pa.Array:
    """'garbage_chars', 'too_short', 'mostly_non_text', 'repetitive' or null (keep) per document."""
    a = {name: to_numpy(annotations.column(name)) for name in annotations.column_names
         if name.startswith("quality_")}
    checks = [  # undecodable bytes first: such a file also looks short and not like text
        ("garbage_chars", a["quality_garbage_frac"] > rules.max_garbage_frac),
        ("too_short", a["quality_num_words"] < rules.min_words),
        ("mostly_non_text", a["quality_letter_frac"] < rules.min_letter_frac),
        ("repetitive", a["quality_dup_ngram_char_frac"] > rules.max_dup_ngram_char_frac),
    ]
    return first_reason(checks, annotations.num_rows)
