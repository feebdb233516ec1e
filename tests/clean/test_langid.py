"""fastText lid.176 language ID: per-document lang and lang_score, and the profile's language policy."""

import numpy as np
import pyarrow as pa
from clean_samples import jsonl_table

from curation.clean.langid import LanguagePolicy, language_reasons, predict_languages


def test_news_is_chinese_and_wikipedia_is_english_with_high_scores():
    news = jsonl_table("zh_web/thucnews/thucnews.jsonl", "thucnews").column("text")
    wiki = jsonl_table("en_wiki/wikitext2_tokens_valid.jsonl", "wiki").column("text")
    langs, scores = predict_languages(news)
    assert np.mean(np.array(langs.to_pylist()) == "zh") >= 0.98
    assert np.median(scores.to_numpy()) > 0.95
    langs, scores = predict_languages(wiki)
    assert set(langs.to_pylist()) == {"en"}
    assert scores.type == pa.float32() and float(scores.to_numpy().max()) <= 1.0


def test_full_width_digits_and_classical_poems_are_not_japanese():
    text = "全民健康生活方式行动２００９年度健康血压主题活动拉开帷幕。［详细］"
    tang = "賊平後送人北歸\n司空曙\n世亂同南去，時清獨北還。\n他鄉生白髮，舊國見青山。"
    japanese = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
    langs, _ = predict_languages(pa.array([text, tang, japanese, ""]))
    assert langs.to_pylist() == ["zh", "zh", "ja", None]


def test_language_policy_names_the_language_it_refuses():
    langs = pa.array(["zh", "en", "zh", None])
    scores = pa.array([0.99, 0.99, 0.3, 0.0], pa.float32())
    reasons = language_reasons(langs, scores, LanguagePolicy(allowed_langs=["zh"], min_lang_score=0.5))
    assert reasons.to_pylist() == [None, "lang_not_allowed:en", "lang_score_low", "lang_score_low"]
    sure = language_reasons(langs, pa.array([0.9] * 4, pa.float32()), LanguagePolicy(allowed_langs=["zh"]))
    assert sure.to_pylist() == [None, "lang_not_allowed:en", None, "lang_not_allowed:none"]
    assert language_reasons(langs, scores, LanguagePolicy()).null_count == 4
