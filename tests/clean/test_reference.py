"""The reference profile: books, Wikipedia and software docs are kept; broken documents are not."""

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from clean_samples import cc_zh_table, column, jsonl_table, write_documents

from curation.clean.job import clean_directory
from curation.clean.langid import LanguagePolicy, language_reasons
from curation.clean.profile import load_profile
from curation.clean.reference import ReferenceRules, annotate, decide
from curation.clean.repetition import dup_ngram_coverage, repetition_stats
from curation.documents import documents_table, read_documents
from curation.parallel import SerialExecutor

PROSE = (
    "The lighthouse keeper climbed the stairs every evening at dusk, carrying a can of oil and a "
    "cloth for the lens. From the gallery he could see the fishing boats returning to the harbour, "
    "their lamps appearing one by one against the darkening water. In winter the wind was so strong "
    "that he tied a rope around his waist before stepping outside, and on calm nights he read old "
    "almanacs by the light of the lamp until his eyes grew tired."
)
# Things the web rules reject that reference text is full of: verse without final punctuation,
# reST headings, directives and "{", bullet lists, "#" comments in code blocks, tables.
VERSE = "\n".join(["The wind is in the willows now", "And lanterns burn along the quay",
                   "The fishing boats come slowly home", "Across the grey and quiet bay"] * 2) + "\n\n" + PROSE
REST = (
    "Configuration\n=============\n\n" + PROSE + "\n\n.. code-block:: c\n\n   struct foo { int bar; };\n"
    "   # define BAZ 1\n\n* first item of the list\n* second item of the list\n\n"
    "+--------+--------------------------------+\n| Field  | Meaning                        |\n"
    "+========+================================+\n| flags  | bit mask of the options        |\n"
    "+--------+--------------------------------+\n"
)


def _reasons(texts: list[str], rules: ReferenceRules | None = None) -> list[str | None]:
    rules = rules or ReferenceRules()
    table = annotate(pa.array(texts, pa.large_string()), rules)
    assert table["text"].to_pylist() == texts  # the rules never edit the text
    return decide(table, rules).to_pylist()


def test_books_verse_and_markup_pass_while_broken_documents_get_their_reason():
    garbage = PROSE[:200] + "\ufffd\ufffd\ufffd" * 20 + PROSE[200:]
    numbers = "\n".join(f"{i:5d} {i * 37 % 1000:8d} {i * i:10d} 0x{i * 2654435761 % 2**32:08x}" for i in range(40))
    repeated = "\n\n".join([PROSE] * 12)
    stub = "Index\n=====\n\n.. toctree::\n   :maxdepth: 2\n\n   intro\n   usage\n   api\n"
    assert _reasons([PROSE, VERSE, REST, garbage, stub, numbers, repeated]) == [
        None, None, None, "garbage_chars", "too_short", "mostly_non_text", "repetitive"]


def test_han_characters_count_as_half_a_word():
    chinese = "本文介绍内核文档的中文翻译，说明如何配置、编译和调试驱动程序。" * 4  # 28 Han characters each
    table = annotate(pa.array([chinese, chinese[:60]], pa.large_string()), ReferenceRules())
    assert table["quality_num_words"].to_pylist() == [56, 27]
    assert decide(table, ReferenceRules()).to_pylist() == [None, "too_short"]


def test_a_weak_guess_of_another_language_is_no_reason_for_a_known_source():
    langs, scores = pa.array(["de", "fr", "en", None]), pa.array([0.3, 0.97, 0.2, 0.0], pa.float32())
    strict = LanguagePolicy(allowed_langs=["en"])
    lenient = LanguagePolicy(allowed_langs=["en"], min_not_allowed_score=0.85)
    assert language_reasons(langs, scores, strict).to_pylist() == [
        "lang_not_allowed:de", "lang_not_allowed:fr", None, "lang_not_allowed:none"]
    assert language_reasons(langs, scores, lenient).to_pylist() == [None, "lang_not_allowed:fr", None, None]


