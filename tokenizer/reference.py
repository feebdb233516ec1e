"""Reference (baseline) tokenizers behind one interface: sentencepiece, HF tokenizer.json, tiktoken, GGUF.

The kind is read from the file's content, not its name (Mistral ships `.model.v3`):
GGUF magic, a JSON object (tokenizer.json), `base64 rank` lines (tiktoken) or else a
sentencepiece model proto. tiktoken rank files carry no split pattern; it is chosen by the
number of ranks, the families shipped in shared/corpora/tokenizers:

    50,256/50,257 GPT-2 r50k; 100,256 cl100k (GPT-4); 128,000 Llama 3; 151,643 Qwen;
    200,000 o200k (GPT-4o; Llama 4 uses the same pattern). Any other size: cl100k's pattern.

`partial_mask` marks the ids that stand for a fragment of a character: sentencepiece and HF
byte-fallback pieces `<0xNN>`, and in byte-level BPEs (GPT-2, tiktoken) tokens whose bytes are
not valid UTF-8 on their own. Its share of the tokens is the report's byte-fallback share.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curation.documents import file_sha256
from tokenizer.huggingface import BYTE, CONTROL, NORMAL, UNKNOWN, USER_DEFINED, Vocabulary, build_hf_tokenizer

R50K_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
                  r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                  r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
QWEN_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                r"""|\s*[\r\n]+|\s+(?!\S)|\s+""")
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""", r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""", r"""\s*[\r\n]+""", r"""\s+(?!\S)""", r"""\s+""",
])
TIKTOKEN_PATTERNS = {50256: R50K_PATTERN, 50257: R50K_PATTERN, 100256: CL100K_PATTERN, 128000: LLAMA3_PATTERN,
                     151643: QWEN_PATTERN, 200000: O200K_PATTERN}
_TIKTOKEN_LINE = re.compile(rb"^[A-Za-z0-9+/=]+ \d+$")
_BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")
# GGUF token types (llama.cpp): 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte
_GGUF_KINDS = {1: NORMAL, 2: UNKNOWN, 3: CONTROL, 4: USER_DEFINED, 5: "unused", 6: BYTE}


@dataclass
class ReferenceTokenizer:
    """Any tokenizer the report measures: a name, its kind, vocabulary, and a batch encoder."""

    name: str
    kind: str
    path: str
    vocab_size: int
    sha256: str
    partial_mask: np.ndarray
    encode_batch: Callable[[Sequence[str]], list[Sequence[int]]]

    def summary(self) -> dict:
        return {"kind": self.kind, "path": self.path, "vocab_size": self.vocab_size, "sha256": self.sha256}


def detect_kind(path: Path) -> str:
    """sentencepiece, huggingface, tiktoken or gguf, from the file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"GGUF"):
        return "gguf"
    if head.lstrip().startswith(b"{"):
        return "huggingface"
    first_line = head.split(b"\n", 1)[0].strip()
    if _TIKTOKEN_LINE.match(first_line):
        return "tiktoken"
    return "sentencepiece"


def _utf8_fragment(token: bytes) -> bool:
    try:
        token.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _load_sentencepiece(path: Path, threads: int) -> tuple[int, np.ndarray, Callable]:
    from tokenizer.encoding import Tokenizer

    tok = Tokenizer(path, threads)
    return tok.vocab_size, tok.byte_piece_mask, lambda texts: tok.sp.encode(list(texts), num_threads=threads)


