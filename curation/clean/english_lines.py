"""C4's and FineWeb's line rules, and the line view of a batch that all English rules share.

A batch is split into lines the way `str.splitlines()` splits them (boundaries normalised to "\\n",
then one Arrow split), every line is stripped and split into words once; documents' words are their
lines' words, since every line boundary is whitespace. C4 then works line by line with Arrow
string kernels (citations, terminal punctuation, "javascript", policy phrases, "lorem ipsum", "{"),
counts sentences with spaCy's sentencizer rule over the words of the kept lines, and joins those
lines into the text FineWeb measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.clean.english_ngrams import duplicates, sentence_counts
from curation.clean.english_words import Tokens, tokenize

if TYPE_CHECKING:
    from curation.clean.english import EnglishRules

# datatrove's TERMINAL_PUNCTUATION (Unicode sentence terminals); spaCy's Sentencizer uses all of
# them but the ones in _NOT_SENTENCIZER.
TERMINAL_PUNCTUATION = (
    "!.?\u0589\u061d\u061e\u061f\u06d4\u0700\u0701\u0702\u07f9\u0837\u0839\u083d\u083e\u0964\u0965\u104a"
    "\u104b\u1362\u1367\u1368\u166e\u1735\u1736\u17d4\u17d5\u17d6\u17d9\u17da\u1803\u1809\u1944\u1945\u1aa8"
    "\u1aa9\u1aaa\u1aab\u1b5a\u1b5b\u1b5e\u1b5f\u1b7d\u1b7e\u1c3b\u1c3c\u1c7e\u1c7f\u203c\u203d\u2047\u2048"
    "\u2049\u2e2e\u2e3c\u2e53\u2e54\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf\ua92f\ua9c8"
    "\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe52\ufe56\ufe57\uff01\uff0e\uff1f\uff61\U00010a56\U00010a57"
    "\U00010f55\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88\U00010f89\U00011047"
    "\U00011048\U000110be\U000110bf\U000110c0\U000110c1\U00011141\U00011142\U00011143\U000111c5\U000111c6"
    "\U000111cd\U000111de\U000111df\U00011238\U00011239\U0001123b\U0001123c\U000112a9\U0001144b\U0001144c"
    "\U000115c2\U000115c3\U000115c9\U000115ca\U000115cb\U000115cc\U000115cd\U000115ce\U000115cf\U000115d0"
    "\U000115d1\U000115d2\U000115d3\U000115d4\U000115d5\U000115d6\U000115d7\U00011641\U00011642\U0001173c"
    "\U0001173d\U0001173e\U00011944\U00011946\U00011a42\U00011a43\U00011a9b\U00011a9c\U00011c41\U00011c42"
    "\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016a6e\U00016a6f\U00016af5\U00016b37\U00016b38\U00016b44"
    "\U00016e98\U0001bc9f\U0001da88"
)
_NOT_SENTENCIZER = (
    "\u061d\u061e\u0837\u0839\u083d\u083e\u17d4\u17d5\u17d6\u17d9\u17da\u1b7d\u1b7e\u2e53\u2e54\U00010f55"
    "\U00010f56\U00010f57\U00010f58\U00010f59\U00010f86\U00010f87\U00010f88\U00010f89\U00011944\U00011946"
    "\U00011ef7\U00011ef8\U00011f43\U00011f44\U00016e98"
)
POLICY_SUBSTRINGS = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"]


def re2_class(chars: str) -> str:
    """The body of an RE2 character class holding exactly these characters."""
    return "".join(f"\\x{{{ord(c):x}}}" for c in sorted(set(chars)))


# Python's str.splitlines() boundaries, and the whitespace (str.isspace) that is not one.
_LINE_BREAKS = r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x{85}\x{2028}\x{2029}]"
_BLANK = r"[\t \x1f\x{a0}\x{1680}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}]"
_CITATION = r"\[\pN*\]|\[edit\]|\[citation needed\]"  # datatrove: \[\d*]|\[edit]|\[citation needed]


@dataclass
class Lines:
    """A batch split into lines the way str.splitlines() does, stripped, with their words.

    Line breaks are whitespace, so no word crosses one: a document's words are its lines' words.
    """

    normalized: pa.Array  # the texts with every str.splitlines() boundary turned into "\n"
    rows: np.ndarray  # document of every line
    starts: np.ndarray  # first line of every document, plus the total at the end
    stripped: pa.Array  # every line, str.strip()ped
    words: Tokens  # words per line
    doc_words: Tokens  # words per document

    @classmethod
    def of(cls, texts: pa.Array) -> Lines:
        """Split a large_string array without nulls."""
        normalized = pc.replace_substring_regex(texts, _LINE_BREAKS, "\n")
        split = pc.split_pattern(normalized, "\n")
        rows = np.asarray(pc.list_parent_indices(split), dtype=np.int64)
        starts = np.zeros(len(texts) + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=len(texts)), out=starts[1:])
        stripped = pc.utf8_trim_whitespace(pc.list_flatten(split))
        words = tokenize(stripped)
        return cls(normalized, rows, starts, stripped, words, words.regroup(starts))

    def bullet_and_ellipsis_fracs(self) -> tuple[np.ndarray, np.ndarray]:
        """Per document: fractions of lines starting with a bullet ("•" or "-" after blanks) and of
        lines ending with an ellipsis ("..." or "…" before blanks), of str.splitlines() lines."""
        texts = self.normalized
        newlines = count_matches(texts, "\n")
        num_lines = np.where(
            np.asarray(pc.utf8_length(texts)) == 0, 0, newlines + 1 - np.asarray(pc.ends_with(texts, "\n"), dtype=bool)
        )
        # Arrow restarts a regex after each match, so "^" would match mid-line: frame every line with
        # explicit newlines instead (each match then consumes the one newline of its line).
        newline = pa.scalar("\n", pa.large_string())
        framed = pc.binary_join_element_wise(newline, texts, newline, pa.scalar("", pa.large_string()))
        bullets = count_matches(framed, f"\\n{_BLANK}*[•-]", regex=True)
        ellipses = count_matches(framed, f"(?:\\.\\.\\.|…){_BLANK}*\\n", regex=True)
        return ratio(bullets, num_lines), ratio(ellipses, num_lines)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den in float64, 0 where den is 0 (those rows fail an earlier check)."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros(len(num)), where=den != 0)


def count_matches(texts: pa.Array, pattern: str, regex: bool = False) -> np.ndarray:
    """Non-overlapping occurrences of a substring (or RE2 pattern) per string."""
    counted = pc.count_substring_regex(texts, pattern) if regex else pc.count_substring(texts, pattern)
    return np.asarray(counted, dtype=np.int64)


def c4_columns(lines: Lines, rules: EnglishRules) -> tuple[pa.Array, dict, np.ndarray]:
    """C4's line removal, its document-level findings, and the number of words left per document."""
    n = len(lines.starts) - 1
    line, words = lines.stripped, lines.words
    keep = np.ones(len(line), bool)
    if rules.c4_max_word_length != -1:
        keep &= words.longest_chunk <= rules.c4_max_word_length
    cited = pc.replace_substring_regex(line, _CITATION, "") if rules.c4_remove_citations else line
    if rules.c4_filter_no_terminal_punct:
        keep &= np.asarray(pc.match_substring_regex(cited, r"[.?!\"']$"), dtype=bool)
        keep &= ~np.asarray(pc.ends_with(cited, "..."), dtype=bool)
    keep &= words.num_chunks >= rules.c4_min_words_per_line  # words before citations went, as C4 does
    lower = pc.utf8_lower(cited)

    def has(column: pa.Array, pattern: str) -> np.ndarray:
        return np.asarray(pc.match_substring_regex(column, pattern), dtype=bool)

    lorem = keep & has(lower, "lorem ipsum") if rules.c4_filter_lorem_ipsum else np.zeros(len(keep), bool)
    keep &= ~lorem
    if rules.c4_filter_javascript:
        keep &= ~has(lower, "javascript")
    curly = keep & has(cited, r"\{") if rules.c4_filter_curly_bracket else np.zeros(len(keep), bool)
    keep &= ~curly
    if rules.c4_filter_policy:
        keep &= ~has(lower, "|".join(POLICY_SUBSTRINGS))
    # Sentences (spaCy's sentencizer) and words of every line; lines that lost a citation again.
    sentences = _sentences(words)
    num_words = words.counts()
    changed = np.flatnonzero(keep & np.asarray(pc.not_equal(cited, line), dtype=bool))
    if len(changed):
        rewritten = tokenize(cited.take(pa.array(changed)))
        sentences[changed] = _sentences(rewritten)
        num_words[changed] = rewritten.counts()
    kept_rows = lines.rows[keep]
    kept = pa.LargeListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(np.bincount(kept_rows, minlength=n))]), pa.int64()),
        cited.filter(pa.array(keep)),
    )
    text = pc.utf8_trim_whitespace(pc.binary_join(kept, pa.scalar("\n", pa.large_string())))
    out = {
        "quality_c4_num_sentences": np.bincount(kept_rows, weights=sentences[keep], minlength=n).astype(np.int64),
        "quality_c4_lorem_ipsum_line": _first_line(lorem, lines),
        "quality_c4_curly_bracket_line": _first_line(curly, lines),
        "quality_c4_removed_lines": np.bincount(lines.rows[~keep], minlength=n),
    }
    if rules.c4_badwords_path:
        out["quality_c4_badwords"] = _badwords(text, rules.c4_badwords_path)
    return text, out, np.bincount(kept_rows, weights=num_words[keep], minlength=n).astype(np.int64)


