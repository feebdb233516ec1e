"""Shingles hashed straight from the UTF-8 bytes of a whole batch: words, characters or code tokens.

One numba pass per document decodes UTF-8, normalizes each code point (ASCII/Latin/Greek/Cyrillic
lowercase, full-width forms folded to ASCII, all whitespace alike), splits it into tokens by the
document's mode, and hashes every n-gram of tokens. Token hashes are FNV-1a over code points; an
n-gram's hash is a rolling polynomial of its token hashes (O(1) per token) put through splitmix64,
so no shingle string is ever built. The same pass hashes the normalized text (whitespace runs collapsed)
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
_ROLL_BASE = np.uint64(0xFF51AFD7ED558CCD)  # odd, so the rolling polynomial loses no bits
MAX_NGRAM = 16
_AUTO_SNIFF_BYTES = 4096


# Fixed for good: every signature, band key and cluster id goes through it, and numba's on-disk
# caches of the kernels in other modules that inline it would not notice a change.
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
def _emit(t, ring, out, rolling, write, num_tokens, count, base, base_pow_n, width_salt):
    """Push token hash t: roll the n-gram hash, and write a shingle once n tokens are in."""
    ngram = len(ring)
    rolling = rolling * base + t - ring[write] * base_pow_n
    ring[write] = t
    write += 1
    if write == ngram:
        write = 0
    num_tokens += 1
    if num_tokens >= ngram:
        out[count] = splitmix64(rolling ^ width_salt)
        count += 1
    return rolling, write, num_tokens, count


@nb.njit(cache=True)
def doc_shingles(data, start, end, mode, ngram, out, ascii_class):
    """Write the document's shingle hashes to `out`; return (count, exact_hash_1, exact_hash_2).

    An n-gram's hash is splitmix64 of the rolling polynomial sum(t_j * base^(n-1-j)) mod 2^64 over
    its token hashes t_j, updated in O(1) per token: H = H * base + t_new - t_old * base^n.
    """
    if mode == MODE_AUTO:
        mode = _sniff_mode(data, start, end, ascii_class)
    ring = np.zeros(ngram, dtype=np.uint64)
    base = _ROLL_BASE
    base_pow_n = np.uint64(1)
    for _ in range(ngram):
        base_pow_n *= base
    width_salt = np.uint64(ngram) * _EXACT_MULT
    write = 0
    rolling = np.uint64(0)
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
        # Tokens: a run continues only over WORD characters, and not in CHARS mode; a CJK character,
        # any character in CHARS mode, and punctuation in CODE mode are tokens of their own.
        if cls == _WORD and mode != MODE_CHARS:
            tok = (tok ^ np.uint64(cp)) * _FNV_PRIME
            in_token = True
            continue
        if in_token:
            rolling, write, num_tokens, count = _emit(splitmix64(tok), ring, out, rolling, write, num_tokens,
                                                      count, base, base_pow_n, width_salt)
            tok = _FNV_OFFSET
            in_token = False
        if cls != _WS and (cls != _PUNCT or mode == MODE_CODE):
            single = splitmix64((_FNV_OFFSET ^ np.uint64(cp)) * _FNV_PRIME)
            rolling, write, num_tokens, count = _emit(single, ring, out, rolling, write, num_tokens,
                                                      count, base, base_pow_n, width_salt)
    if 0 < num_tokens < ngram:  # a short document is one shingle of all its tokens
        out[count] = splitmix64(rolling ^ (np.uint64(num_tokens) * _EXACT_MULT))
        count += 1
    return count, splitmix64(exact1), splitmix64(exact2)


@nb.njit(cache=True)
def _batch_shingles(data, offsets, modes, ngrams, ascii_class):
    num_docs = len(offsets) - 1
    out = np.empty(max(offsets[-1] - offsets[0], 0) + num_docs, dtype=np.uint64)
    starts = np.zeros(num_docs + 1, dtype=np.int64)
    exact = np.empty((num_docs, 2), dtype=np.uint64)
    for d in range(num_docs):
        mode = modes[d]
        count, e1, e2 = doc_shingles(data, offsets[d], offsets[d + 1], mode, ngrams[mode],
                                     out[starts[d]:], ascii_class)
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
    """All shingle hashes of a small batch: (hashes uint64, doc start offsets int64 [n+1], exact [n,2])."""
    data, offsets = utf8_buffers(texts)
    resolved = resolve_modes(data, offsets, modes)
    return _batch_shingles(data, offsets, resolved, ngrams, _ASCII_CLASS)


@nb.njit(cache=True)
def _resolve_auto_kernel(data, offsets, modes, ascii_class):
    out = modes.copy()
    for d in range(len(modes)):
        if modes[d] == MODE_AUTO:
            out[d] = _sniff_mode(data, offsets[d], offsets[d + 1], ascii_class)
    return out


def resolve_modes(data: np.ndarray, offsets: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """Modes with AUTO replaced per document by WORDS or CHARS (sniffed from its first 4 KB)."""
    modes = np.asarray(modes, dtype=np.int8)
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
