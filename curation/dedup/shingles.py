"""Shingles hashed straight from the UTF-8 bytes of a whole batch: words, characters or code tokens.

One numba pass per document decodes UTF-8, normalizes each code point (ASCII/Latin/Greek/Cyrillic
lowercase, full-width forms folded to ASCII, all whitespace alike), splits it into tokens by the
document's mode, and hashes every n-gram of tokens. Token hashes are FNV-1a over code points; an
n-gram's hash is a fixed linear combination of its token hashes put through splitmix64, so no
shingle string is ever built. The same pass hashes the normalized text (whitespace runs collapsed)
into the 128-bit key that exact dedup groups on.

Modes: WORDS (English and other space-separated languages: runs of letters/digits, every CJK
character its own token, punctuation dropped), CHARS (Chinese/Japanese/Korean: every non-space,
non-punctuation character a token), CODE (identifier runs plus every punctuation character as a
token, since `a+b` and `a-b` differ), AUTO (CHARS when CJK characters are over 30% of the first
4 KB of letters, else WORDS; for documents with no language label).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MODE_WORDS, MODE_CHARS, MODE_CODE, MODE_AUTO = 0, 1, 2, 3
MODE_NAMES = ("words", "chars", "code", "auto")

# Character classes.
_WS, _WORD, _CJK, _PUNCT = 0, 1, 2, 3
_ASCII_CLASS = np.full(128, _PUNCT, dtype=np.int8)
_ASCII_CLASS[:33] = _WS  # controls and space
_ASCII_CLASS[127] = _WS
for _lo, _hi in ((48, 57), (65, 90), (97, 122)):
    _ASCII_CLASS[_lo:_hi + 1] = _WORD
_ASCII_CLASS[ord("_")] = _WORD

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_EXACT_MULT = np.uint64(0x9E3779B97F4A7C15)
# Odd multipliers that place token j of an n-gram (n <= 16) before the final mix.
_NGRAM_MULTS = np.array([0x9E3779B97F4A7C15 ^ (0xBF58476D1CE4E5B9 * (j + 1) & 0xFFFFFFFFFFFFFFFF) | 1
                         for j in range(16)], dtype=np.uint64)
MAX_NGRAM = len(_NGRAM_MULTS)
_AUTO_SNIFF_BYTES = 4096


@nb.njit(cache=True, inline="always")
def splitmix64(x):
    """The splitmix64 finalizer: a bijective 64-bit mix (uint64 in, uint64 out)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@nb.njit(cache=True, inline="always")
def _decode(data, i, end):
    """The code point starting at byte i and the index of the next one (invalid bytes pass as-is)."""
    b0 = np.int64(data[i])
    if b0 < 0x80:
        return b0, i + 1
    if b0 >= 0xF0 and i + 3 < end:
        return (((b0 & 0x07) << 18) | ((np.int64(data[i + 1]) & 0x3F) << 12)
                | ((np.int64(data[i + 2]) & 0x3F) << 6) | (np.int64(data[i + 3]) & 0x3F)), i + 4
    if b0 >= 0xE0 and i + 2 < end:
        return (((b0 & 0x0F) << 12) | ((np.int64(data[i + 1]) & 0x3F) << 6)
                | (np.int64(data[i + 2]) & 0x3F)), i + 3
    if b0 >= 0xC0 and i + 1 < end:
        return ((b0 & 0x1F) << 6) | (np.int64(data[i + 1]) & 0x3F), i + 2
    return b0, i + 1


