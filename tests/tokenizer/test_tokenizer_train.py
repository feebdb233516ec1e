"""Training on real text: the model loads in plain sentencepiece, round-trips, guarantees its characters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm

from tokenizer.charsets import cyrillic, emoji, greek, guaranteed_characters, traditional_chinese
from tokenizer.evalsets import load_eval_set
from tokenizer.special_tokens import SPECIAL_TOKENS
from tokenizer.train import train_tokenizer


@pytest.fixture(scope="module")
def sp(trained):
    out_dir, _ = trained
    return spm.SentencePieceProcessor(model_file=str(out_dir / "tokenizer.model"))


def test_outputs_and_exact_vocabulary_size(trained, tiny_config, sp):
    out_dir, manifest = trained
    for name in ("tokenizer.model", "tokenizer.vocab", "tokenizer.json", "tokenizer_config.json",
                 "train_report.json", "config.json", "manifest.json"):
        assert (out_dir / name).is_file(), name
    assert sp.get_piece_size() == tiny_config.vocab_size
    vocab_lines = (out_dir / "tokenizer.vocab").read_text(encoding="utf-8").split("\n")[:-1]
    assert len(vocab_lines) == tiny_config.vocab_size
    assert vocab_lines[0] == "<unk>\t0" and "\\n\t" in "\n".join(vocab_lines)  # the newline piece, escaped
    resolved = json.loads((out_dir / "config.json").read_text())
    assert resolved["config"]["vocab_size"] == tiny_config.vocab_size
    assert set(resolved["inputs"]) == {"zh", "en", "code", "paper"}


def test_special_and_byte_piece_ids(sp):
    assert [sp.id_to_piece(i) for i in range(len(SPECIAL_TOKENS))] == list(SPECIAL_TOKENS)
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) == (0, 1, 2, 3)
    first_byte = len(SPECIAL_TOKENS)
    assert [sp.id_to_piece(first_byte + b) for b in (0, 10, 255)] == ["<0x00>", "<0x0A>", "<0xFF>"]
    assert all(sp.is_byte(first_byte + b) for b in range(256))


ROUND_TRIP_CASES = [
    "人社部长：医保最高支付额今年提到人均收入6倍。",
    "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",
    "It was the best of times, it was the worst of times.",
    "def f(x):\n    if x:\n\treturn  x * 2   # two spaces\n\n\n        pass\n",
    "  leading and trailing spaces  ",
    "emoji 😀👍🏽 👨‍👩‍👧 🇨🇳 and rare 𠀀 Extension B, NFKC-sensitive ＶＩＰ ｆｕｌｌ-width ①",
    "Ελληνικά και русский текст",
]


@pytest.mark.parametrize("text", ROUND_TRIP_CASES)
def test_round_trip_exact(sp, text):
    assert sp.decode(sp.encode(text)) == text


def test_round_trip_on_held_out_real_documents(sp, corpora):
    for rel in ("zh_web/thucnews/thucnews.jsonl", "code/stack_shaped.jsonl", "en_books/gutenberg.jsonl"):
        texts = load_eval_set("x", corpora / rel, 100, 300_000).texts
        assert texts
        assert all(sp.decode(ids) == t for ids, t in zip(sp.encode(texts), texts)), rel


def test_indentation_gets_whitespace_pieces(sp):
    pieces = sp.encode("        return value\n", out_type=str)
    assert pieces[0].strip("\u2581") == "" and len(pieces[0]) >= 4  # a run of spaces is one piece


def test_digits_are_split(sp):
    assert sp.encode("2024", out_type=str) == ["2", "0", "2", "4"]


def test_guaranteed_characters_are_single_pieces(sp, tiny_config):
    chars = guaranteed_characters(tiny_config.guarantee)
    assert len(chars) > 10_000
    ids = sp.encode(chars)
    not_single = [ch for ch, piece_ids in zip(chars, ids) if len(piece_ids) != 1 or sp.is_byte(piece_ids[0])]
    assert not_single == []
    # the sets the 70k preset names are all in, whether or not the sample held them
    for chars in (traditional_chinese(), emoji(), greek(), cyrillic()):
        assert all(sp.piece_to_id(ch) != sp.unk_id() for ch in chars)


def test_rare_characters_absent_without_the_guarantee(sp):
    # 70k leaves out rare hanzi: 齉 (U+9F49) is in no guaranteed set and not in the sample
    assert sp.piece_to_id("齉") == sp.unk_id()
    assert all(sp.is_byte(i) for i in sp.encode("齉"))


def test_hf_export_encodes_like_sentencepiece(trained, sp, corpora):
    from tokenizers import Tokenizer

    out_dir, _ = trained
    hf = Tokenizer.from_file(str(out_dir / "tokenizer.json"))
    texts = [t[:4000] for rel in ("zh_web/thucnews/thucnews.jsonl", "code/stack_shaped.jsonl",
                                  "paper/unarxive/unarxive-2212-fulltext.jsonl")
             for t in load_eval_set("x", corpora / rel, 100, 200_000).texts] + ROUND_TRIP_CASES
    theirs = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    ours = sp.encode(texts)
    equal = sum(a == b for a, b in zip(ours, theirs))
    assert equal / len(texts) >= 0.95
    assert all(hf.decode(ids) == t for ids, t in zip(theirs, texts))
    report = json.loads((out_dir / "train_report.json").read_text())
    assert report["hf_agreement"]["num_texts"] > 100
    assert report["hf_agreement"]["share_equal"] >= 0.95


def test_train_report_vocabulary_by_script(trained, tiny_config):
    out_dir, manifest = trained
    report = json.loads((out_dir / "train_report.json").read_text())
    pieces = report["vocabulary"]["pieces"]
    assert sum(pieces.values()) == tiny_config.vocab_size
    assert pieces["byte"] == 256 and pieces["special"] == len(SPECIAL_TOKENS)
    assert pieces["digits"] == 10  # split_digits: single digits only
    assert pieces["cjk"] > 8_000 and pieces["latin"] > 300 and pieces["code_symbols"] > 20
    assert pieces["whitespace"] >= 3
    assert report["guaranteed"]["traditional_chinese"]["num_missing"] == 0
    assert report["round_trip_share"] == 1.0
    assert report["peak_rss_mb"] > 0 and report["seconds"]["train"] > 0
    shares = {d: s["share"] for d, s in report["sample"]["domains"].items()}
    assert abs(sum(shares.values()) - 1) < 1e-3
    assert manifest["num_out"] == tiny_config.vocab_size
    assert set(manifest["counts"]) == {"zh", "en", "code", "paper"}


def test_training_is_deterministic(trained, tiny_config, domain_dirs, tmp_path):
    from tokenizer.sampling import DomainInput

    out_dir, manifest = trained
    again = train_tokenizer(tiny_config, [DomainInput(n, [p]) for n, p in domain_dirs.items()], tmp_path)
    assert again["sha256"] == manifest["sha256"]
    assert (tmp_path / "tokenizer.model").read_bytes() == (out_dir / "tokenizer.model").read_bytes()


def test_too_small_vocabulary_is_a_clear_error(tiny_config, domain_dirs, tmp_path):
    from dataclasses import replace

    from tokenizer.sampling import DomainInput

    small = replace(tiny_config, vocab_size=5_000)
    with pytest.raises(ValueError, match="vocab_size 5000 leaves no room"):
        train_tokenizer(small, [DomainInput("zh", [domain_dirs["zh"]])], tmp_path)


def _tang_poems(corpora: Path, limit: int) -> list[str]:
    poems = []
    with open(corpora / "zh_bulk/chinese_poetry.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if "poet.tang" in row["id"]:
                poems.append(row["text"])
                if len(poems) == limit:
                    break
    return poems


def test_guarantees_cut_byte_fallback_on_real_traditional_poems(sp, tiny_config, domain_dirs, corpora, tmp_path):
    from dataclasses import replace

    from tokenizer.sampling import DomainInput

    poems = _tang_poems(corpora, 100)  # traditional script, not in the sample
    assert len(poems) == 100 and "舊" in "".join(poems)
    no_hanzi = replace(tiny_config, guarantee=replace(tiny_config.guarantee, common_chinese=False,
                                                      traditional_chinese=False))
    train_tokenizer(no_hanzi, [DomainInput(n, [p]) for n, p in domain_dirs.items()], tmp_path)
    without = spm.SentencePieceProcessor(model_file=str(tmp_path / "tokenizer.model"))

    def byte_share(model):
        ids = [int(i) for piece_ids in model.encode(poems) for i in piece_ids]
        return np.mean([model.is_byte(i) for i in ids])

    # hanzi outside Big5 level 1 and GB 2312 still fall back (about 1.7% of the characters here)
    assert byte_share(sp) < 0.06
    assert byte_share(sp) < 0.5 * byte_share(without)
