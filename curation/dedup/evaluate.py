"""Dedup accuracy against ground truth: pair precision, recall and F1 of the clusters a real job writes.

A pair of documents is positive when both are in the same ground-truth cluster and predicted when
the job put them in the same cluster (a duplicate and its survivor, or two duplicates of one
survivor). Counting goes through the contingency table of (true label, predicted cluster), so it
is linear in documents however large the clusters. Ground truths: bib_dedupe (real bibliographic
records with curated duplicate clusters) and the planted sets of `planted`.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.dedup.job import DUPLICATES_DIR, KEPT_DIR, run_dedup
from curation.dedup.planted import build_planted_set, copy_jaccard
from curation.dedup.settings import DedupConfig
from curation.documents import documents_table, read_documents, write_shard
from curation.parallel import Executor, SerialExecutor

BIB_DATASETS = ("cytology_screening", "digital_work", "haematology", "respiratory", "stroke", "special_cases")
# the record as text, one field a line; `number` is left out: in some datasets it is a running record
# number (duplicates differ in it by one), not the issue
BIB_FIELDS = ("title", "author", "year", "journal", "volume", "pages")


@dataclass
class PairScores:
    """Pair-counting precision, recall and F1 of predicted clusters against true ones."""

    name: str
    num_docs: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    notes: dict = field(default_factory=dict)  # e.g. how similar the planted copies are

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return asdict(self) | {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                               "f1": round(self.f1, 4)}

    def line(self) -> str:
        notes = "".join(f", {k} {v}" for k, v in self.notes.items())
        return (f"{self.name}: precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
                f"({self.true_positive_pairs}/{self.predicted_pairs} predicted, {self.true_pairs} true pairs, "
                f"{self.num_docs} docs{notes})")


def _pairs(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def pair_scores(name: str, true_labels, predicted_labels) -> PairScores:
    """Pair precision/recall/F1 of two labelings of the same documents (any hashable labels)."""
    true_codes = np.unique(np.asarray(true_labels, dtype=object).astype(str), return_inverse=True)[1]
    pred_codes = np.unique(np.asarray(predicted_labels, dtype=object).astype(str), return_inverse=True)[1]
    cells = true_codes.astype(np.int64) * (pred_codes.max(initial=0) + 1) + pred_codes
    return PairScores(name, len(true_codes), _pairs(np.bincount(true_codes)), _pairs(np.bincount(pred_codes)),
                      _pairs(np.unique(cells, return_counts=True)[1]))


def predicted_clusters(out_dir: Path) -> dict[tuple[str, str], str]:
    """(source, id) -> predicted cluster label, from a finished job's kept and duplicate shards."""
    labels: dict[tuple[str, str], str] = {}
    for table in read_documents_tree(out_dir / KEPT_DIR, ["id", "source", "dup_cluster"]):
        own = pc.binary_join_element_wise(table.column("source"), table.column("id"), "\x00")
        label = pc.coalesce(pc.cast(table.column("dup_cluster"), pa.string()), own)
        labels.update(zip(zip(table.column("source").to_pylist(), table.column("id").to_pylist()), label.to_pylist()))
    for table in read_documents_tree(out_dir / DUPLICATES_DIR, ["id", "source", "cluster_id"]):
        label = pc.cast(table.column("cluster_id"), pa.string())
        labels.update(zip(zip(table.column("source").to_pylist(), table.column("id").to_pylist()), label.to_pylist()))
    return labels


def read_documents_tree(directory: Path, columns: list[str]):
    """Tables of every per-source subdirectory of a kept/ or duplicates/ directory."""
    for sub in sorted(p for p in Path(directory).glob("*") if p.is_dir()):
        yield from read_documents(sub, columns)


def score_job(name: str, ids: list[str], texts: list[str], labels: list[str], lang: str | None,
              config: DedupConfig, executor: Executor | None = None, work_dir: Path | None = None) -> PairScores:
    """Write the documents as one input, run the real dedup job, and score its clusters."""
    executor = executor or SerialExecutor()
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        source = f"eval_{name}".replace("/", "_")
        write_shard(documents_table(ids, texts, source, langs=[lang] * len(ids)),
                    Path(tmp) / "in" / "part-00000.parquet")
        run_dedup([Path(tmp) / "in"], Path(tmp) / "out", config, executor)
        predicted = predicted_clusters(Path(tmp) / "out")
    return pair_scores(name, labels, [predicted[(source, i)] for i in ids])


def evaluate_planted(corpora_dir: str | Path, config: DedupConfig, num_bases: int = 300, seed: int = 0,
                     langs: tuple[str, ...] = ("zh", "en", "code"), executor: Executor | None = None
                     ) -> list[PairScores]:
    """Scores on a planted set per language."""
    scores = []
    for lang in langs:
        planted = build_planted_set(corpora_dir, lang, num_bases, seed)
        score = score_job(f"planted_{lang}", planted.ids, planted.texts, planted.labels, lang, config, executor)
        jaccard = copy_jaccard(planted)
        score.notes = {"copy_jaccard_p10": round(float(np.percentile(jaccard, 10)), 3),
                       "copy_jaccard_median": round(float(np.median(jaccard)), 3),
                       "copies_below_threshold": round(float((jaccard < config.threshold).mean()), 3)}
        scores.append(score)
    return scores


def load_bib_dataset(directory: Path) -> tuple[list[str], list[str], list[str]]:
    """(ids, texts, true cluster labels) of one bib_dedupe dataset."""
    with open(directory / "records_pre_merged.csv", encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    label = {r["ID"]: r["ID"] for r in records}
    with open(directory / "merged_record_ids.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            members = [m for m in row["merged_ids"].split(";") if m in label]
            for m in members:
                label[m] = members[0]
    texts = ["\n".join(r[k] for k in BIB_FIELDS if r.get(k)) for r in records]
    return [r["ID"] for r in records], texts, [label[r["ID"]] for r in records]


def evaluate_bib(corpora_dir: str | Path, config: DedupConfig, executor: Executor | None = None
                 ) -> list[PairScores]:
    """Scores on every bib_dedupe dataset, and on all of them pooled."""
    root = Path(corpora_dir) / "dedup_labelled" / "bib_dedupe"
    scores = []
    for name in BIB_DATASETS:
        if not (root / name).is_dir():
            continue
        ids, texts, labels = load_bib_dataset(root / name)
        score = score_job(f"bib_{name}", ids, texts, labels, "en", config, executor)
        scores.append(score)
    if scores:  # clusters never span datasets, so pooled pair counts are sums
        pooled = PairScores("bib_all", sum(s.num_docs for s in scores), sum(s.true_pairs for s in scores),
                            sum(s.predicted_pairs for s in scores), sum(s.true_positive_pairs for s in scores))
        scores.append(pooled)
    return scores