@nb.njit(cache=True, inline="always")
def _normalize(cp, ascii_class):
    """(normalized code point, class): lowercase, full-width folded, every space alike."""
    if cp >= 0xFF01 and cp <= 0xFF5E:  # full-width ASCII forms
        cp -= 0xFEE0
    if cp < 128:
        if cp >= 65 and cp <= 90:
            cp += 32
        return cp, ascii_class[cp]
    if cp < 0x2E80:
        if cp == 0x85 or cp == 0xA0 or cp == 0x1680 or (cp >= 0x2000 and cp <= 0x200B) \
                or cp == 0x2028 or cp == 0x2029 or cp == 0x202F or cp == 0x205F:
            return 32, _WS
        if (cp >= 0xA1 and cp <= 0xBF) or cp == 0xD7 or cp == 0xF7 or (cp >= 0x2010 and cp <= 0x2BFF):
            return cp, _PUNCT
        if (cp >= 0xC0 and cp <= 0xDE) or (cp >= 0x391 and cp <= 0x3A9) or (cp >= 0x410 and cp <= 0x42F):
            return cp + 32, _WORD  # Latin-1, Greek, Cyrillic capitals
        if cp >= 0x400 and cp <= 0x40F:
            return cp + 80, _WORD
        return cp, _WORD
    if cp == 0x3000 or cp == 0xFEFF:
        return 32, _WS
    if (cp >= 0x3001 and cp <= 0x303F and cp != 0x3005 and cp != 0x3007) or (cp >= 0xFE10 and cp <= 0xFE6F) \
            or (cp >= 0xFF00 and cp <= 0xFF65) or (cp >= 0x1F000 and cp <= 0x1FAFF):
        return cp, _PUNCT
    if cp <= 0x9FFF or (cp >= 0xAC00 and cp <= 0xD7AF) or (cp >= 0xF900 and cp <= 0xFAFF) \
            or (cp >= 0x20000 and cp <= 0x3134F):
        return cp, _CJK
    return cp, _WORD


@nb.njit(cache=True)
def _sniff_mode(data, start, end, ascii_class):
    """CHARS when CJK characters are over 30% of the letters in the first 4 KB, else WORDS."""
    stop = min(end, start + _AUTO_SNIFF_BYTES)
    cjk = 0
    word = 0
    i = start
    while i < stop:
        cp, i = _decode(data, i, end)
        cp, cls = _normalize(cp, ascii_class)
        if cls == _CJK:
            cjk += 1
        elif cls == _WORD:
            word += 1
    return MODE_CHARS if cjk * 10 > (cjk + word) * 3 else MODE_WORDS


@nb.njit(cache=True, inline="always")
def _ngram_hash(ring, pos, count, n, mults):
    """Hash of the last min(count, n) tokens held in the ring buffer, oldest first."""
    k = min(count, n)
    h = np.uint64(k)
    for j in range(k):
        h += ring[(pos - k + j) % n] * mults[j]
    return splitmix64(h)


@nb.njit(cache=True)
def doc_shingles(data, start, end, mode, ngram, out, ascii_class, mults):
    """Write the document's shingle hashes to `out`; return (count, exact_hash_1, exact_hash_2)."""
    if mode == MODE_AUTO:
        mode = _sniff_mode(data, start, end, ascii_class)
    ring = np.zeros(ngram, dtype=np.uint64)
    num_tokens = 0
    count = 0
    tok = _FNV_OFFSET
    in_token = False
    exact1 = _FNV_OFFSET
    exact2 = np.uint64(0)
    pending_space = False
    started = False
    i = start
    while i <= end:
        if i < end:
            cp, i = _decode(data, i, end)
            cp, cls = _normalize(cp, ascii_class)
        else:
            cp, cls = 32, _WS  # flush the last token
            i += 1
        # Exact key: the normalized text with whitespace runs collapsed to one space.
        if cls == _WS:
            pending_space = started
        else:
            if pending_space:
                exact1 = (exact1 ^ np.uint64(32)) * _FNV_PRIME
                exact2 = (exact2 + np.uint64(33)) * _EXACT_MULT
                pending_space = False
            exact1 = (exact1 ^ np.uint64(cp)) * _FNV_PRIME
            exact2 = (exact2 + np.uint64(cp + 1)) * _EXACT_MULT
            started = True
        # Tokens: a run continues only for WORD characters in WORDS and CODE modes.
        joins = cls == _WORD and mode != MODE_CHARS
        if in_token and not joins:
            ring[num_tokens % ngram] = splitmix64(tok)
            num_tokens += 1
            if num_tokens >= ngram:
                out[count] = _ngram_hash(ring, num_tokens, num_tokens, ngram, mults)
                count += 1
            tok = _FNV_OFFSET
            in_token = False
        if cls == _WS or (cls == _PUNCT and mode != MODE_CODE):
            continue
        tok = (tok ^ np.uint64(cp)) * _FNV_PRIME
        in_token = True
        if not joins:  # a single-character token: CJK, CHARS mode, or code punctuation
            ring[num_tokens % ngram] = splitmix64(tok)
            num_tokens += 1
            if num_tokens >= ngram:
                out[count] = _ngram_hash(ring, num_tokens, num_tokens, ngram, mults)
                count += 1
            tok = _FNV_OFFSET
            in_token = False
    if 0 < num_tokens < ngram:  # a short document is one shingle of all its tokens
        out[count] = _ngram_hash(ring, num_tokens, num_tokens, ngram, mults)
        count += 1
    return count, splitmix64(exact1), splitmix64(exact2 ^ np.uint64(end - start))


