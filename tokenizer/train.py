"""Train a sentencepiece BPE tokenizer from document directories and write it with its report.

Settings (MiniCPM Appendix C, Llama-style sentencepiece): BPE, byte fallback (no <unk> in
practice), digits split one by one, identity normalisation (no NFKC, so full-width forms and
code survive), spaces kept as they are (no collapsing, whitespace-only pieces allowed, so
indentation gets pieces), no dummy prefix (segments concatenate without phantom spaces). The
guaranteed characters are passed as `required_chars`: they are single pieces whatever the sample
holds and count inside `vocab_size`, so the vocabulary has exactly the preset's size.

Output directory: tokenizer.model, tokenizer.vocab (piece TAB score, pieces JSON-escaped), tokenizer.json and the
transformers config files, train_report.json, config.json (the resolved config and inputs), and
manifest.json last.
"""

from __future__ import annotations

import io
import json
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from curation.config import to_dict
from curation.documents import atomic_write_bytes, file_sha256, write_json, write_manifest
from tokenizer.charsets import guaranteed_characters, guaranteed_sets
from tokenizer.huggingface import agreement, build_hf_tokenizer, sentencepiece_vocabulary, write_hf_files
from tokenizer.presets import TokenizerConfig
from tokenizer.sampling import DomainInput, TrainingSample, build_sample
from tokenizer.special_tokens import BOS_ID, CONTROL_SYMBOLS, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID
from tokenizer.vocabulary import vocabulary_by_script

MODEL_NAME = "tokenizer.model"
VOCAB_NAME = "tokenizer.vocab"
REPORT_NAME = "train_report.json"
CONFIG_NAME = "config.json"
NUM_BYTE_PIECES = 256
# sentencepiece counts characters in int32 unless told the corpus is large
_LARGE_CORPUS_BYTES = 1 << 30


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def trainer_options(config: TokenizerConfig, required_chars: str, sample_bytes: int) -> dict:
    """The sentencepiece trainer arguments for `config`."""
    return dict(
        model_type="bpe", vocab_size=config.vocab_size, character_coverage=config.character_coverage,
        byte_fallback=config.byte_fallback, split_digits=config.split_digits,
        normalization_rule_name="identity", remove_extra_whitespaces=False, add_dummy_prefix=False,
        allow_whitespace_only_pieces=True, split_by_whitespace=True,
        max_sentencepiece_length=config.max_piece_chars, max_sentence_length=config.sample.max_sentence_bytes,
        input_sentence_size=0, shuffle_input_sentence=False, num_threads=config.threads,
        unk_id=UNK_ID, bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID, control_symbols=list(CONTROL_SYMBOLS),
        required_chars=required_chars, hard_vocab_limit=True, vocabulary_output_piece_score=True,
        train_extremely_large_corpus=sample_bytes > _LARGE_CORPUS_BYTES, minloglevel=2,
    )


def check_room(config: TokenizerConfig, num_required: int) -> None:
    """Fail early when the guaranteed characters and fixed pieces fill the whole vocabulary."""
    fixed = len(SPECIAL_TOKENS) + (NUM_BYTE_PIECES if config.byte_fallback else 0)
    if num_required + fixed >= config.vocab_size:
        raise ValueError(f"vocab_size {config.vocab_size} leaves no room for merges: {num_required} "
                         f"guaranteed characters + {fixed} special and byte pieces; raise vocab_size "
                         f"or turn off a `guarantee:` set")


def train_sentencepiece(config: TokenizerConfig, sample: TrainingSample) -> bytes:
    """Train on the sample's sentences; return the serialized model."""
    import sentencepiece as spm

    required = guaranteed_characters(config.guarantee)
    check_room(config, len(required))
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=sample.sentences(), model_writer=model,
                                       **trainer_options(config, "".join(required), sample.num_bytes))
    except RuntimeError as exc:
        # e.g. "Vocabulary size is too high": the sample has too few distinct merges for vocab_size
        raise ValueError(f"sentencepiece training failed: {str(exc).strip().splitlines()[-1]}") from None
    return model.getvalue()


def _guarantee_report(config: TokenizerConfig, sp) -> dict:
    required = set(guaranteed_characters(config.guarantee))
    report = {}
    for name, chars in guaranteed_sets(config.guarantee).items():
        missing = [ch for ch in chars if ch in required and sp.piece_to_id(ch) == UNK_ID]
        report[name] = {"num_chars": len(chars), "num_missing": len(missing), "missing": "".join(missing[:20])}
    return report


