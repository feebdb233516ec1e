"""English web quality rules: reasons on hand-made documents, and agreement with datatrove on real ones."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest

from curation.clean.english import EnglishRules, annotate, decide, decide_each
from curation.clean.english_word_rules import split_chunk
from curation.clean.english_words import tokenize
from curation.config import ConfigError, from_dict

GOOD = (
    "The history of the town goes back to the twelfth century, when a small abbey was founded on the "
    "banks of the river. Over the following centuries the settlement grew into a busy market town with "
    "a bridge, a church and several mills.\n"
    "In the nineteenth century the railway arrived, and with it new industries that changed the character "
    "of the place. Many of the old buildings were replaced, but the abbey church and the bridge survive "
    "to this day.\n"
    "Today the town is known for its annual fair, which attracts visitors from across the region. The "
    "local museum has a collection of tools and photographs that document the working life of the mills.\n"
    "Walking routes lead from the centre of the town along the river to the neighbouring villages. Maps "
    "can be obtained from the visitor centre next to the church."
)
WORDS = (
    "harbour lantern quietly marble orchard velvet distant thunder silver meadow "
    "crimson whisper granite feather hollow timber journey canvas ember glacier"
).split()
SHORT = (
    "A quick brown fox jumps over the lazy dog while seven tired zebras watch from the far hill, and a "
    "small bird sings of rain to come before the evening bells ring across the valley below."
)


def reasons(texts: list[str], rules: EnglishRules | None = None) -> list[str | None]:
    rules = rules or EnglishRules()
    return decide(annotate(pa.array(texts), rules), rules).to_pylist()


def test_a_plain_english_article_is_kept_untouched():
    table = annotate(pa.array([GOOD]), EnglishRules())
    assert decide(table, EnglishRules()).to_pylist() == [None]
    assert table["text"].to_pylist() == [GOOD]
    assert table["quality_c4_num_sentences"].to_pylist() == [8]


def test_tiny_documents_get_the_first_failing_reason_in_chain_order():
    repeated_lines = "\n".join(["Buy cheap watches online today at the best price."] * 10)
    dominant_bigram = " ".join(["the cat"] * 40) + "."
    forty = WORDS + [word + "s" for word in WORDS]
    repeated_run = " ".join(forty + forty) + "."  # every n-gram occurs at most twice
    assert reasons(["", repeated_lines, dominant_bigram, repeated_run, SHORT, "Hello world."]) == [
        "gopher_empty",
        "gopher_dup_line_frac",
        "gopher_top_2gram",
        "gopher_dup_5gram",
        "gopher_short_doc",
        "gopher_top_2gram",
    ]  # "Hello world" is 11 of 12 characters: repetition is checked first


def test_c4_document_rules_and_line_removal():
    lorem = GOOD + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit."
    curly = GOOD.replace("survive to this day.", "survive to this day {sic}.")
    no_punctuation = "\n".join(line.rstrip(".") for line in GOOD.replace(". ", " ").split("\n"))
    assert reasons([lorem, curly, no_punctuation]) == ["c4_lorem_ipsum", "c4_curly_bracket", "c4_too_few_sentences"]
    noisy = (
        "Home | About | Contact\nPlease enable JavaScript to view the comments below.\n"
        + GOOD
        + "\nBy using this site you agree to our Terms of Use.\nShare this"
    )
    table = annotate(pa.array([noisy]), EnglishRules())
    assert table["text"].to_pylist() == [GOOD]
    assert table["quality_c4_removed_lines"].to_pylist() == [4]
    # The removed lines were C4's business only: keeping them all would make FineWeb complain.
    assert decide_each(table, EnglishRules())["fineweb"].to_pylist() == [None]


def test_thresholds_retune_without_recomputing_and_filters_switch_off():
    table = annotate(pa.array([SHORT, "\n\n".join([GOOD] * 3)]), EnglishRules())
    assert decide(table, EnglishRules()).to_pylist() == ["gopher_short_doc", "gopher_dup_para_frac"]
    loose = EnglishRules(
        min_doc_words=2,
        min_stop_words=None,
        dup_para_frac=None,
        dup_line_frac=0.9,
        dup_para_char_frac=None,
        dup_line_char_frac=None,
    )
    assert decide(table, loose).to_pylist() == ["c4_too_few_sentences", "gopher_dup_5gram"]
    no_gopher = EnglishRules(gopher_repetition=False, gopher_quality=False)
    assert reasons(["Hello world."], no_gopher) == ["c4_too_few_sentences"]


def test_rules_load_from_config_data_and_reject_unknown_keys():
    rules = from_dict(EnglishRules, {"min_doc_words": 20, "top_ngram_fracs": {2: 0.3}, "c4": False})
    assert rules.min_doc_words == 20 and rules.top_ngram_fracs == {2: 0.3} and not rules.c4
    table = annotate(pa.array([GOOD]), rules)
    assert "quality_top_2gram_frac" in table.column_names and "quality_top_3gram_frac" not in table.column_names
    with pytest.raises(ConfigError, match="min_doc_wrods"):
        from_dict(EnglishRules, {"min_doc_wrods": 20})
    with pytest.raises(ValueError, match="n-gram sizes"):
        EnglishRules(top_ngram_fracs={0: 0.2})


def test_words_split_like_spacy_english():
    assert split_chunk("don't") == ("do", "n't")
    assert split_chunk("(Mr.") == ("(", "Mr.")
    assert split_chunk("U.S.") == ("U.S.",)
    assert split_chunk("world.”") == ("world", ".", "”")
    assert split_chunk("well-known,") == ("well", "-", "known", ",")
    assert split_chunk("10km") == ("10", "km")
    assert split_chunk("https://example.com/a?b=1") == ("https://example.com/a?b=1",)
    assert split_chunk("main():") == ("main", "(", "):")  # ")" ":" re-merged into the emoticon "):"
    words = tokenize(pa.array(["It's 5p.m. (roughly), isn't it?", ""]))
    assert words.vocab.take(pa.array(words.ids)).to_pylist() == [
        "It",
        "'s",
        "5",
        "p.m.",
        "(",
        "roughly",
        ")",
        ",",
        "is",
        "n't",
        "it",
        "?",
    ]
    assert words.counts().tolist() == [12, 0]


def test_badwords_list_is_optional(tmp_path):
    listed = tmp_path / "badwords.txt"
    listed.write_text("mill\nzzz\n", encoding="utf-8")
    rules = EnglishRules(c4_badwords_path=str(listed))
    # "mills" is not "mill": a listed word must stand between non-word characters.
    assert reasons([GOOD, GOOD.replace("mills.", "mill.")], rules) == [None, "c4_badwords"]
    with pytest.raises(ValueError, match="c4_badwords_path"):
        reasons([GOOD], EnglishRules(c4_badwords_path=str(tmp_path / "missing.txt")))


def test_empty_batch():
    table = annotate(pa.array([], pa.string()), EnglishRules())
    assert table.num_rows == 0 and len(decide(table, EnglishRules())) == 0


# --- agreement with datatrove on the real English samples -------------------------------------------


def _texts(path: Path, limit: int | None = None, max_chars: int | None = None) -> list[str]:
    """The first `limit` texts of a JSONL(.gz) file that are at most `max_chars` long."""
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as f:
        texts = (json.loads(line)["text"] for line in f if line.strip())
        return list(itertools.islice((t for t in texts if max_chars is None or len(t) <= max_chars), limit))


def english_samples(corpora: Path) -> list[str]:
    """~450 real documents, ~2.5 MB: every web sample, then wiki articles, reST docs and books."""
    web = corpora / "en_web"
    texts = []
    for path in sorted((web / "dolma").glob("*.jsonl")) + sorted((web / "dolma").glob("*.json.gz")):
        texts += _texts(path)
    for path in sorted((web / "redpajama_samples").glob("*.jsonl")) + sorted((web / "dclm").glob("*.jsonl")):
        texts += _texts(path)
    for path in sorted((corpora / "en_wiki").glob("*.jsonl")):
        texts += _texts(path, 20, max_chars=40_000)
    texts += _texts(corpora / "en_docs/linux_doc_rst.jsonl", 200, max_chars=6_000)
    texts += _texts(corpora / "en_docs/python311_doc_rst.jsonl", 25, max_chars=20_000)
    texts += _texts(corpora / "en_books/gutenberg.jsonl", 5, max_chars=120_000)
    return texts


def _ours(name: str, reason: str | None) -> str | None:
    """datatrove's reason for a filter, spelled as ours."""
    if reason is None:
        return None
    if name == "gopher_repetition":
        reason = re.sub(r"top_(\d+)_gram", r"top_\1gram", re.sub(r"duplicated_(\d+)_n_grams", r"dup_\1gram", reason))
    prefix = {"gopher_repetition": "gopher_", "gopher_quality": "", "c4": "c4_", "fineweb": "fineweb_"}[name]
    return prefix + reason


