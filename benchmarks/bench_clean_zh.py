"""Chinese page cleaning, MB/s per core, and HTML extraction speed and accuracy, side by side.

Chinese pages: the CommonCrawl zh sample, THUCNews and SogouCS news, Chinese kernel docs (real
text, ~4.5 MB). Ours: `curation.clean.job.clean_batch` with configs/clean/cc_zh.yaml (normalize,
lid.176, Chinese rules, PII) and, alone, the Chinese rules (`chinese.annotate` + `decide`). Theirs:
what a datatrove 0.10 user runs on Chinese, one Document at a time: lid.176 on each document (as
datatrove's LanguageFilter does; its own filter would download the same model), GopherRepetition
and FineWebQuality with language zh, then PIIFormatter. Both on one core (Arrow's pool is one thread).
Unicode repair: our normalize_texts vs ftfy.fix_text per document (when ftfy is installed).
Extraction: trafilatura (our default) vs resiliparse on the 126 article_extraction pages, ms/page,
plus mean token F1 against the human ground truth next to the all-visible-text baseline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pyarrow as pa

from benchmarks.harness import SHARED, Comparison, throughput
from curation.clean import chinese
from curation.clean.extract import evaluate
from curation.clean.job import clean_batch
from curation.clean.langid import load_model
from curation.clean.normalize import normalize_texts
from curation.clean.profile import load_profile
from curation.documents import documents_table

ZH_FILES = [("zh_web/chinesewebtext/cc-2021-43-cleared1.jsonl", "raw_content"),
            ("zh_web/thucnews/thucnews.jsonl", "text"),
            ("zh_web/sogou/news_sohusite_smarty.jsonl", "text"),
            ("zh_bulk/linux_doc_zh_cn.jsonl", "text")]
PROFILE = Path(__file__).resolve().parents[1] / "configs" / "clean" / "cc_zh.yaml"


def chinese_pages() -> list[str]:
    texts = []
    for relpath, field in ZH_FILES:
        with open(SHARED / relpath, encoding="utf-8") as f:
            texts += [json.loads(line)[field] for line in f if line.strip()]
    return [t for t in texts if t]


def datatrove_zh(texts: list[str]) -> int:
    """datatrove's per-document chain on Chinese; returns how many documents it keeps."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherRepetitionFilter
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.utils.typeshelper import Languages

    model = load_model()
    steps = [GopherRepetitionFilter(language=Languages.chinese), FineWebQualityFilter(language=Languages.chinese)]
    pii = PIIFormatter()
    kept = 0
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        # the pybind call: fasttext-wheel's predict(str) breaks under numpy 2 (np.array(copy=False))
        (score, label), = model.f.predict(text.replace("\n", " "), 1, 0.0, "strict")
        if label != "__label__zh" or score < 0.5:
            continue
        if all(step.filter(doc) is True for step in steps):
            doc.text = pii.format(doc.text)
            kept += 1
    return kept


def datatrove_rules(texts: list[str]) -> int:
    from datatrove.data import Document
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherRepetitionFilter
    from datatrove.utils.typeshelper import Languages

    steps = [GopherRepetitionFilter(language=Languages.chinese), FineWebQualityFilter(language=Languages.chinese)]
    return sum(all(s.filter(Document(text=t, id=str(i))) is True for s in steps) for i, t in enumerate(texts))


def run(argv: list[str]) -> list[Comparison]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks clean_zh", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (best is kept)")
    parser.add_argument("--skip-extraction", action="store_true", help="only the Chinese page figures")
    args = parser.parse_args(argv)
    pa.set_cpu_count(1)
    texts = chinese_pages()
    num_bytes = sum(len(t.encode("utf-8")) for t in texts)
    table = documents_table([str(i) for i in range(len(texts))], texts, "zh_pages")
    column = table.column("text").combine_chunks()
    profile = load_profile(PROFILE)
    rules = profile.chinese
    clean_batch(table.slice(0, 20), profile)  # load lid.176, compile numba kernels
    note = f"{len(texts):,} docs, {num_bytes / 1e6:.1f} MB, 1 core"
    comparisons = [
        throughput("clean zh pages (normalize+langid+rules+PII)", num_bytes,
                   lambda: clean_batch(table, profile), lambda: datatrove_zh(texts),
                   "datatrove 0.10 (lid.176 + GopherRepetition + FineWebQuality zh + PIIFormatter)",
                   repeat=args.repeat, note=note),
        throughput("zh quality rules (annotate+decide)", num_bytes,
                   lambda: chinese.decide(chinese.annotate(column, rules), rules),
                   lambda: datatrove_rules(texts), "datatrove 0.10 GopherRepetition + FineWebQuality zh",
                   repeat=args.repeat, note=note),
    ]
    try:
        import ftfy
    except ImportError:
        print("ftfy not installed: unicode repair comparison skipped")
    else:
        comparisons.append(throughput("unicode normalization + mojibake repair", num_bytes,
                                      lambda: normalize_texts(column), lambda: [ftfy.fix_text(t) for t in texts],
                                      f"ftfy {ftfy.__version__} fix_text", repeat=args.repeat, note=note))
    if not args.skip_extraction:
        scores = evaluate(SHARED / "en_web" / "article_extraction")
        ours, resiliparse, baseline = scores["trafilatura"], scores["resiliparse"], scores["fulltext"]
        comparisons += [
            Comparison("HTML extraction time (126 article pages)", "ms/page", ours["ms_per_page"],
                       resiliparse["ms_per_page"], "resiliparse main_content", higher_is_better=False,
                       note="ours = trafilatura, favor_precision"),
            Comparison("extraction token F1 vs ground truth", "F1", ours["f1"], resiliparse["f1"],
                       "resiliparse main_content",
                       note=f"P {ours['precision']:.3f} R {ours['recall']:.3f} vs "
                            f"P {resiliparse['precision']:.3f} R {resiliparse['recall']:.3f}"),
            Comparison("extraction token F1 vs ground truth", "F1", ours["f1"], baseline["f1"],
                       "all visible text (fulltext-beautifulsoup baseline)",
                       note=f"baseline P {baseline['precision']:.3f} R {baseline['recall']:.3f}"),
        ]
    return comparisons