def test_linear_ngram_coverage_agrees_with_the_chinese_rules_count():
    texts = pa.concat_tables([cc_zh_table(), jsonl_table("en_wiki/wikitext2_tokens_valid.jsonl", "wiki")])["text"]
    for n in (1, 10, 100):
        stats = repetition_stats(texts, n)
        covered, nonspace = dup_ngram_coverage(texts, n)
        assert covered.tolist() == stats.ngram_dup_chars.tolist()
        assert nonspace.tolist() == stats.nonspace_chars.tolist()
    assert 0 < covered.sum() < nonspace.sum()


# Measured on the full samples: reference keeps 79/79 books, 121/122 WikiText articles, 2,947/3,252
# docs (every docs rejection a toctree/card-list stub under 50 words); web_en keeps 44, 4 and 111.
FLOORS = {"books": 0.95, "wiki": 0.95, "docs": 0.9}
JUNK = {
    "junk-empty": ("", "empty"),
    "junk-french": ("Le gardien du phare montait l'escalier chaque soir au crépuscule, portant un bidon "
                    "d'huile et un chiffon pour la lentille. Depuis la galerie, il voyait les bateaux de "
                    "pêche rentrer au port, leurs lampes apparaissant une à une sur l'eau sombre. En hiver, "
                    "le vent était si fort qu'il attachait une corde autour de sa taille.", "lang_not_allowed:fr"),
    "junk-garbage": (PROSE[:200] + "\ufffd" * 80 + PROSE[200:], "garbage_chars"),
    "junk-stub": ("Reference Manual\n================\n\n.. toctree::\n\n   intro\n   api\n", "too_short"),
    "junk-repeated": ("\n\n".join([PROSE] * 12), "repetitive"),
}


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    junk = documents_table(list(JUNK), [text for text, _ in JUNK.values()], "junk", metas=["{}"] * len(JUNK))
    documents = pa.concat_tables([
        jsonl_table("en_books/gutenberg.jsonl", "books"),
        jsonl_table("en_wiki/wikitext2_tokens_valid.jsonl", "wiki"),
        jsonl_table("en_wiki/wikitext2_tokens_test.jsonl", "wiki"),
        jsonl_table("en_docs/linux_doc_rst.jsonl", "docs"),
        jsonl_table("en_docs/python311_doc_rst.jsonl", "docs"),
        junk,
    ])
    in_dir = write_documents(documents, root / "in", rows_per_shard=2000)
    manifest = clean_directory(in_dir, root / "out", load_profile("configs/clean/reference.yaml"), SerialExecutor())
    return root, manifest


def test_reference_profile_keeps_books_wiki_and_docs(reference_run):
    _, manifest = reference_run
    for source, floor in FLOORS.items():
        counts = manifest["counts"][source]
        total = counts.get("kept", 0) + sum(v for k, v in counts.items() if k.startswith("rejected:"))
        assert counts.get("kept", 0) >= floor * total, (source, counts)
    # What it does reject in the docs are stubs, for being short; no web rule, no language guess.
    assert {k for k in manifest["counts"]["docs"] if k.startswith("rejected:")} == {"rejected:too_short"}


def test_planted_junk_is_rejected_with_its_reason(reference_run):
    root, _ = reference_run
    rejected = pa.concat_tables(read_documents(root / "out" / "rejected"))
    junk = rejected.filter(pc.equal(rejected["source"], "junk"))
    assert dict(zip(column(junk, "id"), column(junk, "reject_reason"))) == {
        doc_id: reason for doc_id, (_, reason) in JUNK.items()}


def test_web_en_rejects_the_wiki_articles_that_reference_keeps(tmp_path, reference_run):
    pytest.importorskip("curation.clean.english")
    wiki = pa.concat_tables([jsonl_table("en_wiki/wikitext2_tokens_valid.jsonl", "wiki"),
                             jsonl_table("en_wiki/wikitext2_tokens_test.jsonl", "wiki")])
    manifest = clean_directory(write_documents(wiki, tmp_path / "in"), tmp_path / "out",
                               load_profile("configs/clean/web_en.yaml"), SerialExecutor())
    web_kept = manifest["counts"]["wiki"].get("kept", 0)
    reference_kept = reference_run[1]["counts"]["wiki"]["kept"]
    assert web_kept <= 0.1 * wiki.num_rows and reference_kept >= 0.95 * wiki.num_rows
    assert manifest["counts"]["wiki"]["rejected:gopher_below_alpha_threshold"] >= 100  # " , " and "@-@"
