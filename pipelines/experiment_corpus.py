"""The experiments' corpus: per domain, a fixed held-out split and three pre-training pools.

    ingest   DATA/ingest/<domain>          every document of the domain's paths (curate ingest)
    split    DATA/split/<domain>/{train,heldout}
             a document is held out when sha256(key) mod 100 < heldout_percent, the key being its
             id, or for code (group_by: repo) its repository, so no repository is on both sides
    clean    DATA/clean/<domain>           the train split through the domain's clean profile
             DATA/clean_heldout/<domain>   the held-out split through the same profile
    dedup    DATA/dedup                    the cleaned train splits, deduplicated across domains
    tokenizer DATA/tokenizer.model         an 8K BPE trained on the cleaned train split (unless the
                                           corpus names a sentencepiece model)
    tokens   DATA/tokens/<pool>/<domain>.arrow   pools raw | cleaned | deduped, encoded
    heldout  DATA/heldout/<domain>         the evaluation sets (tokenized; trainer.evaluation format)

Evaluation text is the *cleaned* held-out split (evaluation measures the text a model should
predict well, not boilerplate), cut at max_heldout_bytes in sha256(id) order; instruction domains are
scored on assistant replies only (prompts are context). No variant ever trains on a held-out
document: the pools are built from the train split only. Everything is encoded with one tokenizer,
renumbered to the pieces the corpus uses (mixtures.vocabulary). The whole directory is one stage
(pipelines.stage): rerun with the same corpus config, it is skipped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import torch

from curation.config import to_dict
from curation.documents import list_shards, read_documents, write_manifest, write_shard
from curation.parallel import Executor
from pipelines.experiment_config import CorpusConfig
from pipelines.stage import fingerprint, log, run_stage

POOLS_DIR = "tokens"
CLEAN_PROFILES = Path(__file__).resolve().parents[1] / "configs" / "clean"
HELDOUT_DOC_BYTES = 2000
TOKENIZER_SAMPLE_BYTES = 2_000_000
_TOKENS_SCHEMA = pa.schema([("id", pa.string()), ("ids", pa.list_(pa.uint32()))])


def clean_profile(name: str) -> Path:
    """A clean profile: a YAML path, or a name in the repository's configs/clean."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else CLEAN_PROFILES / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"clean profile {name!r} not found ({path})")
    return path


def split_key(row: dict, group_by: str) -> str:
    """The held-out split key: the document id, or its repository (code) so a repo stays on one side."""
    if group_by == "repo":
        meta = json.loads(row.get("meta") or "{}")
        repo = meta.get("max_stars_repo_name") or meta.get("repo_name") or meta.get("repo")
        if repo:
            return f"repo:{repo}"
    return f"id:{row['id']}"


def is_held_out(key: str, percent: int) -> bool:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 100 < percent


def evaluation_order(ids: list[str], items: list) -> list:
    """Items in the order of sha256(id): a cut at max_heldout_bytes then samples every source of a
    domain, not the sources whose ids sort first (in id order the instruction set was all CodeAlpaca)."""
    order = sorted(range(len(ids)), key=lambda i: hashlib.sha256(ids[i].encode()).digest())
    return [items[i] for i in order]


def split_documents(in_dir: Path, out_dir: Path, percent: int, group_by: str) -> dict:
    """Write the train and heldout halves of a document directory; return their counts."""
    tables = [t for t in read_documents(in_dir)]
    table = pa.concat_tables(tables) if tables else None
    counts = {"train": 0, "heldout": 0}
    if table is None or table.num_rows == 0:
        raise ValueError(f"{in_dir}: no documents to split")
    rows = table.select([c for c in ("id", "meta") if c in table.column_names]).to_pylist()
    held = np.array([is_held_out(split_key(r, group_by), percent) for r in rows])
    for side, mask in (("train", ~held), ("heldout", held)):
        part = table.filter(pa.array(mask))
        counts[side] = part.num_rows
        write_shard(part, out_dir / side / "part-00000.parquet")
    return counts