def _hf_byte_level_decoder() -> dict[str, int]:
    """GPT-2's printable-character alphabet for bytes, inverted (character -> byte)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def _wrap_hf(tokenizer, byte_level: bool) -> tuple[int, np.ndarray, Callable]:
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    mask = np.zeros(size, dtype=bool)
    byte_of = _hf_byte_level_decoder() if byte_level else {}
    for token, token_id in tokenizer.get_vocab(with_added_tokens=True).items():
        if byte_level and all(ch in byte_of for ch in token):
            mask[token_id] = _utf8_fragment(bytes(byte_of[ch] for ch in token))
        else:
            mask[token_id] = bool(_BYTE_PIECE.match(token))

    def encode(texts):
        return [e.ids for e in tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    return size, mask, encode


def _load_huggingface(path: Path, threads: int) -> tuple[int, np.ndarray, Callable]:
    from tokenizers import Tokenizer

    spec = json.loads(path.read_text(encoding="utf-8"))
    byte_level = "ByteLevel" in json.dumps([spec.get("pre_tokenizer"), spec.get("decoder")])
    os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
    return _wrap_hf(Tokenizer.from_file(str(path)), byte_level)


def _load_tiktoken(path: Path, threads: int) -> tuple[int, np.ndarray, Callable]:
    import tiktoken

    ranks = {}
    for line in path.read_bytes().splitlines():
        if line.strip():
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    encoding = tiktoken.Encoding(path.name, pat_str=TIKTOKEN_PATTERNS.get(len(ranks), CL100K_PATTERN),
                                 mergeable_ranks=ranks, special_tokens={})
    size = max(ranks.values()) + 1
    mask = np.zeros(size, dtype=bool)
    for token, rank in ranks.items():
        mask[rank] = _utf8_fragment(token)
    return size, mask, lambda texts: encoding.encode_ordinary_batch(list(texts), num_threads=threads)


def _load_gguf(path: Path, threads: int) -> tuple[int, np.ndarray, Callable]:
    from gguf import GGUFReader

    fields = GGUFReader(str(path)).fields

    def values(key):
        field = fields[key]
        return [field.parts[i] for i in field.data]

    if "tokenizer.ggml.tokens" not in fields:
        raise ValueError(f"{path}: GGUF file without a tokenizer vocabulary")
    model = bytes(values("tokenizer.ggml.model")[0]).decode()
    if model != "llama":
        raise ValueError(f"{path}: GGUF tokenizer model {model!r} is not supported (only sentencepiece 'llama')")
    pieces = [bytes(p).decode("utf-8") for p in values("tokenizer.ggml.tokens")]
    scores = [float(s[0]) for s in values("tokenizer.ggml.scores")]
    kinds = [_GGUF_KINDS.get(int(t[0]), NORMAL) for t in values("tokenizer.ggml.token_type")]
    prefix = fields.get("tokenizer.ggml.add_space_prefix")
    add_prefix = bool(prefix.parts[prefix.data[0]][0]) if prefix is not None else True  # llama.cpp's default
    vocab = Vocabulary(pieces, scores, kinds, add_dummy_prefix=add_prefix, byte_fallback=BYTE in kinds)
    os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
    size, _, encode = _wrap_hf(build_hf_tokenizer(vocab), byte_level=False)
    return size, np.array([k == BYTE for k in kinds], dtype=bool), encode


def default_name(path: Path) -> str:
    """A tokenizer's display name from its file name, less format suffixes (`.model.v3`, `.tiktoken`)."""
    name = re.sub(r"\.(json|tiktoken|gguf)$", "", path.name)
    return re.sub(r"\.model(\.v\d+)?$", "", name)


def load_reference(path: str | Path, name: str | None = None, num_threads: int | None = None) -> ReferenceTokenizer:
    """Load any supported tokenizer file (or a curate tokenizer directory) for measurement."""
    path = Path(path)
    if path.is_dir():
        path = path / "tokenizer.model"
    if not path.is_file():
        raise ValueError(f"{path}: tokenizer file not found")
    threads = num_threads or len(os.sched_getaffinity(0))
    kind = detect_kind(path)
    loader = {"sentencepiece": _load_sentencepiece, "huggingface": _load_huggingface,
              "tiktoken": _load_tiktoken, "gguf": _load_gguf}[kind]
    try:
        size, mask, encode = loader(path, threads)
    except ImportError as exc:
        raise ValueError(f"{path}: reading {kind} files needs the `{exc.name}` package") from None
    except (RuntimeError, OSError, json.JSONDecodeError, KeyError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot load as a {kind} tokenizer ({exc})") from None
    return ReferenceTokenizer(name or default_name(path), kind, str(path), size, file_sha256(path), mask, encode)