def datatrove_reasons(texts: list[str]) -> tuple[dict[str, list], list[str]]:
    """Each datatrove filter's reason per document (the chain's FineWeb on C4's output), and C4's text."""
    filters = pytest.importorskip("datatrove.pipeline.filters")
    pytest.importorskip("spacy", reason="datatrove splits English words with spaCy")
    from datatrove.data import Document

    chain = {
        "gopher_repetition": filters.GopherRepetitionFilter(),
        "gopher_quality": filters.GopherQualityFilter(),
        "c4": filters.C4QualityFilter(),
        "fineweb": filters.FineWebQualityFilter(),
    }
    out = {name: [] for name in chain}
    c4_texts = []
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        for name, step in chain.items():
            if name == "fineweb" and out["c4"][-1] is not None:
                out[name].append(None)  # never reached in the chain
                continue
            result = step.filter(doc)
            out[name].append(_ours(name, None if result is True else result[1]))
        c4_texts.append(doc.text)
    return out, c4_texts


def test_words_agree_with_spacy_on_real_english_documents(corpora):
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    texts = english_samples(corpora)[:160]  # the web samples
    words = tokenize(pa.array(texts))
    ours = words.vocab.take(pa.array(words.ids)).to_pylist()
    same_docs = total = 0
    for i, text in enumerate(texts):
        theirs = [t.text.strip() for t in nlp.tokenizer(text) if t.text.strip()]
        same_docs += ours[words.offsets[i] : words.offsets[i + 1]] == theirs
        total += len(theirs)
    assert abs(total - len(ours)) <= total / 1000 and same_docs / len(texts) >= 0.99