def _sentences(words: Tokens) -> np.ndarray:
    """spaCy sentencizer sentences per row."""
    ends = pc.is_in(words.vocab, pa.array(list(_sentencizer_chars()), pa.large_string()))
    punct = pc.match_substring_regex(words.vocab, r"^\pP+$")
    return sentence_counts(words.ids, words.offsets, np.asarray(ends, bool), np.asarray(punct, bool))


def _first_line(hit: np.ndarray, lines: Lines) -> np.ndarray:
    """Per document: index of its first line where `hit` holds, -1 if none."""
    first = np.full(len(lines.starts) - 1, -1, np.int64)
    where = np.flatnonzero(hit)[::-1]  # reversed, so the earliest line of a document is written last
    first[lines.rows[where]] = where - lines.starts[lines.rows[where]]
    return first


def _sentencizer_chars() -> str:
    return "".join(c for c in TERMINAL_PUNCTUATION if c not in _NOT_SENTENCIZER)


def _badwords(texts: pa.Array, path: str) -> np.ndarray:
    """1 where the lower-cased text holds a listed word between non-word characters (C4BadWordsFilter)."""
    try:
        words = [w.strip() for w in Path(path).read_text(encoding="utf-8").splitlines() if w.strip()]
    except OSError as exc:
        raise ValueError(f"c4_badwords_path: cannot read {path}: {exc.strerror}") from None
    body = "|".join("".join(f"\\x{{{ord(c):x}}}" for c in w) for w in words)
    pattern = f"(?:[^\\pL\\pN_]|^)(?:{body})(?:[^\\pL\\pN_]|$)"
    return np.asarray(pc.match_substring_regex(pc.utf8_lower(texts), pattern), dtype=np.int64)