def train_tokenizer(config: TokenizerConfig, domains: Sequence[DomainInput], out_dir: str | Path,
                    log: Callable[[str], None] = lambda message: None) -> dict:
    """Sample, train, export and report into `out_dir`; write and return the stage manifest."""
    import sentencepiece as spm

    out_dir = Path(out_dir)
    check_room(config, len(guaranteed_characters(config.guarantee)))
    started = time.monotonic()
    sample = build_sample(domains, config.sample, config.agreement_sentences, log)
    sampled, cpu_before = time.monotonic(), time.process_time()
    log(f"train: BPE to {config.vocab_size:,} pieces on {sample.num_bytes / 1e6:.1f} MB "
        f"({sample.num_sentences:,} sentences), {config.threads} threads")
    model_bytes = train_sentencepiece(config, sample)
    trained, train_cpu_seconds = time.monotonic(), time.process_time() - cpu_before
    train_rss_mb = peak_rss_mb()
    atomic_write_bytes(out_dir / MODEL_NAME, model_bytes)
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    vocab = sentencepiece_vocabulary(sp)
    # pieces hold newlines and tabs: escape them as JSON does, one `piece<TAB>score` per line
    vocab_lines = "".join(f"{json.dumps(piece, ensure_ascii=False)[1:-1]}\t{score:g}\n"
                          for piece, score in zip(vocab.pieces, vocab.scores))
    atomic_write_bytes(out_dir / VOCAB_NAME, vocab_lines.encode("utf-8"))

    log("export: tokenizer.json (Hugging Face tokenizers)")
    hf_files = write_hf_files(build_hf_tokenizer(vocab), out_dir)
    from tokenizers import Tokenizer

    hf_agreement = agreement(sp, Tokenizer.from_file(str(out_dir / "tokenizer.json")), sample.heldout_sentences)
    round_trips = [sp.decode(ids) == text for ids, text in zip(sp.encode(sample.heldout_sentences),
                                                             sample.heldout_sentences)]
    by_script = vocabulary_by_script(vocab)
    learned = by_script["num_learned_pieces"]
    within = config.max_learned_pieces is None or learned <= config.max_learned_pieces
    if not within:
        log(f"train: warning: {learned:,} learned pieces exceed max_learned_pieces "
            f"{config.max_learned_pieces:,}; guarantee more characters or lower vocab_size")
    finished = time.monotonic()
    sha256 = file_sha256(out_dir / MODEL_NAME)
    report = {
        "name": config.name, "vocab_size": sp.get_piece_size(), "sha256": sha256,
        "seconds": {"sample": round(sampled - started, 3), "train": round(trained - sampled, 3),
                    "export": round(finished - trained, 3), "total": round(finished - started, 3),
                    "train_cpu": round(train_cpu_seconds, 3)},
        "peak_rss_mb": round(train_rss_mb, 1), "num_threads": config.threads,
        "sample": {"num_bytes": sample.num_bytes, "num_sentences": sample.num_sentences,
                   "domains": {name: asdict(d) | {"share": round(d.sample_bytes / max(1, sample.num_bytes), 4)}
                               for name, d in sample.domains.items()}},
        "vocabulary": by_script, "max_learned_pieces": config.max_learned_pieces,
        "learned_within_limit": within, "guaranteed": _guarantee_report(config, sp),
        "hf_agreement": hf_agreement,
        "round_trip_share": sum(round_trips) / len(round_trips) if round_trips else None,
        "special_tokens": {p: sp.piece_to_id(p) for p in SPECIAL_TOKENS},
    }
    resolved = {"config": to_dict(config), "inputs": {d.name: [str(p.resolve()) for p in d.dirs] for d in domains}}
    write_json(out_dir / REPORT_NAME, report)
    write_json(out_dir / CONFIG_NAME, resolved)
    log(f"train: {report['vocab_size']:,} pieces ({learned:,} learned) in {report['seconds']['total']:.1f} s, "
        f"peak {report['peak_rss_mb']:.0f} MB; HF agreement {hf_agreement['share_equal']}")
    manifest = {
        "stage": "tokenizer_train", "name": config.name, "sha256": sha256,
        "num_in": sum(d.num_docs for d in sample.domains.values()), "num_out": report["vocab_size"],
        "counts": {name: {"docs": d.num_docs, "docs_heldout": d.num_docs_heldout,
                          "docs_sampled": d.num_docs_sampled, "sentences": d.num_sentences,
                          "sample_bytes": d.sample_bytes} for name, d in sample.domains.items()},
        "files": [MODEL_NAME, VOCAB_NAME, *hf_files, REPORT_NAME, CONFIG_NAME],
        "config": resolved["config"], "inputs": resolved["inputs"],
    }
    write_manifest(out_dir, manifest)  # last: marks the directory complete
    return manifest
