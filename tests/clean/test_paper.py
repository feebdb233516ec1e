"""Paper rules: LaTeX and math kept, near-empty and bibliography-only documents dropped."""

import pyarrow as pa
from clean_samples import jsonl_table

from curation.clean import paper

RULES = paper.PaperRules()


def _run(texts):
    annotations = paper.annotate(texts, RULES)
    return annotations, paper.decide(annotations, RULES).to_pylist()


def test_full_papers_are_kept_with_their_latex_and_math_untouched():
    texts = jsonl_table("paper/unarxive/unarxive-2212-fulltext.jsonl", "unarxive").column("text")
    annotations, reasons = _run(texts)
    assert reasons == [None] * 35
    assert annotations.column("text").to_pylist() == texts.to_pylist()
    assert all(n > 0 for n in annotations.column("quality_math_spans").to_pylist()[:10])
    assert "$X_1,X_2,\\ldots $" in annotations.column("text")[0].as_py() or \
        "$X_1,X_2,\\ldots$" in annotations.column("text")[0].as_py()


def test_near_empty_latex_fragments_are_dropped():
    texts = jsonl_table("paper/redpajama_arxiv/arxiv.jsonl", "arxiv").column("text").to_pylist()
    _, reasons = _run(pa.array(texts))
    def reason(start):
        return next(r for t, r in zip(texts, reasons) if t.startswith(start))

    assert reason("\\section{Riemannian Langevin dynamics}") == "near_empty"  # a lone heading
    assert reason("\\section*{Acknowledgements}\n\nThis work was") == "near_empty"  # one sentence
    assert reason("\\section{Introduction}\\label{}}") == "near_empty"  # only \input{} lines
    assert sum(r is None for r in reasons) >= 6  # the real sections stay
    kept = [t for t, r in zip(texts, reasons) if r is None]
    assert any("\\begin{" in t or "$" in t for t in kept)


def test_chinese_abstracts_are_kept():
    _, reasons = _run(jsonl_table("paper/csl_zh/csl_abstracts.jsonl", "csl").column("text"))
    assert sum(r is None for r in reasons) / len(reasons) >= 0.95
    assert set(reasons) <= {None, "near_empty"}


def test_a_bibliography_on_its_own_is_dropped():
    bibliography = "\n".join([
        "References",
        "[1] A. Einstein, Zur Elektrodynamik bewegter Körper, Annalen der Physik 17 (1905) 891.",
        "[2] P. A. M. Dirac, The quantum theory of the electron, Proc. R. Soc. A 117 (1928) 610.",
        "[3] R. P. Feynman, Space-time approach to quantum electrodynamics, Phys. Rev. 76 (1949) 769.",
        "[4] J. Schwinger, Quantum electrodynamics. I. A covariant formulation, Phys. Rev. 74 (1948) 1439.",
        "[5] S. Weinberg, A model of leptons, Phys. Rev. Lett. 19 (1967) 1264.",
        "[6] G. 't Hooft, Renormalizable Lagrangians for massive Yang-Mills fields, Nucl. Phys. B 35 (1971) 167.",
    ])
    bibtex = "\n".join(["@article{einstein1905,", "  author = {Einstein, Albert},",
                        "  title = {Zur Elektrodynamik bewegter K{\\\"o}rper},", "  journal = {Annalen der Physik},",
                        "  volume = {17},", "  year = {1905},", "  pages = {891--921}", "}"])
    annotations, reasons = _run(pa.array([bibliography, bibtex]))
    assert reasons == ["bibliography_only", "bibliography_only"]
    assert annotations.column("quality_bib_lines").to_pylist()[0] == 6
