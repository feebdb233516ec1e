"""Quality rules for scientific papers (arXiv LaTeX, unarXive text, Chinese abstracts): annotate, decide.

Papers keep their LaTeX and math untouched: nothing here edits the text. Two kinds of document
are dropped: near-empty ones (a lone `\\section{...}` heading, a list of `\\input{}` lines, a
one-sentence acknowledgement: too little prose once commands and math are set aside) and
bibliography-only ones (most lines are reference entries: `\\bibitem`, `[12] A. Author, ...`,
BibTeX records, DOIs). Prose is counted in words for spaced scripts and in characters for Han.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.clean.decision import first_reason

# Math (inline $...$, display $$...$$, \[...\], \(...\), equation-like environments) and commands.
_MATH_RE2 = (r"\$\$[^$]*\$\$|\$[^$\n]*\$|\\\[[^\]]*\\\]|\\\([^)]*\\\)|"
             r"\\begin\{(equation|align|gather|multline|eqnarray|displaymath)\*?\}")
_COMMAND_RE2 = r"\\[A-Za-z@]+\*?(?:\[[^\]\n]*\])?(?:\{[^{}\n]*\})?"
_WORD_RE2 = r"[A-Za-z\x{00C0}-\x{024F}]{2,}"
_HAN_RE2 = r"\p{Han}"
# A bibliography entry line: \bibitem, a numbered [n] / n. entry with a name and a year, a BibTeX
# record line, or a line carrying a DOI / arXiv identifier next to a year.
_BIB_LINE_RE2 = (
    r"^\s*\\bibitem|^\s*@(?:article|book|inproceedings|misc|phdthesis|techreport|incollection)\s*\{|"
    r"^\s*(?:author|title|journal|year|volume|pages|doi|publisher|booktitle)\s*=|"
    r"^\s*\[\d{1,4}\]\s+\S.*(?:19|20)\d\d|^\s*\d{1,4}\.\s+[A-Z][^\n]*(?:19|20)\d\d|"
    r"(?i)(?:doi:\s*10\.|doi\.org/10\.|arxiv:\s*\d{4}\.\d{4,5}).*|.*\bet al\.[^\n]*(?:19|20)\d\d"
)


@dataclass
class PaperRules:
    """Thresholds of the paper rules (one rejection reason each, checked in this order)."""

    min_prose_words: int = 25  # "near_empty": words (or Han characters / 2) outside commands and math
    min_bib_lines: int = 5  # "bibliography_only" is judged on documents with this many entry lines ...
    max_bib_line_frac: float = 0.6  # ... when this share of the non-empty lines are entries


def _np(array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def annotate(texts: pa.Array, rules: PaperRules) -> pa.Table:
    """The quality_* columns of the paper rules; the text (LaTeX, math) is returned unchanged."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    texts = pc.fill_null(texts, "").cast(pa.large_string())
    num_rows = len(texts)
    prose = pc.replace_substring_regex(pc.replace_substring_regex(texts, _MATH_RE2, " "), _COMMAND_RE2, " ")
    words = _np(pc.count_substring_regex(prose, _WORD_RE2))
    han = _np(pc.count_substring_regex(prose, _HAN_RE2))
    lists = pc.split_pattern(texts, "\n")
    lines = lists.flatten()
    parents = pc.list_parent_indices(lists).to_numpy()
    nonempty = _np(pc.utf8_length(pc.utf8_trim_whitespace(lines))) > 0
    bib = _np(pc.match_substring_regex(lines, _BIB_LINE_RE2)) & nonempty
    num_lines = np.bincount(parents[nonempty], minlength=num_rows)
    bib_lines = np.bincount(parents[bib], minlength=num_rows)
    return pa.table({
        "text": texts,
        "quality_num_chars": pc.utf8_length(texts).cast(pa.int64()),
        # Han text has no spaces: two characters make about one English word of content.
        "quality_prose_words": pa.array((words + han // 2).astype(np.int64)),
        "quality_math_spans": pc.count_substring_regex(texts, _MATH_RE2).cast(pa.int32()),
        "quality_num_lines": pa.array(num_lines.astype(np.int32)),
        "quality_bib_lines": pa.array(bib_lines.astype(np.int32)),
        "quality_bib_line_frac": pa.array(np.where(num_lines > 0, bib_lines / np.maximum(num_lines, 1), 0.0)
                                          .astype(np.float32)),
    })


def decide(annotations: pa.Table, rules: PaperRules) -> pa.Array:
    """'bibliography_only', 'near_empty' or null (keep) per document."""
    a = {name: _np(annotations.column(name)) for name in annotations.column_names
         if name.startswith("quality_")}
    bibliography = (a["quality_bib_lines"] >= rules.min_bib_lines) & \
        (a["quality_bib_line_frac"] >= rules.max_bib_line_frac)
    checks = [
        ("bibliography_only", bibliography),
        ("near_empty", a["quality_prose_words"] < rules.min_prose_words),
    ]
    return first_reason(checks, annotations.num_rows)
