"""The run report is one self-contained HTML file that renders, with its charts, in headless Chromium."""

import json
import subprocess

from curation.parallel import SerialExecutor
from pipelines.commands.options import run_with_cluster  # noqa: F401 (the CLI path the report comes from)
from pipelines.pipeline import load_pipeline, run_pipeline
from tests.conftest import debian_tool

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _pipeline(tmp_path, corpora):
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps({"name": "tiny", "work_dir": str(tmp_path / "work"), "corpora_dir": str(corpora),
                                "sources": {"arc": {"paths": ["en_web/arc"]}, "news": {"paths": ["zh_web/thucnews"]}}}))
    return load_pipeline(path)


def test_report_is_self_contained_and_renders_its_charts(tmp_path, corpora):
    result = run_pipeline(_pipeline(tmp_path, corpora), SerialExecutor(), None, "r1")
    page = open(result["report"], encoding="utf-8").read()
    assert "http://" not in page.split("<body>")[0] and "<script src" not in page and "<link" not in page
    assert "not_html:application/pdf" in page and "http_status_404" in page  # the removal reasons
    chromium = debian_tool("chromium", "chromium")
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          f"file://{result['report']}"], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-500:]
    assert dom.stdout.count('<svg class="chart"') == 2 and dom.stdout.count("<rect") > 4
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=1200,1600",
                    f"--screenshot={shot}", f"file://{result['report']}"], capture_output=True, timeout=120)
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colours = {image.getpixel((x, y)) for x in range(0, image.width, 7) for y in range(0, image.height, 7)}
    assert (0x4E, 0x79, 0xA7) in colours  # the charts' first bar colour was painted
