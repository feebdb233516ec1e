"""Export a sentencepiece BPE vocabulary as a Hugging Face `tokenizers` BPE (tokenizer.json).

sentencepiece BPE merges, at each step, the adjacent pair whose concatenation is the vocabulary
piece of highest score. The same model in `tokenizers` is a BPE whose merge list holds every
split (left, right) of every piece into two pieces, ranked by the merged piece's score; byte
fallback, `▁` for spaces and the special tokens carry over. Encodings agree on nearly all text;
`agreement()` measures the share of texts encoded identically. One difference by design: HF
matches special tokens spelled out in text, sentencepiece's control symbols never match text.
The same builder turns a GGUF vocabulary (pieces, scores, types) into a usable tokenizer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizer.special_tokens import BOS, CHAT_TEMPLATE, CONTROL_SYMBOLS, EOS, PAD, UNK

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, BYTE, UNUSED = "normal", "unknown", "control", "user", "byte", "unused"


@dataclass
class Vocabulary:
    """Pieces in id order with their scores and kinds, and whether text gets a leading `▁`."""

    pieces: list[str]
    scores: list[float]
    kinds: list[str]
    add_dummy_prefix: bool
    byte_fallback: bool


def sentencepiece_vocabulary(sp) -> Vocabulary:
    """The vocabulary of a loaded `sentencepiece.SentencePieceProcessor`."""
    pieces, scores, kinds = [], [], []
    for i in range(sp.get_piece_size()):
        pieces.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        if sp.is_byte(i):
            kinds.append(BYTE)
        elif sp.is_unknown(i):
            kinds.append(UNKNOWN)
        elif sp.is_control(i):
            kinds.append(CONTROL)
        elif sp.is_unused(i):
            kinds.append(UNUSED)
        else:
            kinds.append(NORMAL)
    # sentencepiece hides its normaliser flags from Python; a dummy prefix shows in the pieces
    add_dummy_prefix = "".join(sp.encode("a", out_type=str)).startswith("\u2581")
    return Vocabulary(pieces, scores, kinds, add_dummy_prefix, BYTE in kinds)


def bpe_merges(vocab: Vocabulary) -> list[tuple[str, str]]:
    """Every (left, right) whose concatenation is a piece, both halves pieces, by merge priority."""
    ids = {p: i for i, (p, k) in enumerate(zip(vocab.pieces, vocab.kinds)) if k in (NORMAL, USER_DEFINED)}
    # higher score merges first; ties (equal scores) go to the lower id, as in sentencepiece
    order = sorted(ids.values(), key=lambda i: (-vocab.scores[i], i))
    rank = {i: r for r, i in enumerate(order)}
    candidates = []
    for piece, merged_id in ids.items():
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in ids and right in ids:
                candidates.append((rank[merged_id], ids[left], ids[right], left, right))
    candidates.sort()
    return [(left, right) for *_, left, right in candidates]


def build_hf_tokenizer(vocab: Vocabulary):
    """A `tokenizers.Tokenizer` that encodes like the sentencepiece model of `vocab`."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers

    vocab_ids = {p: i for i, p in enumerate(vocab.pieces)}
    unk = next((p for p, k in zip(vocab.pieces, vocab.kinds) if k == UNKNOWN), None)
    model = models.BPE(vocab=vocab_ids, merges=bpe_merges(vocab), unk_token=unk, fuse_unk=True,
                       byte_fallback=vocab.byte_fallback)
    tokenizer = Tokenizer(model)
    steps = [normalizers.Prepend("\u2581")] if vocab.add_dummy_prefix else []
    tokenizer.normalizer = normalizers.Sequence(steps + [normalizers.Replace(" ", "\u2581")])
    decode_steps = [decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()]
    if vocab.add_dummy_prefix:
        decode_steps.append(decoders.Strip(content=" ", left=1, right=0))
    tokenizer.decoder = decoders.Sequence(decode_steps)
    specials = [p for p, k in zip(vocab.pieces, vocab.kinds) if k in (UNKNOWN, CONTROL)]
    tokenizer.add_special_tokens([AddedToken(p, special=True, normalized=False) for p in specials])
    return tokenizer


def write_hf_files(tokenizer, out_dir: str | Path, max_length: int | None = None) -> list[str]:
    """Write tokenizer.json plus the transformers config files; return the file names."""
    out_dir = Path(out_dir)
    tokenizer.save(str(out_dir / "tokenizer.json"))
    special = {"bos_token": BOS, "eos_token": EOS, "unk_token": UNK, "pad_token": PAD,
               "additional_special_tokens": list(CONTROL_SYMBOLS)}
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "chat_template": CHAT_TEMPLATE,
              "clean_up_tokenization_spaces": False, "add_bos_token": False, "add_eos_token": False,
              **special}
    if max_length:
        config["model_max_length"] = max_length
    for name, obj in (("tokenizer_config.json", config), ("special_tokens_map.json", special)):
        (out_dir / name).write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]


def agreement(sp, hf_tokenizer, texts: Sequence[str]) -> dict:
    """How many texts the HF tokenizer encodes exactly as sentencepiece does."""
    texts = list(texts)
    if not texts:
        return {"num_texts": 0, "num_equal": 0, "share_equal": None, "token_share_equal": None}
    ours = sp.encode(texts)
    theirs = [e.ids for e in hf_tokenizer.encode_batch(texts, add_special_tokens=False)]
    equal = [a == b for a, b in zip(ours, theirs)]
    tokens_equal = sum(len(a) for a, same in zip(ours, equal) if same)
    return {"num_texts": len(texts), "num_equal": sum(equal), "share_equal": sum(equal) / len(texts),
            "token_share_equal": tokens_equal / max(1, sum(len(a) for a in ours))}
