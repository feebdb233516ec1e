"""Variant mixtures: a pool's documents at equal token shares per domain, in a chosen order.

A stable mixture holds exactly the rows the run reads (steps x batch_size rows of seq_len + 1), so
every variant trains on the same number of tokens and a block-ordered variant reaches its last
block. Each pre-training domain gets an equal share of the tokens; its documents are cut into
pieces of at most MAX_PIECE_TOKENS (so one Gutenberg book cannot fill a share) and taken in an
order drawn from a fixed seed, in whole passes when the pool is smaller than its share (the
manifest's `epochs` says how many). The seed is the same for every variant of an experiment, so
`shuffled` and `blocks` hold the very same pieces and differ only in order: `blocks` lays the
domains out one after another (block_order, first to last) and the run reads rows in stored order
(trainer data.shuffle false); `shuffled` lets the loader shuffle rows as usual.

A decay mixture adds instruction conversations (rendered in the chat format, prompts masked) at
`instruction_share` of its tokens, from all train-split conversations, a random `keep` of them, or
the `keep` chosen by entropy (trainer.selection) with the branch point's model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from curation.documents import write_json
from mixtures.shards import sequences_table, shard_name, write_sequence_shard
from pipelines.experiment_config import CorpusConfig, DecayDataConfig
from pipelines.experiment_corpus import POOLS_DIR, read_conversations, read_tokens

MAX_PIECE_TOKENS = 1024
ROWS_PER_SHARD = 256
DATA_SEED = 20240406  # document choice: fixed, so variants differ only in their one decision

Doc = tuple[str, np.ndarray, np.ndarray]  # (domain, ids, loss mask) without the trailing EOS


def pool_pieces(data_dir: Path, pool: str, domain: str) -> list[np.ndarray]:
    """A domain's documents in one pool, cut into pieces of at most MAX_PIECE_TOKENS."""
    pieces = []
    for ids in read_tokens(data_dir / POOLS_DIR / pool / f"{domain}.arrow"):
        pieces += [ids[i:i + MAX_PIECE_TOKENS] for i in range(0, len(ids), MAX_PIECE_TOKENS)]
    if not pieces:
        raise ValueError(f"{data_dir}: the {pool} pool has no {domain} documents")
    return pieces


def take_tokens(items: list, lengths: np.ndarray, budget: int, seed: list[int]) -> tuple[list, float]:
    """Items in a seeded order, in whole passes, until their lengths reach budget; (items, passes)."""
    order = np.random.default_rng(seed).permutation(len(items))
    total = int(lengths.sum())
    if total == 0:
        raise ValueError("no tokens to take")
    taken, count = [], 0
    while count < budget:
        index = order[len(taken) % len(order)]
        taken.append(items[index])
        count += int(lengths[index]) + 1  # + EOS
    return taken, count / total


