"""`curate clean` and `curate clean train-classifier` from the command line."""

import duckdb
import pyarrow as pa
from clean_samples import jsonl_table, write_documents

from pipelines.cli import main


def test_clean_command_writes_kept_rejected_and_records_counts(tmp_path, capsys):
    documents = pa.concat_tables([jsonl_table("paper/redpajama_arxiv/arxiv.jsonl", "arxiv"),
                                  jsonl_table("paper/unarxive/unarxive-2212-fulltext.jsonl", "unarxive", limit=5)])
    in_dir = write_documents(documents, tmp_path / "in")
    catalog = str(tmp_path / "catalog.duckdb")
    args = ["clean", "--in", str(in_dir), "--out", str(tmp_path / "out"), "--config", "configs/clean/paper.yaml",
            "--workers", "1", "--catalog", catalog]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "clean (paper): 16 in, 12 kept, 4 rejected" in out and "near_empty" in out
    assert main(args) == 0  # complete: skipped
    with duckdb.connect(catalog, read_only=True) as con:
        rows = con.execute("SELECT source, name, sum(value) FROM counts WHERE stage = 'clean' "
                           "GROUP BY ALL ORDER BY ALL").fetchall()
        skipped = con.execute("SELECT skipped FROM stages WHERE stage = 'clean' ORDER BY recorded_at").fetchall()
    assert ("arxiv", "rejected:near_empty", 8) in rows  # recorded twice: the run and the skipped rerun
    assert skipped == [(False,), (True,)]


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["clean", "--in", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    assert "input directory not found" in capsys.readouterr().err
    config = tmp_path / "bad.yaml"
    config.write_text("chinese:\n  min_cjk_charz: 3\n")
    (tmp_path / "in").mkdir()
    assert main(["clean", "--in", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                 "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'chinese.min_cjk_charz'" in err and str(config) in err and "Traceback" not in err


def test_train_classifier_command(tmp_path, capsys):
    positive = write_documents(jsonl_table("en_wiki/wikitext2_tokens_valid.jsonl", "wiki"), tmp_path / "pos")
    negative = write_documents(jsonl_table("en_web/dolma/multiple_files__cc_en_head-0091.jsonl", "dolma"),
                               tmp_path / "neg")
    model = tmp_path / "quality.bin"
    assert main(["clean", "train-classifier", "--positive", str(positive), "--negative", str(negative),
                 "--out", str(model), "--chunk-chars", "500"]) == 0
    assert model.stat().st_size > 0 and "examples per class" in capsys.readouterr().out
