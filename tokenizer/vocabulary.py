"""The vocabulary by script: how many pieces are CJK, Latin, digits, code symbols, bytes, ...

Each piece falls in one class, decided on its text with `▁` read as a space:

- special: unknown and control pieces; byte: the byte-fallback pieces `<0x00>`..`<0xFF>`
- whitespace: spaces, tabs and newlines only (indentation pieces)
- digits: ASCII digits (with split_digits these are the ten single digits)
- cjk: holds a Han ideograph, kana, hangul or CJK/full-width punctuation
- latin: letters of the Latin script (ASCII or accented), with optional whitespace
- code_symbols: ASCII punctuation and operators, with optional whitespace (`){`, `->`, `::`)
- greek, cyrillic, emoji: letters of those scripts or pictographs
- other: anything else (mixed scripts, letters mixed with symbols, other scripts)
"""

from __future__ import annotations

import string
import unicodedata
from collections import Counter
from collections.abc import Iterable

from tokenizer.charsets import CYRILLIC_RANGE, EMOJI_RANGES, GREEK_RANGE
from tokenizer.huggingface import BYTE, CONTROL, UNKNOWN, Vocabulary

CLASSES = ("special", "byte", "whitespace", "digits", "cjk", "latin", "code_symbols", "greek",
           "cyrillic", "emoji", "other")
_CODE_SYMBOLS = frozenset(string.punctuation)
_WHITESPACE = frozenset(" \t\n\r\x0b\x0c")
_CJK_RANGES = ((0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF),
               (0xFF00, 0xFFEF), (0x20000, 0x3FFFF))


def _in(ch: str, ranges: Iterable[tuple[int, int]]) -> bool:
    cp = ord(ch)
    return any(low <= cp <= high for low, high in ranges)


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha() or (ch.isalpha() and "LATIN" in unicodedata.name(ch, ""))


def piece_class(piece: str) -> str:
    """The script class of a normal piece's text (see the module docstring)."""
    text = piece.replace("\u2581", " ")
    core = [ch for ch in text if ch not in _WHITESPACE]
    if not core:
        return "whitespace"
    if all(ch in "0123456789" for ch in core):
        return "digits"
    if any(_in(ch, _CJK_RANGES) for ch in core):
        return "cjk"
    if all(_latin(ch) for ch in core):
        return "latin"
    if all(ch in _CODE_SYMBOLS for ch in core):
        return "code_symbols"
    if all(_in(ch, (GREEK_RANGE,)) for ch in core):
        return "greek"
    if all(_in(ch, (CYRILLIC_RANGE,)) for ch in core):
        return "cyrillic"
    if all(_in(ch, EMOJI_RANGES) or unicodedata.category(ch) in ("Mn", "Cf", "Sk") for ch in core):
        return "emoji"
    return "other"


def vocabulary_by_script(vocab: Vocabulary) -> dict:
    """Pieces per class, single-character pieces per class, and the learned (multi-character) count."""
    pieces: Counter[str] = Counter()
    single_chars: Counter[str] = Counter()
    learned = 0
    for piece, kind in zip(vocab.pieces, vocab.kinds):
        if kind == BYTE:
            pieces["byte"] += 1
            continue
        if kind in (UNKNOWN, CONTROL):
            pieces["special"] += 1
            continue
        cls = piece_class(piece)
        pieces[cls] += 1
        if len(piece) == 1:
            single_chars[cls] += 1
        else:
            learned += 1
    return {"pieces": {c: pieces.get(c, 0) for c in CLASSES},
            "single_characters": {c: single_chars.get(c, 0) for c in CLASSES},
            "num_single_characters": sum(single_chars.values()), "num_learned_pieces": learned,
            "vocab_size": len(vocab.pieces)}
