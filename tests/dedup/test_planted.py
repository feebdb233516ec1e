"""Accuracy floors on a planted set of real documents with realistic edits, per language, at threshold 0.8."""

import numpy as np
import pytest

from curation.dedup.evaluate import pair_scores, score_job
from curation.dedup.planted import MODES, build_planted_set
from curation.dedup.settings import DedupConfig
from tests.dedup.corpora import similar_pairs


def test_pair_scores_count_pairs_through_clusters():
    scores = pair_scores("toy", ["a", "a", "a", "b", "b", "c"], [1, 1, 2, 3, 3, 3])
    # true pairs: 3 (a) + 1 (b) = 4; predicted: 1 + 3 = 4; shared: (a0, a1) and (b0, b1)
    assert (scores.true_pairs, scores.predicted_pairs, scores.true_positive_pairs) == (4, 4, 2)
    assert scores.precision == scores.recall == 0.5


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_planted_near_duplicates_meet_the_floors(corpora, lang, tmp_path):
    planted = build_planted_set(corpora, lang, num_bases=160, seed=11)
    # the copies are real edits: most are not exact, and their similarity spreads down to the threshold
    copies = [i for i, doc_id in enumerate(planted.ids) if "~copy" in doc_id]
    assert len(copies) > 60
    truth = similar_pairs(planted.texts, MODES[lang], 0.0)
    base_of = {label: i for i, label in enumerate(planted.labels) if "~copy" not in planted.ids[i]}
    jaccard = np.array([truth.get((base_of[planted.labels[i]], i), 0.0) for i in copies])
    assert (jaccard < 1.0).mean() > 0.6 and np.percentile(jaccard, 10) < 0.95 and jaccard.min() < 0.85
    scores = score_job(f"planted_{lang}", planted.ids, planted.texts, planted.labels, lang, DedupConfig(),
                       work_dir=tmp_path)
    assert scores.precision >= 0.97, scores.line()
    assert scores.recall >= 0.90, scores.line()
