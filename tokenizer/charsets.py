"""The characters a preset guarantees as single vocabulary pieces, built from Unicode data in code.

MiniCPM's tokenizers (Appendix C of arXiv 2404.06395) add characters the training text may lack:
the 120K one traditional Chinese, rare Chinese, emoji and special symbols (Greek, Cyrillic, ...),
the 70K one the same less the rare Chinese characters. Each set here is derived from data that
ships with Python, so the lists are reproducible and need no download:

- common_chinese: the 6,763 hanzi of GB 2312 (the `gb2312` codec), the everyday simplified set.
- traditional_chinese: the 5,401 hanzi of Big5 level 1 (常用字, Big5 codes A440-C67E, the `big5`
  codec), the frequently used traditional set. It covers 96.9% of the hanzi occurrences in the
  traditional-script Tang poems of zh_bulk/chinese_poetry.jsonl (all of Big5: 98.5%); the tests
  check this on that real text.
- rare_chinese: every assigned ideograph of the CJK Unified Ideographs block U+4E00-U+9FFF (20,992
  in Unicode 14), so no BMP hanzi ever falls back to bytes. Extensions A-H stay on byte fallback.
- emoji: So code points of U+2600-U+27BF and U+1F000-U+1FAFF, plus the emoji components (ZWJ,
  VS16, keycap, skin tones). Multi-codepoint emoji (flags, ZWJ sequences) are pairs of these.
- greek, cyrillic: the letters of the Greek (U+0370-U+03FF) and Cyrillic (U+0400-U+04FF) blocks.
- symbols: punctuation, symbols and non-decimal numbers of the Latin-1, general punctuation,
  super/subscript, currency, letterlike, number forms, arrows, math, technical, enclosed,
  box/block/geometric, dingbat, CJK punctuation and full-width blocks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Inclusive code point ranges of the blocks named in the module docstring.
URO_RANGE = (0x4E00, 0x9FFF)
BIG5_LEVEL1_CODES = (0xA440, 0xC67E)
EMOJI_RANGES = ((0x2600, 0x27BF), (0x1F000, 0x1FAFF))
EMOJI_COMPONENTS = (0x200D, 0x20E3, 0xFE0F, 0x1F3FB, 0x1F3FC, 0x1F3FD, 0x1F3FE, 0x1F3FF)
# sentencepiece's whitespace marker and unknown-piece surface may not be required characters
SENTENCEPIECE_RESERVED = frozenset("\u2581\u2585")
GREEK_RANGE = (0x0370, 0x03FF)
CYRILLIC_RANGE = (0x0400, 0x04FF)
SYMBOL_RANGES = (
    (0x00A1, 0x00BF), (0x00D7, 0x00D7), (0x00F7, 0x00F7), (0x2010, 0x205E), (0x2070, 0x209C),
    (0x20A0, 0x20C0), (0x2100, 0x218B), (0x2190, 0x23FF), (0x2460, 0x27BF), (0x2900, 0x2BFF),
    (0x3000, 0x303F), (0xFF01, 0xFF65),
)


@dataclass
class GuaranteedChars:
    """Which character sets must be single pieces in the vocabulary (a preset's `guarantee:`)."""

    common_chinese: bool = True
    traditional_chinese: bool = True
    rare_chinese: bool = False
    emoji: bool = True
    greek: bool = True
    cyrillic: bool = True
    symbols: bool = True


def _assigned(code_points: Iterable[int], categories: str | None = None) -> list[str]:
    """Characters of `code_points` that Unicode assigns, optionally only general categories
    starting with one of the letters in `categories`."""
    chars = []
    for cp in code_points:
        ch = chr(cp)
        category = unicodedata.category(ch)
        if category in ("Cn", "Cs", "Co"):
            continue
        if categories is None or category[0] in categories:
            chars.append(ch)
    return chars


def _encodable_hanzi(codec: str) -> list[str]:
    chars = []
    for ch in rare_chinese():
        try:
            ch.encode(codec)
        except UnicodeEncodeError:
            continue
        chars.append(ch)
    return chars


def rare_chinese() -> list[str]:
    """Every assigned ideograph of U+4E00-U+9FFF."""
    return _assigned(range(URO_RANGE[0], URO_RANGE[1] + 1), "L")


def common_chinese() -> list[str]:
    """The hanzi of GB 2312 (simplified)."""
    return _encodable_hanzi("gb2312")


def traditional_chinese() -> list[str]:
    """The hanzi of Big5 level 1 (frequently used traditional characters)."""
    low, high = BIG5_LEVEL1_CODES
    return [ch for ch in _encodable_hanzi("big5")
            if low <= int.from_bytes(ch.encode("big5"), "big") <= high]


def emoji() -> list[str]:
    """Single-code-point emoji and the components that join them into sequences."""
    chars = [ch for low, high in EMOJI_RANGES for ch in _assigned(range(low, high + 1), "S")]
    return sorted(set(chars) | {chr(cp) for cp in EMOJI_COMPONENTS})


def greek() -> list[str]:
    """Greek letters."""
    return _assigned(range(GREEK_RANGE[0], GREEK_RANGE[1] + 1), "L")


def cyrillic() -> list[str]:
    """Cyrillic letters."""
    return _assigned(range(CYRILLIC_RANGE[0], CYRILLIC_RANGE[1] + 1), "L")


def symbols() -> list[str]:
    """Punctuation, symbols and non-decimal numbers of the symbol blocks."""
    chars = [ch for low, high in SYMBOL_RANGES for ch in _assigned(range(low, high + 1), "PSN")]
    return [ch for ch in chars if unicodedata.category(ch) != "Nd"]


def guaranteed_sets(guarantee: GuaranteedChars) -> dict[str, list[str]]:
    """The enabled sets by name (a character may sit in more than one)."""
    builders = {"common_chinese": common_chinese, "traditional_chinese": traditional_chinese,
                "rare_chinese": rare_chinese, "emoji": emoji, "greek": greek, "cyrillic": cyrillic,
                "symbols": symbols}
    return {name: build() for name, build in builders.items() if getattr(guarantee, name)}


def guaranteed_characters(guarantee: GuaranteedChars) -> list[str]:
    """The union of the enabled sets, sorted by code point, less the characters sentencepiece
    reserves (whitespace, its `▁` space marker and its `▅` unknown marker)."""
    chars = {ch for chars in guaranteed_sets(guarantee).values() for ch in chars}
    return sorted(ch for ch in chars if not ch.isspace() and ch not in SENTENCEPIECE_RESERVED)