def fineweb_columns(texts: pa.Array, num_words: np.ndarray, rules: EnglishRules) -> dict:
    n = len(texts)
    lines = pc.split_pattern(texts, "\n")
    rows = np.asarray(pc.list_parent_indices(lines), dtype=np.int64)
    line = pc.list_flatten(lines)
    nonblank = np.asarray(pc.not_equal(pc.utf8_trim_whitespace(line), ""), dtype=bool)
    stop_chars = rules.fineweb_stop_chars if rules.fineweb_stop_chars is not None else TERMINAL_PUNCTUATION
    punct_end = np.asarray(pc.match_substring_regex(line, f"[{re2_class(stop_chars)}]$"), dtype=bool)
    short = np.asarray(pc.utf8_length(line), dtype=np.int64) <= rules.fineweb_short_line_length
    num_lines = np.bincount(rows[nonblank], minlength=n)
    blank_free = pa.LargeListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(num_lines)]), pa.int64()), line.filter(pa.array(nonblank))
    )
    _, _, dup_chars = duplicates(blank_free, n)
    newlines = count_matches(texts, "\n")
    return {
        "quality_fw_num_lines": num_lines,
        "quality_fw_line_punct_frac": ratio(np.bincount(rows[nonblank & punct_end], minlength=n), num_lines),
        "quality_fw_short_line_frac": ratio(np.bincount(rows[nonblank & short], minlength=n), num_lines),
        "quality_fw_char_dup_frac": ratio(dup_chars, np.asarray(pc.utf8_length(texts)) - newlines),
        "quality_fw_newline_word_ratio": ratio(newlines, num_words),
    }
