"""Experiment fixtures: the tiny corpus prepared and the tiny experiment run once per session."""

from __future__ import annotations

import pytest
import torch
from experiment_samples import write_corpus, write_experiment

from curation.parallel import SerialExecutor
from pipelines.catalog import Catalog
from pipelines.experiment import Experiment
from pipelines.experiment_config import load_experiment


@pytest.fixture(scope="session")
def tiny_run(corpora, tmp_path_factory) -> dict:
    """The tiny experiment after one full run: its config path, Experiment, results and catalog."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("experiment")
    config_path = write_experiment(root, write_corpus(root, corpora))
    experiment = Experiment(load_experiment(config_path))
    with Catalog(root / "catalog.duckdb") as catalog:
        run_id = catalog.start_run("experiment", {})
        experiment.prepare(SerialExecutor(), catalog, run_id)
        results = experiment.run(catalog, run_id)
    return {"root": root, "config": config_path, "experiment": experiment, "results": results,
            "catalog": root / "catalog.duckdb", "run_id": run_id}