@nb.njit(cache=True)
def _batch_shingles(data, offsets, modes, ngrams, ascii_class, mults):
    num_docs = len(offsets) - 1
    out = np.empty(max(offsets[-1] - offsets[0], 0) + num_docs, dtype=np.uint64)
    starts = np.zeros(num_docs + 1, dtype=np.int64)
    exact = np.empty((num_docs, 2), dtype=np.uint64)
    for d in range(num_docs):
        mode = modes[d]
        count, e1, e2 = doc_shingles(data, offsets[d], offsets[d + 1], mode, ngrams[mode],
                                     out[starts[d]:], ascii_class, mults)
        starts[d + 1] = starts[d] + count
        exact[d, 0] = e1
        exact[d, 1] = e2
    return out[:starts[-1]].copy(), starts, exact


def utf8_buffers(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-copy (bytes uint8, offsets int64) of a string column, offsets relative to the bytes."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    if pa.types.is_string(texts.type):
        texts = texts.cast(pa.large_string())
    if texts.null_count:
        texts = pc.fill_null(texts, "")
    _, offsets_buf, data_buf = texts.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[texts.offset:texts.offset + len(texts) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return data, offsets


def ngram_sizes(words: int, chars: int, code: int) -> np.ndarray:
    """The n-gram size per mode (index = mode), validated."""
    sizes = np.array([words, chars, code, 0], dtype=np.int64)
    if not all(1 <= s <= MAX_NGRAM for s in sizes[:3]):
        raise ValueError(f"n-gram sizes must be 1..{MAX_NGRAM}, got words={words} chars={chars} code={code}")
    sizes[MODE_AUTO] = 0  # resolved per document to the WORDS or CHARS size
    return sizes


def batch_shingles(texts: pa.Array | pa.ChunkedArray, modes: np.ndarray, ngrams: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shingle hashes of a batch: (hashes uint64, per-doc start offsets int64 [n+1], exact uint64 [n,2])."""
    data, offsets = utf8_buffers(texts)
    resolved = _resolve_auto(data, offsets, np.asarray(modes, dtype=np.int8))
    return _batch_shingles(data, offsets, resolved, ngrams, _ASCII_CLASS, _NGRAM_MULTS)


@nb.njit(cache=True)
def _resolve_auto_kernel(data, offsets, modes, ascii_class):
    out = modes.copy()
    for d in range(len(modes)):
        if modes[d] == MODE_AUTO:
            out[d] = _sniff_mode(data, offsets[d], offsets[d + 1], ascii_class)
    return out


def _resolve_auto(data: np.ndarray, offsets: np.ndarray, modes: np.ndarray) -> np.ndarray:
    if not (modes == MODE_AUTO).any():
        return modes
    return _resolve_auto_kernel(data, offsets, modes, _ASCII_CLASS)


def shingle_modes(langs: pa.Array | pa.ChunkedArray, sources: pa.Array | pa.ChunkedArray,
                  char_langs: list[str], code_langs: list[str], code_sources: list[str]) -> np.ndarray:
    """Mode per document from its language label (and source, for code); AUTO when unlabelled."""
    langs = pc.utf8_lower(pc.fill_null(langs, ""))
    n = len(langs)
    modes = np.full(n, MODE_WORDS, dtype=np.int8)
    modes[np.asarray(pc.equal(langs, ""), dtype=bool)] = MODE_AUTO
    if char_langs:
        pattern = "^(" + "|".join(_escape(x.lower()) for x in char_langs) + ")([-_].*)?$"
        modes[np.asarray(pc.match_substring_regex(langs, pattern), dtype=bool)] = MODE_CHARS
    code = np.zeros(n, dtype=bool)
    if code_langs:
        code |= np.asarray(pc.is_in(langs, pa.array([x.lower() for x in code_langs])), dtype=bool)
    if code_sources:
        code |= np.asarray(pc.fill_null(pc.is_in(sources, pa.array(code_sources)), False), dtype=bool)
    modes[code] = MODE_CODE
    return modes


def _escape(text: str) -> str:
    return "".join("\\" + c if not c.isalnum() else c for c in text)
