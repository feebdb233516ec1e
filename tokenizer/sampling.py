"""Training text for the tokenizer: documents split held-out/train, then sentences sampled by domain.

Inputs are document directories grouped into domains (`--in zh=DIR`, or the directory's name).
The sample never exceeds `max_sample_bytes` of UTF-8 text, so a corpus of any size trains in
bounded memory: domain budgets are the weights' shares of the cap (text sizes estimated from the
Parquet footers), and a domain with less text than its share gives the rest to the others
(water-filling). One streaming pass reads the text column shard by shard. Each sentence gets a
uniform key from a generator seeded by (seed, document hash), and a domain keeps the sentences of
smallest key that fit its budget (a bounded heap of UTF-8 bytes): a uniform sentence sample that
fills the budget to within one sentence, whatever the shard order. To keep the per-row Python
work proportional to the sample, only documents whose hash falls under min(1, 4 r) are split
into sentences, r being the budget over the domain's text. Peak memory: the cap, plus one
domain's budget (and about 100 bytes of Python per sentence) while its heap becomes an Arrow array.

Held-out split: a document is held out when xxh64(UTF-8 text) mod 1000 < heldout_per_mille.
It depends on the text alone, so a document and its exact duplicates land on the same side in
every directory and JSONL file that holds them, and the report (tokenizer.evalsets) measures the
same held-out documents that training skipped. Sentences are paragraphs (split after blank lines)
cut at line, then character, boundaries to at most `max_sentence_bytes`; newlines and indentation
stay inside them, so code trains with its whitespace.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from curation.documents import list_shards, read_documents
from tokenizer.presets import SampleConfig

# Documents are pre-sampled at this multiple of the sentence rate, so the per-row Python work
# (splitting into sentences) scales with the sample, not with the corpus.
DOC_OVERSAMPLING = 4.0
_PARAGRAPH_END = re.compile(r"(?<=\n\n)(?=[^\n])")
_UNIFORM_BITS = 53


@dataclass
class DomainInput:
    """One training domain: a name (the key of `domain_weights`) and its document directories."""

    name: str
    dirs: list[Path]


@dataclass
class DomainSample:
    """What sampling took from one domain."""

    available_bytes: int = 0
    budget_bytes: int = 0
    num_docs: int = 0
    num_docs_heldout: int = 0
    num_docs_sampled: int = 0
    num_sentences: int = 0
    sample_bytes: int = 0


@dataclass
class TrainingSample:
    """Sampled sentences (UTF-8, compact Arrow chunks), a few held-out ones, and per-domain stats."""

    chunks: list[pa.Array] = field(default_factory=list)
    heldout_sentences: list[str] = field(default_factory=list)
    domains: dict[str, DomainSample] = field(default_factory=dict)

    @property
    def num_sentences(self) -> int:
        return sum(len(c) for c in self.chunks)

    @property
    def num_bytes(self) -> int:
        return sum(d.sample_bytes for d in self.domains.values())

    def sentences(self) -> Iterator[str]:
        """The sampled sentences in order, one chunk decoded at a time."""
        for chunk in self.chunks:
            yield from chunk.to_pylist()


def parse_domain_inputs(specs: Sequence[str]) -> list[DomainInput]:
    """Group `[NAME=]DIR` specs into domains (NAME defaults to the directory's name)."""
    domains: dict[str, DomainInput] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        directory = Path(path if sep else spec)
        name = name if sep else directory.resolve().name
        if not name:
            raise ValueError(f"--in {spec!r}: empty domain name")
        if not directory.is_dir():
            raise ValueError(f"--in {spec!r}: {directory} is not a directory")
        if not list_shards(directory):
            raise ValueError(f"--in {spec!r}: {directory} holds no Parquet document shards")
        domains.setdefault(name, DomainInput(name, [])).dirs.append(directory)
    if not domains:
        raise ValueError("give at least one input directory (--in)")
    return list(domains.values())


def utf8_digests(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """xxh64 of each string's UTF-8 bytes, read from the Arrow buffers without decoding."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks else pa.array([], pa.large_string())
    offset_type = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    _, offsets_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offsets_buffer, offset_type)[texts.offset: texts.offset + len(texts) + 1]
    data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
    starts, ends = offsets[:-1].tolist(), offsets[1:].tolist()
    return np.fromiter((xxhash.xxh64_intdigest(data[s:e]) for s, e in zip(starts, ends)),
                       dtype=np.uint64, count=len(texts))


def heldout_mask(digests: np.ndarray, heldout_per_mille: int) -> np.ndarray:
    """True for documents held out of tokenizer training (see the module docstring)."""
    return (digests % np.uint64(1000)) < np.uint64(heldout_per_mille)


def _unit_uniform(digests: np.ndarray) -> np.ndarray:
    """A uniform [0, 1) value per digest from bits the held-out test does not use."""
    return (digests >> np.uint64(64 - _UNIFORM_BITS)).astype(np.float64) / float(1 << _UNIFORM_BITS)


def _cut_line(line: str, max_bytes: int) -> list[str]:
    data = line.encode("utf-8")
    pieces, start = [], 0
    while start < len(data):
        end = min(start + max_bytes, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # back off to a character boundary
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start = end
    return pieces


def split_sentences(text: str, max_bytes: int) -> list[str]:
    """Paragraphs of `text`, cut at line then character boundaries to at most `max_bytes` each."""
    sentences = []
    for paragraph in _PARAGRAPH_END.split(text):
        if len(paragraph) * 4 <= max_bytes or len(paragraph.encode("utf-8")) <= max_bytes:
            sentences.append(paragraph)
            continue
        current, current_bytes = [], 0
        for line in paragraph.splitlines(keepends=True):
            size = len(line.encode("utf-8"))
            if current and current_bytes + size > max_bytes:
                sentences.append("".join(current))
                current, current_bytes = [], 0
            if size > max_bytes:
                sentences.extend(_cut_line(line, max_bytes))
            else:
                current.append(line)
                current_bytes += size
        if current:
            sentences.append("".join(current))
    return [s for s in sentences if s]


def estimate_text_bytes(directory: Path) -> int:
    """Uncompressed size of the `text` column from the Parquet footers (no data read)."""
    total = 0
    for path in list_shards(directory):
        metadata = pq.ParquetFile(path).metadata
        for rg in range(metadata.num_row_groups):
            row_group = metadata.row_group(rg)
            for col in range(row_group.num_columns):
                if row_group.column(col).path_in_schema == "text":
                    total += row_group.column(col).total_uncompressed_size
    return total


def sampling_order(available_bytes: dict[str, float], weights: dict[str, float]) -> list[str]:
    """Domains by available text per unit weight, shortest first (zero weights last): sampling them in
    this order, each taking its weight's share of what the cap has left, water-fills the cap."""
    return sorted(available_bytes, key=lambda n: (weights[n] <= 0, available_bytes[n] / max(weights[n], 1e-300), n))


def domain_weights(domains: Sequence[DomainInput], weights: dict[str, float]) -> dict[str, float]:
    """The configured weights of the input domains (every input domain must have one)."""
    if not weights:
        return {d.name: 1.0 for d in domains}  # natural distribution: shares follow the text
    missing = [d.name for d in domains if d.name not in weights]
    if missing:
        raise ValueError(f"input domain {missing[0]!r} has no weight in sample.domain_weights "
                         f"(weights for: {', '.join(sorted(weights))}); name inputs NAME=DIR")
    return {d.name: float(weights[d.name]) for d in domains}


class _SmallestKeys:
    """The sentences of smallest key whose UTF-8 bytes fit a budget (a bounded max-heap)."""

    def __init__(self, budget_bytes: int):
        self.budget_bytes = budget_bytes
        self.num_bytes = 0
        self.heap: list[tuple[float, int, bytes]] = []  # (-key, document number, sentence)

    def offer(self, key: float, doc: int, sentence: bytes) -> None:
        if self.num_bytes >= self.budget_bytes and (not self.heap or key >= -self.heap[0][0]):
            return
        heapq.heappush(self.heap, (-key, doc, sentence))
        self.num_bytes += len(sentence)
        while self.num_bytes > self.budget_bytes:
            self.num_bytes -= len(heapq.heappop(self.heap)[2])

    def sentences(self) -> tuple[pa.Array, int]:
        """The kept sentences in key order, as one Arrow string array, and how many documents gave them."""
        ordered = sorted(self.heap, reverse=True)
        docs = len({doc for _, doc, _ in ordered})
        array = pa.array([s for _, _, s in ordered], pa.large_binary()).cast(pa.large_string())
        self.heap = []
        return array, docs


def build_sample(domains: Sequence[DomainInput], config: SampleConfig, num_heldout_sentences: int = 0,
                 log: Callable[[str], None] = lambda message: None) -> TrainingSample:
    """Sample training sentences from the domains' documents within the byte cap."""
    sample = TrainingSample()
    heldout_fraction = config.heldout_per_mille / 1000
    available = {d.name: int(sum(estimate_text_bytes(p) for p in d.dirs) * (1 - heldout_fraction))
                 for d in domains}
    weights = domain_weights(domains, config.domain_weights)
    if not config.domain_weights:
        weights = {name: float(available[name]) for name in weights}
    heldout_per_domain = num_heldout_sentences // max(1, len(domains))
    sample.domains = {d.name: DomainSample(available[d.name]) for d in domains}
    by_name = {d.name: d for d in domains}
    cap_left, weight_left = config.max_sample_bytes, sum(weights.values())
    for name in sampling_order(available, weights):
        domain, stats = by_name[name], sample.domains[name]
        stats.budget_bytes = int(cap_left * weights[name] / weight_left) if weights[name] > 0 else 0
        rate = min(1.0, stats.budget_bytes / stats.available_bytes) if stats.available_bytes else 1.0
        doc_rate = min(1.0, DOC_OVERSAMPLING * rate)
        kept = _SmallestKeys(stats.budget_bytes)
        heldout_left = heldout_per_domain
        for directory in domain.dirs:
            for table in read_documents(directory, columns=["text"]):
                texts = table.column("text")
                digests = utf8_digests(texts)
                heldout = heldout_mask(digests, config.heldout_per_mille)
                first_doc = stats.num_docs
                stats.num_docs += len(digests)
                stats.num_docs_heldout += int(heldout.sum())
                for i in np.flatnonzero(heldout)[:max(0, heldout_left)].tolist():
                    taken = split_sentences(texts[i].as_py(), config.max_sentence_bytes)[:heldout_left]
                    sample.heldout_sentences.extend(taken)
                    heldout_left -= len(taken)
                candidates = ~heldout & (_unit_uniform(digests) < doc_rate) if stats.budget_bytes else []
                for i in np.flatnonzero(candidates).tolist():
                    sentences = split_sentences(texts[i].as_py(), config.max_sentence_bytes)
                    keys = np.random.default_rng([config.seed, int(digests[i])]).random(len(sentences)).tolist()
                    for key, sentence in zip(keys, sentences):
                        kept.offer(key, first_doc + i, sentence.encode("utf-8"))
        chunk, stats.num_docs_sampled = kept.sentences()
        stats.sample_bytes, stats.num_sentences = kept.num_bytes, len(chunk)
        cap_left -= stats.sample_bytes
        weight_left -= weights[name]
        if len(chunk):
            sample.chunks.append(chunk)
        log(f"sample: {domain.name}: {stats.sample_bytes / 1e6:.1f} MB in {stats.num_sentences:,} sentences "
            f"from {stats.num_docs_sampled:,} of {stats.num_docs:,} documents "
            f"({stats.num_docs_heldout:,} held out; budget {stats.budget_bytes / 1e6:.1f} MB)")
    if sample.num_sentences == 0:
        raise ValueError("the inputs gave no training text (empty directories or all documents held out)")
    return sample
