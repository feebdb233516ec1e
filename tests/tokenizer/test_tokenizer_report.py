"""Report numbers: bytes/token and byte-fallback share match direct computation on real text."""

from __future__ import annotations

import json
import math

import pytest
import sentencepiece as spm

from tokenizer.evalsets import EvalSet, load_eval_set
from tokenizer.reference import detect_kind, load_reference
from tokenizer.report import bits_per_byte, build_report, markdown, measure, write_report

TOKENIZERS = "tokenizers"


@pytest.fixture(scope="module")
def llama2(corpora):
    return load_reference(corpora / TOKENIZERS / "llama2_tokenizer.model", num_threads=1)


@pytest.fixture(scope="module")
def cl100k(corpora):
    return load_reference(corpora / TOKENIZERS / "cl100k_base.tiktoken", num_threads=1)


@pytest.fixture(scope="module")
def chinese(corpora):
    return load_eval_set("Chinese", corpora / "zh_web/thucnews/thucnews.jsonl", 100, 2_000_000)


@pytest.fixture(scope="module")
def paper(corpora):
    return load_eval_set("Paper", corpora / "paper/unarxive/unarxive-2212-fulltext.jsonl", 100, 2_000_000)


def _direct(corpora, eval_set):
    sp = spm.SentencePieceProcessor(model_file=str(corpora / TOKENIZERS / "llama2_tokenizer.model"))
    ids = sp.encode(eval_set.texts)
    num_bytes = sum(len(t.encode("utf-8")) for t in eval_set.texts)
    num_tokens = sum(len(i) for i in ids)
    num_bytes_pieces = sum(sp.is_byte(x) for i in ids for x in i)
    return num_bytes, num_tokens, num_bytes_pieces


def test_llama2_on_held_out_chinese_matches_direct_computation(llama2, chinese, corpora):
    assert len(chinese.texts) > 50  # ~10% of 690 news articles
    result = measure(llama2, chinese)
    num_bytes, num_tokens, num_byte_pieces = _direct(corpora, chinese)
    assert (result["num_bytes"], result["num_tokens"]) == (num_bytes, num_tokens)
    assert result["bytes_per_token"] == pytest.approx(num_bytes / num_tokens)
    assert 1.6 < result["bytes_per_token"] < 2.3  # the paper: 1.87
    assert result["num_byte_fallback_tokens"] == num_byte_pieces
    assert 0.3 < result["byte_fallback_share"] < 0.7  # Llama-2 lacks most hanzi: 3 byte pieces each
    assert result["tokens_per_second"] > 0


def test_llama2_on_held_out_english_and_paper(llama2, paper, corpora):
    english = load_eval_set("English", corpora / "en_books/gutenberg.jsonl", 100, 1_500_000)
    assert 3.3 < measure(llama2, english)["bytes_per_token"] < 4.2  # the paper: 3.78
    assert 2.4 < measure(llama2, paper)["bytes_per_token"] < 3.3  # the paper: 2.97


def test_byte_fallback_share_counts_fragments(llama2, cl100k, corpora):
    newline = EvalSet("t", "-", "all", texts=["a\nb"], num_bytes=3)
    result = measure(llama2, newline)  # ▁a <0x0A> b
    assert (result["num_tokens"], result["num_byte_fallback_tokens"]) == (3, 1)
    assert result["byte_fallback_share"] == pytest.approx(1 / 3)
    rare = EvalSet("t", "-", "all", texts=["\U00020000\U00020001"], num_bytes=8)  # CJK Extension B
    assert measure(cl100k, rare)["byte_fallback_share"] == 1.0  # byte-level BPE: UTF-8 fragments
    assert measure(cl100k, EvalSet("t", "-", "all", texts=["hello world"], num_bytes=11))[
        "byte_fallback_share"] == 0.0
    gpt2 = load_reference(corpora / TOKENIZERS / "gpt2_tokenizer.json", num_threads=1)
    assert measure(gpt2, rare)["byte_fallback_share"] == 1.0
    assert measure(gpt2, EvalSet("t", "-", "all", texts=["hello world"], num_bytes=11))["byte_fallback_share"] == 0


@pytest.mark.parametrize("name, kind", [
    ("llama2_tokenizer.model", "sentencepiece"),
    ("mistral_mistral_instruct_tokenizer_240323.model.v3", "sentencepiece"),
    ("gpt2_tokenizer.json", "huggingface"), ("mistral7b_v0.3_tokenizer.json", "huggingface"),
    ("cl100k_base.tiktoken", "tiktoken"), ("llama3_tokenizer.model.tiktoken", "tiktoken"),
    ("baichuan7b-vocab.gguf", "gguf"),
])
def test_kinds_are_read_from_content(corpora, name, kind):
    assert detect_kind(corpora / TOKENIZERS / name) == kind


def test_gguf_vocabulary_loads_and_compresses_chinese(corpora, chinese):
    baichuan = load_reference(corpora / TOKENIZERS / "baichuan7b-vocab.gguf", num_threads=1)
    assert baichuan.vocab_size == 64_000 and baichuan.partial_mask.sum() == 256
    assert measure(baichuan, chinese)["bytes_per_token"] > 2.5  # a Chinese vocabulary, unlike Llama-2


def test_report_files_and_ratios(llama2, cl100k, chinese, paper, tmp_path):
    report = build_report([cl100k, llama2], [chinese, paper], reference="llama2_tokenizer",
                          model_nll={"toy": lambda texts: math.log(2) * sum(len(t.encode()) for t in texts)})
    files = write_report(report, tmp_path)
    assert files == ["report.json", "report.md", "bytes_per_token.png"]
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["tokenizer_order"] == ["cl100k_base", "llama2_tokenizer"]  # JSON keys are sorted; order is kept
    assert markdown(saved) == (tmp_path / "report.md").read_text()
    assert saved["ratio_to_reference"]["llama2_tokenizer"]["Chinese"] == 1.0
    cl = saved["results"]["cl100k_base"]
    assert saved["ratio_to_reference"]["cl100k_base"]["Paper"] == pytest.approx(
        cl["Paper"]["bytes_per_token"] / saved["results"]["llama2_tokenizer"]["Paper"]["bytes_per_token"])
    assert saved["average_bytes_per_token"]["cl100k_base"] == pytest.approx(
        (cl["Chinese"]["bytes_per_token"] + cl["Paper"]["bytes_per_token"]) / 2)
    assert saved["models"]["toy"]["Chinese"]["bits_per_byte"] == pytest.approx(1.0)
    table = (tmp_path / "report.md").read_text()
    assert "| Vocab Size | 100,256 | 32,000 |" in table
    assert "| Chinese |" in table and "| Average |" in table
    assert (tmp_path / "bytes_per_token.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bits_per_byte():
    assert bits_per_byte(math.log(2) * 100, 100) == pytest.approx(1.0)
    assert bits_per_byte(2.0 * 50, 400) == pytest.approx(100 / (math.log(2) * 400))
    with pytest.raises(ValueError):
        bits_per_byte(1.0, 0)


def test_duplicate_names_and_unknown_reference(llama2, chinese):
    with pytest.raises(ValueError, match="unique"):
        build_report([llama2, llama2], [chinese])
    with pytest.raises(ValueError, match="reference tokenizer 'gpt9'"):
        build_report([llama2], [chinese], reference="gpt9")
