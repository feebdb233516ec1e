"""`curate tokenizer train|report` end to end: outputs, skip on rerun, catalog, one-line errors."""

from __future__ import annotations

import json

import pytest

from pipelines.catalog import Catalog
from pipelines.cli import main


@pytest.fixture(scope="module")
def cli_run(domain_dirs, tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    argv = ["tokenizer", "train", "--in", *[f"{n}={p}" for n, p in domain_dirs.items()], "--preset", "70k",
            "--vocab-size", "16000", "--max-sample-mb", "1", "--num-threads", "1", "--out", str(root / "tok"),
            "--catalog", str(root / "catalog.duckdb")]
    assert main(argv) == 0
    return root, argv


def test_train_writes_a_complete_directory(cli_run, capsys):
    root, argv = cli_run
    report = json.loads((root / "tok" / "train_report.json").read_text())
    assert report["vocab_size"] == 16_000 and report["sample"]["num_bytes"] <= 1_000_000
    assert json.loads((root / "tok" / "manifest.json").read_text())["stage"] == "tokenizer_train"
    assert main(argv) == 0  # rerun: complete, skipped
    assert "nothing to do" in capsys.readouterr().err
    with Catalog(root / "catalog.duckdb") as catalog:
        _, rows = catalog.query("SELECT skipped, num_out FROM stages WHERE stage = 'tokenizer_train' "
                                "ORDER BY recorded_at")
        _, [counts] = catalog.query("SELECT count(*) FROM counts WHERE stage = 'tokenizer_train'")
    assert rows == [(False, 16_000), (True, 16_000)]
    assert counts[0] > 0


def test_report_on_our_tokenizer_and_a_baseline(cli_run, corpora, domain_dirs, capsys):
    root, _ = cli_run
    argv = ["tokenizer", "report", "--tokenizer", str(root / "tok"), "--baseline",
            str(corpora / "tokenizers/llama2_tokenizer.model"), "--eval",
            f"Chinese={corpora / 'zh_web/thucnews/thucnews.jsonl'}", f"Paper={domain_dirs['paper']}",
            "--max-eval-mb", "1", "--num-threads", "1", "--out", str(root / "report"),
            "--catalog", str(root / "catalog.duckdb")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "| Vocab Size | 16,000 | 32,000 |" in out
    report = json.loads((root / "report" / "report.json").read_text())
    assert list(report["tokenizers"]) == ["curate-70k", "llama2_tokenizer"]
    assert report["reference"] == "llama2_tokenizer"
    assert report["eval_sets"]["Paper"]["split"] == "heldout" and report["eval_sets"]["Paper"]["num_docs"] >= 1
    # trained on Chinese with a vocabulary of hanzi: beats Llama-2 there even at 16K pieces
    assert report["ratio_to_reference"]["curate-70k"]["Chinese"] > 1.3
    assert (root / "report" / "bytes_per_token.png").is_file()


@pytest.mark.parametrize("extra, message", [
    (["--config", "CONFIG"], "unknown key 'vocab'"),
    (["--in", "MISSING"], "is not a directory"),
    (["--vocab-size", "1000"], "leaves no room"),
])
def test_bad_input_is_one_line_and_exit_2(domain_dirs, tmp_path, capsys, extra, message):
    config = tmp_path / "bad.yaml"
    config.write_text("vocab: 100\n")
    extra = [str(config) if e == "CONFIG" else str(tmp_path / "missing") if e == "MISSING" else e for e in extra]
    argv = ["tokenizer", "train", "--in", f"zh={domain_dirs['zh']}", "--preset", "70k", "--out",
            str(tmp_path / "out"), "--catalog", str(tmp_path / "c.duckdb"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("curate: error:") and message in err[-1]
