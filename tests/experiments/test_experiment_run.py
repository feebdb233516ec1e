"""The tiny experiment end to end: results shape, catalog, report, determinism, skip on rerun."""

from __future__ import annotations

import json

import duckdb
from experiment_samples import write_experiment

from pipelines.experiment import Experiment, per_variant, plan_runs
from pipelines.experiment_config import load_experiment

DOMAINS = {"zh", "en", "code", "papers", "instructions"}


def test_results_cover_every_variant_seed_and_domain(tiny_run):
    results = tiny_run["results"]
    assert results["trained"] == 6
    table = per_variant(results["runs"])
    assert set(table) == {"raw", "cleaned"}
    for variant in table.values():
        assert set(variant) == DOMAINS
        assert all(len(seeds) == 3 and all(0 < v < 20 for v in seeds) for seeds in variant.values())
    # One verdict per domain for the one comparison (cleaned vs raw), each a plain sentence.
    assert len(results["verdicts"]) == len(DOMAINS)
    assert all(v["a"] == "raw" and v["b"] == "cleaned" for v in results["verdicts"])
    assert all(("beats" in v["text"]) != ("no difference" in v["text"]) for v in results["verdicts"])
    # Seeds differ in initialisation and data order, so they do not give the same number.
    assert any(len(set(seeds)) == 3 for seeds in table["raw"].values())


def test_results_land_in_catalog_and_report(tiny_run):
    with duckdb.connect(str(tiny_run["catalog"]), read_only=True) as con:
        rows = con.execute("SELECT variant, seed, domain, bits_per_byte FROM experiment_results "
                           "WHERE experiment = 'tiny'").fetchall()
    assert len(rows) == 2 * 3 * len(DOMAINS)
    stored = {(v, s, d): b for v, s, d, b in rows}
    for run in tiny_run["results"]["runs"]:
        for domain, value in run["bits_per_byte"].items():
            assert stored[run["variant"], run["seed"], domain] == value
    page = (tiny_run["experiment"].dir / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "cleaned vs raw" in page and "seed" in page
    assert json.loads((tiny_run["experiment"].dir / "results.json").read_text())["experiment"] == "tiny"


def test_same_seed_gives_identical_bits_per_byte(tiny_run):
    """Another work directory, the same seed: a bit-identical evaluation."""
    (tiny_run["root"] / "again").mkdir()
    path = write_experiment(tiny_run["root"] / "again", tiny_run["config"].parent / "corpus.yaml")
    other = Experiment(load_experiment(path), work_dir=tiny_run["root"] / "again" / "work")
    other.corpus_manifest = tiny_run["experiment"].corpus_manifest
    other.data_dir = tiny_run["experiment"].data_dir  # the prepared corpus is shared
    run = next(r for r in plan_runs(other.exp) if r.variant == "raw" and r.seed == 1)
    manifest, skipped = other.train_run(run)
    assert not skipped
    first = next(r for r in tiny_run["results"]["runs"] if r["variant"] == "raw" and r["seed"] == 1)
    assert manifest["bits_per_byte"] == first["bits_per_byte"]


def test_rerun_skips_finished_runs(tiny_run):
    experiment = tiny_run["experiment"]
    logs = sorted(experiment.dir.glob("runs/*/seed-*/log.jsonl"))
    assert len(logs) == 6
    before = {p: p.stat().st_mtime_ns for p in logs}
    results = _rerun(tiny_run)
    assert results["trained"] == 0
    assert {p: p.stat().st_mtime_ns for p in logs} == before
    assert results["verdicts"] == tiny_run["results"]["verdicts"]


def _rerun(tiny_run) -> dict:
    from curation.parallel import SerialExecutor

    experiment = Experiment(load_experiment(tiny_run["config"]))
    experiment.prepare(SerialExecutor())  # complete: skipped
    return experiment.run()
