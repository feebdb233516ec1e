"""Tokenizer training and encoding: sentencepiece (ours) vs Hugging Face `tokenizers` and tiktoken.

Training: the same mixed sample of real zh/en/code/paper sentences, the same vocabulary size,
sentencepiece BPE (our settings: byte fallback, split digits, identity normalisation) vs
`tokenizers` BpeTrainer (Metaspace words, single digits), each in its own process so peak memory
is its own. Encoding: held-out documents of the four default eval sets, whole, in one batch, with
every core: our trained model in sentencepiece vs the same model exported to tokenizer.json and
run by `tokenizers`, and vs tiktoken's cl100k (a different vocabulary: the fast library a user
would otherwise pick). MB/s of UTF-8 input.

    python -m benchmarks tokenizer [--sample-mb 16] [--vocab-size 32000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from benchmarks.harness import SHARED, Comparison, best_seconds, throughput
from tokenizer.evalsets import DEFAULT_EVAL_SETS, load_eval_set, read_jsonl_texts
from tokenizer.sampling import split_sentences
from tokenizer.special_tokens import CONTROL_SYMBOLS, SPECIAL_TOKENS

# domain -> (file, share of the training sample)
TRAIN_FILES = {
    "zh": (("zh_web/reviews/online_shopping_10_cats.jsonl", 0.15), ("zh_bulk/chinese_poetry.jsonl", 0.15),
           ("zh_bulk/manpages_zh.jsonl", 0.1)),
    "en": (("en_books/gutenberg.jsonl", 0.15), ("en_docs/linux_doc_rst.jsonl", 0.15)),
    "code": (("code/stack_shaped.jsonl", 0.2),),
    "paper": (("paper/unarxive/unarxive-2212-fulltext.jsonl", 0.05), ("paper/csl_zh/csl_abstracts.jsonl", 0.05)),
}
MAX_SENTENCE_BYTES = 16384


def training_sentences(sample_bytes: int) -> list[str]:
    """Sentences of the training files, each file giving its share of `sample_bytes`, in file order."""
    sentences = []
    for files in TRAIN_FILES.values():
        for rel, share in files:
            budget = share * sample_bytes
            for text in read_jsonl_texts(SHARED / rel):
                for sentence in split_sentences(text, MAX_SENTENCE_BYTES):
                    sentences.append(sentence)
                    budget -= len(sentence.encode("utf-8"))
                if budget <= 0:
                    break
    return sentences


def _train_child(trainer: str, sentences_path: str, vocab_size: int, threads: int, out_dir: str) -> None:
    """Run in a fresh process: train, save, print {seconds, peak_rss_mb} as JSON."""
    import resource

    with pa.memory_map(sentences_path) as source:
        sentences = pa.ipc.open_file(source).read_all().column("text").to_pylist()
    started = time.perf_counter()
    if trainer == "sentencepiece":
        import sentencepiece as spm

        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences), model_prefix=str(Path(out_dir) / "spm"), model_type="bpe",
            vocab_size=vocab_size, byte_fallback=True, split_digits=True, normalization_rule_name="identity",
            remove_extra_whitespaces=False, add_dummy_prefix=False, allow_whitespace_only_pieces=True,
            max_sentence_length=MAX_SENTENCE_BYTES, character_coverage=0.9995, num_threads=threads,
            unk_id=0, bos_id=1, eos_id=2, pad_id=3, control_symbols=list(CONTROL_SYMBOLS), minloglevel=2)
    else:
        from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
        tok.normalizer = normalizers.Replace(" ", "\u2581")
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=True),
            pre_tokenizers.Digits(individual_digits=True)])
        specials = list(SPECIAL_TOKENS) + [f"<0x{b:02X}>" for b in range(256)]
        trainer_obj = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                          max_token_length=16)
        tok.train_from_iterator(sentences, trainer=trainer_obj, length=len(sentences))
        tok.save(str(Path(out_dir) / "hf_bpe.json"))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def _train_in_child(trainer: str, sentences_path: Path, vocab_size: int, threads: int, out_dir: Path) -> dict:
    code = ("import sys; from benchmarks.bench_tokenizer import _train_child; "
            f"_train_child({trainer!r}, {str(sentences_path)!r}, {vocab_size}, {threads}, {str(out_dir)!r})")
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(argv: list[str]) -> list[Comparison]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks tokenizer")
    parser.add_argument("--sample-mb", type=float, default=16.0, help="training text, MB")
    parser.add_argument("--vocab-size", type=int, default=32_000)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args(argv)
    comparisons = []
    with tempfile.TemporaryDirectory(prefix="bench_tokenizer_") as tmp:
        tmp = Path(tmp)
        sentences = training_sentences(int(args.sample_mb * 1e6))
        sample_mb = sum(len(s.encode("utf-8")) for s in sentences) / 1e6
        with pa.OSFile(str(tmp / "sentences.arrow"), "wb") as sink:
            table = pa.table({"text": pa.array(sentences, pa.large_string())})
            with pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        del sentences, table
        ours = _train_in_child("sentencepiece", tmp / "sentences.arrow", args.vocab_size, args.threads, tmp)
        theirs = _train_in_child("tokenizers", tmp / "sentences.arrow", args.vocab_size, args.threads, tmp)
        note = f"{sample_mb:.1f} MB, vocab {args.vocab_size:,}, {args.threads} threads"
        comparisons.append(Comparison("BPE training time", "s", ours["seconds"], theirs["seconds"],
                                      "tokenizers BpeTrainer", higher_is_better=False, note=note))
        comparisons.append(Comparison("BPE training peak memory", "MB", ours["peak_rss_mb"], theirs["peak_rss_mb"],
                                      "tokenizers BpeTrainer", higher_is_better=False, note=note + ", whole process"))
        comparisons += _encode_comparisons(tmp, args.threads)
    return comparisons


def _encode_comparisons(tmp: Path, threads: int) -> list[Comparison]:
    from tokenizers import Tokenizer

    from tokenizer.encoding import load_tokenizer
    from tokenizer.huggingface import build_hf_tokenizer, sentencepiece_vocabulary
    from tokenizer.reference import load_reference

    texts = [t for name, rel in DEFAULT_EVAL_SETS for t in load_eval_set(name, SHARED / rel, 100, 4_000_000).texts]
    num_bytes = sum(len(t.encode("utf-8")) for t in texts)
    ours = load_tokenizer(tmp / "spm.model", num_threads=threads)
    build_hf_tokenizer(sentencepiece_vocabulary(ours.sp)).save(str(tmp / "exported.json"))
    exported = Tokenizer.from_file(str(tmp / "exported.json"))
    hf_trained = Tokenizer.from_file(str(tmp / "hf_bpe.json"))
    cl100k = load_reference(SHARED / "tokenizers" / "cl100k_base.tiktoken", num_threads=threads)
    note = f"{num_bytes / 1e6:.1f} MB held-out zh/en/code/paper documents, whole, {threads} threads"

    def encode_ours():
        return ours.encode_batch(texts)

    ours_tokens = sum(len(i) for i in encode_ours())
    hf_tokens = sum(len(e.ids) for e in hf_trained.encode_batch(texts, add_special_tokens=False))
    seconds = best_seconds(encode_ours, 3)
    note += f"; ours {ours_tokens / seconds / 1e6:.2f} Mtok/s"
    return [
        throughput("encode: our API (sentencepiece, cut at spaces) vs plain sentencepiece", num_bytes, encode_ours,
                   lambda: ours.sp.encode(texts, num_threads=threads), "sentencepiece, whole documents",
                   repeat=3, note="same ids"),
        throughput("encode: our model, our API vs tokenizers", num_bytes, encode_ours,
                   lambda: exported.encode_batch(texts, add_special_tokens=False), "tokenizers (same model)",
                   repeat=3, note=note),
        throughput("encode: sentencepiece BPE vs tokenizers BPE, each trained above", num_bytes, encode_ours,
                   lambda: hf_trained.encode_batch(texts, add_special_tokens=False), "tokenizers BpeTrainer model",
                   repeat=3, note=f"bytes/token {num_bytes / ours_tokens:.2f} vs {num_bytes / hf_tokens:.2f}"),
        throughput("encode: our model vs tiktoken cl100k", num_bytes, encode_ours, lambda: cl100k.encode_batch(texts),
                   "tiktoken cl100k", repeat=3, note="different vocabularies"),
    ]
