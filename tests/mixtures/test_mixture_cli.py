"""`curate build-mixture`: --plan, one-line errors, a Dask build equal to the serial one, skip on rerun."""

from __future__ import annotations

import copy

import pytest
from mixture_corpora import write_recipe

import pipelines.cli as cli
from curation.documents import file_sha256
from mixtures.shards import list_sequence_shards
from pipelines.commands import mixture


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """Register the command if pipelines.cli does not list it yet."""
    if mixture not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, mixture))


def _run(tmp_path, *argv):
    return cli.main(["build-mixture", *argv, "--catalog", str(tmp_path / "catalog.duckdb")])


def test_plan_prints_tokens_and_epochs_and_builds_nothing(tmp_path, base_recipe, capsys):
    recipe = write_recipe(tmp_path / "recipe.yaml", base_recipe)
    assert _run(tmp_path, "--stage", "decay", "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--plan") == 0
    printed = capsys.readouterr().out
    assert "sft_zh" in printed and "epochs" in printed and "1,167 rows of 257" in printed
    assert not (tmp_path / "out").exists()


def test_bad_input_is_one_line_and_exit_2(tmp_path, base_recipe, capsys):
    recipe = write_recipe(tmp_path / "recipe.yaml", base_recipe)
    assert _run(tmp_path, "--stage", "stable", "--recipe", str(recipe), "--out", str(tmp_path / "o")) == 2
    assert "is a decay-stage recipe, but --stage is stable" in capsys.readouterr().err
    small = copy.deepcopy(base_recipe)
    small["sources"]["redpajama"]["weight"] = 5.0  # ~1.15 epochs of redpajama
    small["max_epochs"] = 1
    recipe = write_recipe(tmp_path / "small.yaml", small)
    assert _run(tmp_path, "--stage", "decay", "--recipe", str(recipe), "--plan") == 2
    err = capsys.readouterr().err
    assert err.startswith("curate: error: ") and "source 'redpajama' needs" in err and len(err.splitlines()) == 1


def test_cli_build_on_dask_matches_serial_build_and_skips_on_rerun(tmp_path, base_recipe, serial_build, capsys):
    recipe = write_recipe(tmp_path / "recipe.yaml", base_recipe)
    argv = ["--stage", "decay", "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--workers", "1"]
    assert _run(tmp_path, *argv) == 0
    printed = capsys.readouterr().out
    assert "sft_zh" in printed and "realized" in printed
    serial = {p.name: file_sha256(p) for p in list_sequence_shards(serial_build[0])}
    assert {p.name: file_sha256(p) for p in list_sequence_shards(tmp_path / "out")} == serial
    assert _run(tmp_path, *argv) == 0
    assert "nothing to do" in capsys.readouterr().err