def test_decisions_agree_with_datatrove_on_real_english_documents(corpora):
    texts = english_samples(corpora)
    assert len(texts) >= 400
    theirs, their_c4_texts = datatrove_reasons(texts)
    rules = EnglishRules()
    table = annotate(pa.array(texts), rules)
    ours = {name: reasons.to_pylist() for name, reasons in decide_each(table, rules).items()}
    chain_ours = decide(table, rules).to_pylist()
    chain_theirs = [next((r[i] for r in theirs.values() if r[i]), None) for i in range(len(texts))]

    def agreement(a: list, b: list, reasons: bool = False) -> float:
        return sum((x == y) if reasons else ((x is None) == (y is None)) for x, y in zip(a, b)) / len(a)

    for name in ("gopher_repetition", "gopher_quality", "c4"):
        assert agreement(ours[name], theirs[name]) >= 0.98, name
        assert agreement(ours[name], theirs[name], reasons=True) >= 0.95, name
    assert agreement(chain_ours, chain_theirs) >= 0.98
    assert agreement(chain_ours, chain_theirs, reasons=True) >= 0.95
    # Not vacuous: real documents go both ways, and for several different reasons.
    kept = [i for i, r in enumerate(chain_ours) if r is None]
    assert len(kept) >= 30 and len(texts) - len(kept) >= 100
    assert len({r for r in chain_ours if r}) >= 5
    # Where both keep a document, C4's line removal left the same text.
    our_texts = table["text"].to_pylist()
    same_text = [our_texts[i] == their_c4_texts[i] for i in kept if chain_theirs[i] is None]
    assert sum(same_text) / len(same_text) >= 0.98
