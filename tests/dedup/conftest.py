"""Input document directories for the dedup tests, built once per session from real corpora."""

from __future__ import annotations

import pytest

from tests.dedup.corpora import read_jsonl, write_documents


@pytest.fixture(scope="session")
def reviews_dirs(tmp_path_factory):
    """Hotel reviews (ChnSentiCorp) and the hotel category of online_shopping_10_cats, which repeats them."""
    root = tmp_path_factory.mktemp("reviews")
    htl = read_jsonl("zh_web/reviews/ChnSentiCorp_htl_all.jsonl")
    shop = read_jsonl("zh_web/reviews/online_shopping_10_cats.jsonl", where=lambda r: r.get("cat") == "酒店")
    return (write_documents(root / "htl", htl, "reviews_htl", "zh", rows_per_shard=4000),
            write_documents(root / "shop", shop, "reviews_shop", "zh", rows_per_shard=4000))


@pytest.fixture(scope="session")
def poetry_dirs(tmp_path_factory):
    """fortunes_zh and the chinese_poetry collections that overlap it or each other."""
    root = tmp_path_factory.mktemp("poetry")
    prefixes = ("cp-lunyu-", "cp-poet.tang.42000-", "cp-poet.song.0-", "cp-poet.tang.41000-", "cp-poet.song.1000-")
    poetry = read_jsonl("zh_bulk/chinese_poetry.jsonl", where=lambda r: r["id"].startswith(prefixes))
    fortunes = read_jsonl("zh_bulk/fortunes_zh.jsonl")
    return (write_documents(root / "fortunes", fortunes, "fortunes_zh", "zh"),
            write_documents(root / "poetry", poetry, "chinese_poetry", "zh"))


@pytest.fixture(scope="session")
def wiki_dirs(tmp_path_factory):
    """The WikiText-2 valid and test splits, one source each."""
    root = tmp_path_factory.mktemp("wiki")
    return (write_documents(root / "valid", read_jsonl("en_wiki/wikitext2_tokens_valid.jsonl"), "wiki_valid", "en"),
            write_documents(root / "test", read_jsonl("en_wiki/wikitext2_tokens_test.jsonl"), "wiki_test", "en"))
