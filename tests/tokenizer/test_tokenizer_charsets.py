"""The guaranteed character sets, checked against Unicode facts and real traditional-script text."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter

from tokenizer.charsets import (
    GuaranteedChars,
    common_chinese,
    cyrillic,
    emoji,
    greek,
    guaranteed_characters,
    rare_chinese,
    symbols,
    traditional_chinese,
)


def test_sizes_and_members():
    assert len(rare_chinese()) == 20_992  # U+4E00-U+9FFF, all assigned in Unicode 14
    assert len(common_chinese()) == 6_763  # GB 2312
    assert len(traditional_chinese()) == 5_401  # Big5 level 1
    assert "這" in traditional_chinese() and "这" not in traditional_chinese()
    assert "这" in common_chinese() and "這" not in common_chinese()
    assert {"😀", "👍", "\u200d", "\ufe0f", "\U0001f3fd"} <= set(emoji())
    assert {"α", "Ω"} <= set(greek()) and {"Ж", "я"} <= set(cyrillic())
    assert {"→", "∑", "€", "①", "。", "，", "×"} <= set(symbols())
    assert not set("0123456789abc") & set(symbols())


def test_every_set_is_assigned_and_not_whitespace():
    chars = guaranteed_characters(GuaranteedChars(rare_chinese=True))
    assert len(chars) == len(set(chars))
    assert all(unicodedata.category(ch) not in ("Cn", "Cs", "Co") and not ch.isspace() for ch in chars)
    assert "\u2581" not in chars and "\u2585" not in chars  # reserved by sentencepiece


def test_traditional_set_matches_real_traditional_text(corpora):
    """Tang poems in the sample are in traditional script: Big5 level 1 covers them, GB 2312 does not."""
    counts: Counter[str] = Counter()
    with open(corpora / "zh_bulk/chinese_poetry.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if "poet.tang" in row["id"]:
                counts.update(ch for ch in row["text"] if "\u4e00" <= ch <= "\u9fff")
    total = sum(counts.values())
    assert total > 100_000

    def coverage(chars):
        chars = set(chars)
        return sum(n for ch, n in counts.items() if ch in chars) / total

    assert coverage(traditional_chinese()) > 0.95
    assert coverage(common_chinese()) < 0.75
    assert coverage(rare_chinese()) == 1.0
