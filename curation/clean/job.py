"""The clean job: one task per input shard, each writing a kept/ and a rejected/ shard.

clean_batch is the stage as a function Table -> Table: extract main text from HTML rows,
normalize, identify the language, annotate and decide with each rule set of the profile, mask PII,
score with the quality classifier, and set `reject_reason` (null = kept) to the first failure.
Edits that only make sense for kept documents (boilerplate and C4 line removal, PII masks) reach
only kept rows: a rejected row carries its text as it was before those edits, so it can be
audited and thresholds retuned from rejected/ alone.
clean_shard runs it over one input shard in batches of `rows_per_batch` rows (memory is bounded
by that, not by the corpus), splits the rows, and leaves a completion marker so an interrupted
job resumes shard by shard. clean_directory maps clean_shard over a directory with the executor
it is handed and writes the manifest: shard infos, counts per source and reason, the profile.
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from curation.clean import chinese, classifier, code, paper, reference
from curation.clean.decision import combine_reasons, merge_counts, reason_counts
from curation.clean.extract import extract_column
from curation.clean.langid import language_reasons, predict_languages
from curation.clean.metadata import is_html
from curation.clean.normalize import normalize_texts
from curation.clean.pii import mask_pii
from curation.clean.profile import CleanProfile, english_module, english_rules, profile_from_dict
from curation.config import to_dict
from curation.documents import (
    CORE_COLUMNS,
    done_marker,
    finish_task,
    finished_task,
    list_shards,
    read_shard,
    write_manifest,
    write_shard,
)
from curation.parallel import Executor

KEPT_DIR = "kept"
REJECTED_DIR = "rejected"
OUTPUTS = {"clean_kept": f"{KEPT_DIR}/*.parquet", "clean_rejected": f"{REJECTED_DIR}/*.parquet"}


def _rule_sets(profile: CleanProfile) -> list[tuple[object, object]]:
    """(module, rules) for each rule set the profile names, in a fixed order."""
    sets = []
    if profile.chinese is not None:
        sets.append((chinese, profile.chinese))
    if profile.english is not None:
        sets.append((english_module(), english_rules(profile)))
    if profile.code is not None:
        sets.append((code, profile.code))
    if profile.paper is not None:
        sets.append((paper, profile.paper))
    if profile.reference is not None:
        sets.append((reference, profile.reference))
    return sets


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def clean_batch(table: pa.Table, profile: CleanProfile) -> pa.Table:
    """Annotate and decide one batch of documents; returns core columns + annotations + reject_reason."""
    n = table.num_rows
    raw = _column(table, "text")
    html = is_html(_column(table, "meta"))
    texts = extract_column(raw, html, profile.extractor) if pc.any(html).as_py() else raw
    texts = normalize_texts(texts, profile.repair_mojibake)
    empty = pc.equal(pc.utf8_length(texts), 0)
    # The text a rejected row keeps. Extraction and normalization stay applied: they make the
    # document what every rule measured (its quality_* scores describe that text, not the raw
    # page), normalization only repairs encoding and whitespace, and the raw page is still in
    # the input directory under the same id. A page whose extraction came out empty keeps the
    # page as ingested instead, since an empty text would show nothing of why. Later edits (line
    # removal, PII masks) are applied for the kept rows only, below.
    before_edits = pc.if_else(pc.and_(empty, html), raw.cast(pa.large_string()), texts)
    stages = [pc.if_else(empty, pc.if_else(html, "extraction_empty", "empty"), pa.scalar(None, pa.string()))]
    lang = _column(table, "lang")
    extra: dict[str, pa.Array] = {}
    if profile.langid.enabled:
        lang, extra["lang_score"] = predict_languages(texts, profile.langid.max_chars)
        stages.append(language_reasons(lang, extra["lang_score"], profile.langid))
    for module, rules in _rule_sets(profile):
        annotations = module.annotate(texts, rules)
        texts = _column(annotations, "text")
        scores = {name: _column(annotations, name) for name in annotations.column_names if name != "text"}
        clash = sorted(set(scores) & set(extra))
        if clash:
            raise ValueError(f"profile {profile.name!r} combines rule sets that both write {clash[0]!r}")
        extra.update(scores)
        context = {"id": _column(table, "id"), "source": _column(table, "source"),
                   "url": _column(table, "url"), "lang": lang, "meta": _column(table, "meta")}
        stages.append(module.decide(pa.table(context | scores), rules))
    if profile.pii.enabled and profile.pii.kinds:
        texts, pii_counts = mask_pii(texts, profile.pii)
        extra.update(pii_counts)
    if profile.classifier is not None:
        score = classifier.score_texts(texts, profile.classifier.model_path, profile.classifier.max_chars)
        extra["quality_classifier_score"] = score
        low = pc.less(score, pa.scalar(profile.classifier.min_score, pa.float32()))
        stages.append(pc.if_else(low, "classifier_low_score", pa.scalar(None, pa.string())))
    reasons = combine_reasons(stages, n)
    # Rules decide on the edited text (FineWeb sees C4's lines, the classifier the masked text);
    # a rejected row goes out as it was before them. pii_* columns stay for every row: on a rejected
    # row they count what masking would replace if a retuned threshold let the row through.
    texts = pc.if_else(pc.is_valid(reasons), before_edits, texts.cast(pa.large_string()))
    core = {"id": _column(table, "id"), "text": texts,
            "source": _column(table, "source"), "url": _column(table, "url"),
            "lang": lang.cast(pa.string()), "meta": _column(table, "meta")}
    columns = {name: core[name] for name in CORE_COLUMNS} | extra
    columns["reject_reason"] = reasons
    return pa.table(columns)


def _pii_totals(table: pa.Table) -> dict[str, dict[str, int]]:
    """{source: {"pii:<kind>": masked count}} over a cleaned table: kept rows only, since rejected
    rows are written unmasked (every source appears, with zeros where nothing was masked)."""
    names = [c for c in table.column_names if c.startswith("pii_")]
    if not names or table.num_rows == 0:
        return {}
    kept = pc.is_null(table.column("reject_reason"))
    masked = pa.table({"source": table.column("source")} | {
        c: pc.if_else(kept, table.column(c), pa.scalar(0, table.schema.field(c).type)) for c in names})
    grouped = masked.group_by("source").aggregate([(c, "sum") for c in names])
    totals: dict[str, dict[str, int]] = {}
    for row in grouped.to_pylist():
        totals[row["source"]] = {f"pii:{c[len('pii_'):]}": int(row[f"{c}_sum"] or 0) for c in names}
    return totals


def clean_shard(task: dict) -> dict:
    """Clean one input shard into kept/ and rejected/ shards of the same name (resumable)."""
    in_path, out_dir = Path(task["in_path"]), Path(task["out_dir"])
    kept_path = out_dir / KEPT_DIR / in_path.name
    rejected_path = out_dir / REJECTED_DIR / in_path.name
    marker = done_marker(kept_path)
    done = finished_task(marker)
    if done is not None:
        return done
    started = time.perf_counter()
    profile = profile_from_dict(task["profile"])
    documents = read_shard(in_path)
    batches = [clean_batch(documents.slice(start, profile.rows_per_batch), profile)
               for start in range(0, documents.num_rows, profile.rows_per_batch)]
    cleaned = pa.concat_tables(batches) if batches else clean_batch(documents, profile)
    rejected_mask = pc.is_valid(cleaned.column("reject_reason"))
    kept = cleaned.filter(pc.invert(rejected_mask))
    kept_info = write_shard(kept, kept_path) | {"dir": KEPT_DIR}
    rejected_info = write_shard(cleaned.filter(rejected_mask), rejected_path) | {"dir": REJECTED_DIR}
    counts = merge_counts([reason_counts(_column(cleaned, "source"), _column(cleaned, "reject_reason")),
                           _pii_totals(cleaned)])
    stats = {"input": in_path.name, "num_in": documents.num_rows, "num_kept": kept_info["num_rows"],
             "num_rejected": rejected_info["num_rows"], "shards": [kept_info, rejected_info],
             "counts": counts, "num_text_bytes_in": int(pc.sum(pc.binary_length(
                 documents.column("text"))).as_py() or 0),
             "seconds": round(time.perf_counter() - started, 3)}
    assert stats["num_kept"] + stats["num_rejected"] == stats["num_in"], "rows lost while cleaning"
    return finish_task(marker, stats)


def clean_directory(in_dir: str | Path, out_dir: str | Path, profile: CleanProfile,
                    executor: Executor) -> dict:
    """Clean every shard of a document directory into out_dir/kept and out_dir/rejected; write the manifest."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.is_dir():
        raise ValueError(f"{in_dir}: input is not a directory")
    shards = list_shards(in_dir)
    if not shards:
        raise ValueError(f"{in_dir}: no Parquet shards to clean (is it an ingest output directory?)")
    if profile.english is not None:
        english_rules(profile)  # fail here, in one line, rather than in every worker
    profile_data = to_dict(profile)
    tasks = [{"in_path": str(p.resolve()), "out_dir": str(out_dir.resolve()), "profile": profile_data}
             for p in shards]
    results = executor.map(clean_shard, tasks, label="clean")
    manifest = {
        "stage": "clean", "profile": profile.name, "input_dir": str(in_dir.resolve()),
        "num_in": sum(r["num_in"] for r in results), "num_out": sum(r["num_kept"] for r in results),
        "num_rejected": sum(r["num_rejected"] for r in results),
        "num_text_bytes_in": sum(r["num_text_bytes_in"] for r in results),
        "shards": [info for r in results for info in r["shards"]],
        "counts": merge_counts([r["counts"] for r in results]),
        "outputs": dict(OUTPUTS), "config": profile_data,
    }
    if manifest["num_out"] + manifest["num_rejected"] != manifest["num_in"]:
        raise AssertionError("clean lost documents: kept + rejected != input")
    write_manifest(out_dir, manifest)
    return manifest
