"""The verdict rule on constructed numbers: both directions, no difference, and too few seeds."""

from pipelines.experiment_verdict import compare, summarize, verdicts


def test_b_beats_a_beyond_the_spread():
    v = compare("raw", "cleaned", "zh", [2.10, 2.12, 2.11], [2.00, 2.02, 2.01])
    assert v.winner == "cleaned"
    assert abs(v.difference + 0.10) < 1e-9 and abs(v.spread - 0.02) < 1e-9
    assert v.text.startswith("cleaned beats raw on zh by 0.1000 bits/byte, beyond the seed spread")


def test_a_beats_b_when_b_is_worse():
    v = compare("shuffled", "blocks", "zh", [3.0, 3.01, 3.02], [3.2, 3.25, 3.3])
    assert v.winner == "shuffled"
    assert v.text.startswith("shuffled beats blocks on zh by 0.2400")


def test_gap_inside_the_spread_is_no_difference():
    # Means differ by 0.03, but one variant's seeds range over 0.05.
    v = compare("wsd", "cosine", "en", [1.50, 1.55, 1.52], [1.49, 1.50, 1.50])
    assert v.winner is None
    assert v.text.startswith("no difference on en within the spread")


def test_one_seed_is_not_judged():
    v = compare("a", "b", "code", [1.0], [2.0])
    assert v.winner is None and v.text.startswith("not judged")


def test_verdicts_cover_pairs_and_shared_domains():
    results = {"a": {"zh": [1.0, 1.1], "en": [2.0, 2.0]}, "b": {"zh": [0.5, 0.6]}}
    out = verdicts([("a", "b")], results)
    assert [(v.domain, v.winner) for v in out] == [("zh", "b")]
    s = summarize([3.0, 1.0, 2.0])
    assert (s.mean, s.low, s.high, s.spread) == (2.0, 1.0, 3.0, 2.0)