def read_texts(directory: Path) -> tuple[list[str], list[str]]:
    """(ids, texts) of a document directory, in id order (so outputs do not depend on shard layout)."""
    pairs = [(i, t) for table in read_documents(directory, ["id", "text"])
             for i, t in zip(table.column("id").to_pylist(), table.column("text").to_pylist()) if t]
    pairs.sort()
    return [p[0] for p in pairs], [p[1] for p in pairs]


def read_conversations(directory: Path) -> tuple[list[str], list[list[dict]]]:
    """(ids, conversations) of ingested chat documents (messages kept in meta), in id order."""
    from mixtures.chat import record_messages

    found = []
    for table in read_documents(directory, ["id", "meta", "text"]):
        for row in table.to_pylist():
            messages = record_messages(row)
            if messages:
                found.append((row["id"], messages))
    found.sort(key=lambda p: p[0])
    return [f[0] for f in found], [f[1] for f in found]


def write_tokens(path: Path, ids: list[str], token_lists: list[np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({"id": pa.array(ids, pa.string()),
                      "ids": pa.array([t.tolist() for t in token_lists], pa.list_(pa.uint32()))}, _TOKENS_SCHEMA)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, _TOKENS_SCHEMA) as writer:
        writer.write_table(table)


def read_tokens(path: Path) -> list[np.ndarray]:
    """Per document, its compact token ids (no EOS)."""
    with pa.memory_map(str(path)) as source:
        table = ipc.open_file(source).read_all()
    lists = table.column("ids").combine_chunks()
    offsets = lists.offsets.to_numpy()
    values = lists.values.to_numpy()
    return [values[offsets[i]:offsets[i + 1]] for i in range(len(lists))]


def _split_ids(values: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return [values[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def heldout_set(name: str, docs: list[tuple[np.ndarray, np.ndarray]], num_bytes: int, eos: int, seq_len: int):
    """A trainer.evaluation.HeldOutSet from (ids, scored mask) documents laid end to end after EOS."""
    from trainer.evaluation import HeldOutSet

    if not docs:
        raise ValueError(f"domain {name} has no held-out documents (after cleaning); raise heldout_percent "
                         f"or give the domain more documents")
    stream = np.concatenate([np.r_[eos, ids].astype(np.int64) for ids, _ in docs])
    flags = np.concatenate([np.r_[0, mask].astype(bool) for _, mask in docs])
    num_rows = max(1, -(-(len(stream) - 1) // seq_len))
    padded = num_rows * seq_len + 1
    stream = np.concatenate([stream, np.full(padded - len(stream), eos, dtype=np.int64)])
    flags = np.concatenate([flags, np.zeros(padded - len(flags), dtype=bool)])
    index = np.arange(num_rows)[:, None] * seq_len + np.arange(seq_len + 1)[None, :]
    return HeldOutSet(name, torch.from_numpy(stream[index]), torch.from_numpy(flags[index][:, 1:]),
                      num_bytes=num_bytes, num_docs=len(docs))


def _head(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= max_bytes else data[:max_bytes].decode("utf-8", errors="ignore")


def _leading(items: list, sizes: list[int], max_bytes: int) -> int:
    """How many leading items fit in max_bytes (at least one)."""
    total, count = 0, 0
    for size in sizes:
        if count and total + size > max_bytes:
            break
        total, count = total + size, count + 1
    return count


def train_tokenizer(corpus: CorpusConfig, dirs: dict[str, Path], prefix: Path) -> Path:
    """A small BPE (byte fallback) trained on the *train* split only, TOKENIZER_SAMPLE_BYTES per domain.

    On CPU a tiny model's cost is its vocabulary-sized embedding and softmax: 8K pieces instead of a
    reference tokenizer's 50K make every run about five times cheaper. Held-out text never trains it.
    """
    import sentencepiece as spm

    sentences = []
    for name, directory in dirs.items():
        if corpus.domains[name].format == "chat":
            _, conversations = read_conversations(directory)
            texts = ["\n".join(m["content"] for m in c) for c in conversations]
        else:
            _, texts = read_texts(directory)
        total = 0
        for text in texts:
            for line in text.split("\n"):
                line = line.strip()[:4000]
                if line:
                    sentences.append(line)
                    total += len(line.encode())
            if total > TOKENIZER_SAMPLE_BYTES:
                break
    prefix.parent.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=str(prefix), model_type="bpe",
        vocab_size=corpus.tokenizer_vocab_size, byte_fallback=True, character_coverage=0.9995,
        split_digits=True, num_threads=2, bos_id=1, eos_id=2, unk_id=0, pad_id=-1,
        input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
    return prefix.with_suffix(".model")


def build_corpus(corpus: CorpusConfig, out: Path, executor: Executor) -> dict:
    """All passes of the module docstring into `out`; returns the manifest."""
    from curation.clean.job import clean_directory
    from curation.clean.profile import load_profile
    from curation.dedup.job import run_dedup
    from curation.dedup.settings import load_dedup_config
    from curation.ingest.job import IngestOptions, ingest
    from mixtures.chat import conversation_bytes, encode_conversations
    from mixtures.encoding import load_tokenizer
    from mixtures.vocabulary import CompactVocabulary
    from trainer.evaluation import write_held_out

    root = Path(corpus.corpora_dir)
    counts: dict[str, dict[str, int]] = {}
    for name, domain in corpus.domains.items():
        log(f"experiment corpus: {name}: ingest, split, clean")
        ingest([root / p for p in domain.paths], out / "ingest" / name, IngestOptions(source=name), executor)
        counts[name] = split_documents(out / "ingest" / name, out / "split" / name, corpus.heldout_percent,
                                       domain.group_by)
        if domain.format == "text" and domain.clean:
            profile = load_profile(clean_profile(domain.clean))
            for side, target in (("train", "clean"), ("heldout", "clean_heldout")):
                manifest = clean_directory(out / "split" / name / side, out / target / name, profile, executor)
                counts[name][f"{side}_cleaned"] = manifest["num_out"]
    text = corpus.text_domains
    cleaned = {n: (out / "clean" / n / "kept" if corpus.domains[n].clean else out / "split" / n / "train")
               for n in text}
    log("experiment corpus: dedup across domains")
    code = [n for n in text if corpus.domains[n].group_by == "repo"]
    dedup_cfg = load_dedup_config(corpus.dedup, {"code_sources": code, "priority": text})
    run_dedup([cleaned[n] for n in text], out / "dedup", dedup_cfg, executor)
    pools = {"raw": {n: out / "split" / n / "train" for n in text}, "cleaned": cleaned,
             "deduped": {n: out / "dedup" / "kept" / n for n in text}}

    tokenizer_path = Path(corpus.tokenizer).resolve() if corpus.tokenizer else train_tokenizer(
        corpus, {n: cleaned[n] for n in text} | {n: out / "split" / n / "train" for n in corpus.chat_domains},
        out / "tokenizer")
    log("experiment corpus: encode pools and held-out sets")
    tokenizer = load_tokenizer(str(tokenizer_path))
    encoded: dict[tuple[str, str], tuple[list[str], list[np.ndarray]]] = {}
    for pool, dirs in pools.items():
        for name, directory in dirs.items():
            ids, texts = read_texts(directory) if list_shards(directory) else ([], [])
            values, offsets = tokenizer.encode(texts, 2)
            encoded[pool, name] = (ids, _split_ids(values, offsets))
    held_docs: dict[str, tuple[list[tuple[np.ndarray, np.ndarray]], int]] = {}
    chat_ids: list[np.ndarray] = []
    for name, domain in corpus.domains.items():
        if domain.format == "text":
            directory = out / ("clean_heldout" if domain.clean else "split") / name / (
                "kept" if domain.clean else "heldout")
            # Many short excerpts, not a few long documents: each held-out document's first
            # max_heldout_doc_bytes (cut at a character boundary).
            ids, texts = read_texts(directory)
            texts = [_head(t, HELDOUT_DOC_BYTES) for t in evaluation_order(ids, texts)]
            sizes = [len(t.encode()) for t in texts]
            texts = texts[:_leading(texts, sizes, corpus.max_heldout_bytes)]
            values, offsets = tokenizer.encode(texts, 2)
            docs = [(ids, np.ones(len(ids), np.uint8)) for ids in _split_ids(values, offsets)]
            held_docs[name] = (docs, sum(sizes[:len(texts)]))
        else:
            # All conversations' pieces go into the vocabulary (the train split is encoded per mixture).
            _, train_convs = read_conversations(out / "split" / name / "train")
            values, _, _ = encode_conversations(tokenizer, train_convs, 2)
            chat_ids.append(values)
            ids, convs = read_conversations(out / "split" / name / "heldout")
            convs = evaluation_order(ids, convs)
            replies = [sum(len(m["content"].encode()) for m in c if m["role"] == "assistant") for c in convs]
            convs = convs[:_leading(convs, [conversation_bytes(c) for c in convs], corpus.max_heldout_bytes)]
            values, offsets, mask = encode_conversations(tokenizer, convs, 2)
            docs = [(values[a:b], mask[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
            # Scored: assistant content and its closing marker; bytes: the assistant content.
            held_docs[name] = (docs, sum(replies[:len(convs)]))
    used = [np.array([tokenizer.eos_id])] + [t for _, lists in encoded.values() for t in lists] + chat_ids
    used += [ids for docs, _ in held_docs.values() for ids, _ in docs]
    vocab = CompactVocabulary(np.concatenate(used), tokenizer.vocab_size)
    vocab.save(out / "vocab.npy")
    eos = int(vocab.map([tokenizer.eos_id])[0])
    pool_counts: dict[str, dict[str, dict[str, int]]] = {}
    for (pool, name), (ids, lists) in encoded.items():
        write_tokens(out / POOLS_DIR / pool / f"{name}.arrow", ids, [vocab.map(t) for t in lists])
        pool_counts.setdefault(pool, {})[name] = {"docs": len(ids), "tokens": int(sum(len(t) for t in lists))}
    heldout = {}
    for name, (docs, num_bytes) in held_docs.items():
        mapped = [(vocab.map(ids), m) for ids, m in docs]
        write_held_out(out / "heldout" / name, heldout_set(name, mapped, num_bytes, eos, corpus.seq_len))
        heldout[name] = {"dir": f"heldout/{name}", "docs": len(docs), "bytes": num_bytes}
    manifest = {"stage": "experiment_corpus", "config": to_dict(corpus),
                "tokenizer_path": str(tokenizer_path), "tokenizer_sha256": tokenizer.sha256,
                "vocab_map": "vocab.npy", "vocab_size": vocab.size, "eos_id": eos, "seq_len": corpus.seq_len,
                "split_counts": counts, "pools": pool_counts, "heldout": heldout}
    write_manifest(out, manifest)
    return manifest


def prepare_corpus(corpus: CorpusConfig, data_dir: str | Path, executor: Executor, catalog=None,
                   run_id: str | None = None) -> tuple[dict, bool]:
    """Build (or find complete) the corpus directory; returns (manifest, skipped)."""
    files = [Path(corpus.corpora_dir) / p for d in corpus.domains.values() for p in d.paths]
    key = fingerprint(to_dict(corpus) | {"version": 1}, files)
    return run_stage("experiment_corpus", data_dir, key, lambda out: build_corpus(corpus, out, executor),
                     catalog, run_id)
