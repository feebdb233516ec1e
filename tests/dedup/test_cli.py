"""`curate dedup` and `curate dedup eval` at the command line: one-line errors, eval scores."""

import json
import subprocess
import sys
from pathlib import Path

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_bad_input_and_unknown_config_key_are_one_line_errors_with_exit_2(tmp_path, wiki_dirs, capsys):
    missing = subprocess.run([sys.executable, "-m", "pipelines.cli", "dedup", "--in", str(tmp_path / "nope"),
                              "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"curate: error: --in {tmp_path / 'nope'}: not a directory"]
    assert not (tmp_path / "out").exists()
    config = tmp_path / "bad.yaml"
    config.write_text("threshold: 0.8\nnum_perms: 128\n")
    assert main(["dedup", "--in", str(wiki_dirs[0]), "--out", str(tmp_path / "out"), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"curate: error: {config}: unknown key 'num_perms' (known: bands, ") and err.count("\n") == 1
    assert main(["dedup", "--out", str(tmp_path / "out")]) == 2
    assert "needs --in DIR" in capsys.readouterr().err


def test_eval_prints_and_writes_scores(tmp_path, capsys):
    out = tmp_path / "scores.json"
    assert main(["dedup", "eval", "--no-bib", "--langs", "en", "--num-docs", "60", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "LSH 21 bands x 12 rows of 256" in printed and "planted_en: precision" in printed
    scores = json.loads(out.read_text())
    (planted,) = scores["scores"]
    assert planted["name"] == "planted_en" and planted["true_pairs"] > 20 and planted["f1"] > 0.9
    assert set(scores["lsh"]["s_curve"]) == {"0.50", "0.70", "0.80", "0.85", "0.90"}
