"""The whole chain as one idempotent job, and its run report: one self-contained HTML file that
renders, with its charts, in headless Chromium."""

import json
import subprocess
from pathlib import Path

import pytest

from curation.parallel import SerialExecutor
from pipelines.pipeline import load_pipeline, plan_pipeline, run_pipeline
from tests.conftest import debian_tool
from tests.pipelines.chain import SOURCES, write_chain

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chain_run(tmp_path_factory, corpora):
    directory = tmp_path_factory.mktemp("chain")
    config = load_pipeline(write_chain(directory, corpora))
    return config, run_pipeline(config, SerialExecutor(), None, "r1")


def test_every_stage_ran_and_every_document_is_accounted_for(chain_run):
    config, result = chain_run
    rows = {(r["stage"], r["source"]): r for r in result["rows"]}
    assert [s for s, _ in rows] == ["ingest"] * 3 + ["clean"] * 3 + ["dedup"] + ["tokenizer"] * 2 + \
        ["mixture"] * 2 + ["train"]
    for name in SOURCES:
        ingest, clean = rows["ingest", name], rows["clean", name]
        assert ingest["docs_in"] == ingest["docs_out"] + ingest["removed"]
        assert clean["docs_in"] == ingest["docs_out"] == clean["docs_out"] + clean["removed"]
    dedup = rows["dedup", "all"]
    assert dedup["docs_in"] == sum(rows["clean", n]["docs_out"] for n in SOURCES)
    assert dedup["docs_in"] == dedup["docs_out"] + dedup["removed"]
    stable = json.loads((Path(config.work_dir) / "mixture/stable/manifest.json").read_text())
    assert stable["num_tokens"] == stable["num_rows"] * 129 and abs(stable["num_tokens"] - 60000) < 129
    assert stable["vocab_size"] == 16000
    assert abs(stable["sources"]["news"]["realized_share"] - 0.5) < 1e-3
    assert "loss" in rows["train", "model"]["summary"]


def test_report_has_every_section_and_renders_its_charts(chain_run, tmp_path):
    _, result = chain_run
    page = open(result["report"], encoding="utf-8").read()
    assert "http://" not in page.split("<body>")[0] and "<script src" not in page and "<link" not in page
    assert "skipped:not_html" in page and "skipped:http_status_404" in page  # ingest removal reasons
    for heading in ("Clean: why documents were removed", "<h2>Dedup</h2>", "Cross-corpus", "Table 9",
                    "Stable mixture", "Decay mixture", "Training loss", "Llama-2"):
        assert heading in page, heading
    chromium = debian_tool("chromium", "chromium")
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          f"file://{result['report']}"], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-500:]
    assert dom.stdout.count('<svg class="chart"') >= 10 and dom.stdout.count("<polyline") >= 2
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=1200,1600",
                    f"--screenshot={shot}", f"file://{result['report']}"], capture_output=True, timeout=120)
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colours = {image.getpixel((x, y)) for x in range(0, image.width, 7) for y in range(0, image.height, 7)}
    assert (0x4E, 0x79, 0xA7) in colours  # the charts' first bar colour was painted


def test_a_finished_pipeline_reruns_as_a_no_op_and_says_so(chain_run):
    config, _ = chain_run
    assert {status.split(":")[0] for *_, status in plan_pipeline(config)} == {"skip"}
    again = run_pipeline(config, SerialExecutor(), None, "r2")
    assert all(r["skipped"] for r in again["rows"])


def test_a_changed_config_reruns_that_stage_and_what_depends_on_it(chain_run, tmp_path):
    config, _ = chain_run
    from dataclasses import replace

    changed = replace(config, dedup=replace(config.dedup, threshold=0.7))
    plan = {(stage, name): status.split(":")[0] for stage, name, _, status in plan_pipeline(changed)}
    assert plan["dedup", "all"] == "rerun"
    assert plan["clean", "news"] == "skip" and plan["ingest", "code"] == "skip"
    assert plan["tokenizer", "model"] == plan["train", "model"] == "maybe"  # only if dedup's output changes