def pretraining_docs(data_dir: Path, pool: str, domains: list[str], budget: int, seed: int) -> tuple[list[Doc], dict]:
    """Equal token shares of budget per domain; returns the documents and epochs per domain."""
    docs, epochs = [], {}
    for k, domain in enumerate(domains):
        pieces = pool_pieces(data_dir, pool, domain)
        taken, passes = take_tokens(pieces, np.array([len(p) for p in pieces]), -(-budget // len(domains)),
                                    [seed, k])
        docs += [(domain, ids, np.ones(len(ids), np.uint8)) for ids in taken]
        epochs[domain] = round(passes, 3)
    return docs, epochs


def instruction_docs(conversations: list[list[dict]], corpus_manifest: dict, data_dir: Path, domain: str,
                     budget: int, seed: int) -> tuple[list[Doc], float]:
    """Conversations encoded in the chat format (prompt tokens masked), taken up to budget tokens."""
    from mixtures.chat import encode_conversations
    from mixtures.encoding import load_tokenizer
    from mixtures.vocabulary import CompactVocabulary

    tokenizer = load_tokenizer(corpus_manifest["tokenizer_path"])
    vocab = CompactVocabulary.load(data_dir / corpus_manifest["vocab_map"], tokenizer.vocab_size)
    values, offsets, mask = encode_conversations(tokenizer, conversations, 2)
    values = vocab.map(values)
    # encode_conversations ends each conversation with EOS; drop it (packing adds one).
    docs = [(domain, values[a:b - 1], mask[a:b - 1]) for a, b in zip(offsets[:-1], offsets[1:])]
    taken, passes = take_tokens(docs, np.array([len(d[1]) for d in docs]), budget, [seed, 99])
    return taken, round(passes, 3)


def chosen_conversations(data_dir: Path, domain: str, decay: DecayDataConfig, seed: int,
                         select_dir: Path, checkpoint: Path | None) -> list[list[dict]]:
    """The train-split conversations a decay mixture draws from: all, a random keep, or by entropy."""
    split_dir = data_dir / "split" / domain / "train"
    ids, conversations = read_conversations(split_dir)
    if decay.selection == "all":
        return conversations
    if decay.keep > len(conversations):
        raise ValueError(f"decay.keep {decay.keep} is more than the {len(conversations)} conversations")
    if decay.selection == "random":
        chosen = np.sort(np.random.default_rng([seed, 7]).choice(len(conversations), decay.keep, replace=False))
        return [conversations[i] for i in chosen]
    from trainer.selection import select_conversations

    summary = select_conversations(checkpoint, split_dir, select_dir, decay.keep, decay.band, progress=False)
    return [row["messages"] for row in summary["rows"]]


def order_docs(docs: list[Doc], order: str, block_order: list[str], seed: int) -> list[Doc]:
    """`shuffled`: a seeded permutation; `blocks`: domains one after another, in block_order."""
    docs = [docs[i] for i in np.random.default_rng([seed, 1]).permutation(len(docs))]
    if order == "blocks":
        rank = {d: i for i, d in enumerate(block_order)}
        missing = {d for d, _, _ in docs} - set(rank)
        if missing:
            raise ValueError(f"block_order lacks domains {sorted(missing)}")
        docs.sort(key=lambda doc: rank[doc[0]])  # stable: the seeded order inside each block
    return docs


def write_mixture(out_dir: Path, docs: list[Doc], num_rows: int, corpus_manifest: dict, data_dir: Path,
                  info: dict) -> dict:
    """Pack docs (EOS after each) into exactly num_rows rows of seq_len + 1 and write the mixture."""
    seq_len, eos = corpus_manifest["seq_len"], corpus_manifest["eos_id"]
    width = seq_len + 1
    ids = np.concatenate([np.r_[d[1], eos].astype(np.uint32) for d in docs])
    mask = np.concatenate([np.r_[d[2], 1].astype(np.uint8) for d in docs])
    starts = np.cumsum([0] + [len(d[1]) + 1 for d in docs[:-1]])
    domain_of = np.repeat(np.array([d[0] for d in docs]), [len(d[1]) + 1 for d in docs])
    if len(ids) < num_rows * width:
        raise AssertionError(f"{len(ids)} tokens cannot fill {num_rows} rows")
    ids, mask, domain_of = ids[:num_rows * width], mask[:num_rows * width], domain_of[:num_rows * width]
    starts = starts[starts < num_rows * width]
    positions = np.unique(np.concatenate([starts, np.arange(num_rows) * width]))
    row_of = positions // width
    doc_starts = np.split((positions - row_of * width).astype(np.uint32),
                          np.searchsorted(row_of, np.arange(1, num_rows)))
    ids, mask = ids.reshape(num_rows, width), mask.reshape(num_rows, width)
    shards = [write_sequence_shard(sequences_table(ids[a:a + ROWS_PER_SHARD], mask[a:a + ROWS_PER_SHARD],
                                                   doc_starts[a:a + ROWS_PER_SHARD]), out_dir / shard_name(k))
              for k, a in enumerate(range(0, num_rows, ROWS_PER_SHARD))]
    names, counts = np.unique(domain_of, return_counts=True)
    manifest = {"seq_len": seq_len, "vocab_size": corpus_manifest["vocab_size"], "eos_id": eos,
                "vocab_map": str((data_dir / corpus_manifest["vocab_map"]).resolve()),
                "tokenizer_path": corpus_manifest["tokenizer_path"],
                "tokenizer_sha256": corpus_manifest["tokenizer_sha256"], "num_rows": num_rows,
                "num_tokens": int(ids.size), "domain_tokens": {str(n): int(c) for n, c in zip(names, counts)},
                "shards": shards, **info}
    write_json(out_dir / "manifest.json", manifest)
    return manifest


def build_stable(out_dir: Path, data_dir: Path, corpus: CorpusConfig, corpus_manifest: dict, pool: str,
                 order: str, block_order: list[str], num_rows: int) -> dict:
    budget = num_rows * (corpus_manifest["seq_len"] + 1)
    docs, epochs = pretraining_docs(data_dir, pool, corpus.text_domains, budget + MAX_PIECE_TOKENS, DATA_SEED)
    docs = order_docs(docs, order, block_order or corpus.text_domains, DATA_SEED)
    return write_mixture(out_dir, docs, num_rows, corpus_manifest, data_dir,
                         {"kind": "stable", "pool": pool, "order": order, "epochs": epochs})


def build_decay(out_dir: Path, data_dir: Path, corpus: CorpusConfig, corpus_manifest: dict, pool: str,
                decay: DecayDataConfig, num_rows: int, seed: int, checkpoint: Path | None) -> dict:
    budget = num_rows * (corpus_manifest["seq_len"] + 1) + MAX_PIECE_TOKENS
    chat_budget = int(round(budget * decay.instruction_share))
    # Another draw than the stable mixture's, so the decay reads pieces in a fresh order.
    docs, epochs = pretraining_docs(data_dir, pool, corpus.text_domains, budget - chat_budget, DATA_SEED + 1)
    info = {"kind": "decay", "pool": pool, "instruction_share": decay.instruction_share,
            "selection": decay.selection, "epochs": epochs}
    if chat_budget:
        domain = corpus.chat_domains[0] if corpus.chat_domains else None
        if domain is None:
            raise ValueError("decay.instruction_share needs a chat domain in the corpus")
        conversations = chosen_conversations(data_dir, domain, decay, seed, out_dir / "selection", checkpoint)
        chat, passes = instruction_docs(conversations, corpus_manifest, data_dir, domain, chat_budget, DATA_SEED)
        docs += chat
        info |= {"conversations": len(conversations), "epochs": epochs | {domain: passes}}
    docs = order_docs(docs, "shuffled", [], DATA_SEED + 1)
    return write_mixture(out_dir, docs, num_rows, corpus_manifest, data_dir, info)
