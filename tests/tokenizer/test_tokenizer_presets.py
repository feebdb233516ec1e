"""Presets follow the paper; config files are validated and layered on them."""

from __future__ import annotations

import pytest

from curation.config import ConfigError
from tokenizer.charsets import guaranteed_characters
from tokenizer.presets import load_tokenizer_config, preset_names


def test_presets_follow_the_paper():
    assert {"120k", "70k"} <= set(preset_names())
    big, small = load_tokenizer_config("120k"), load_tokenizer_config("70k")
    assert big.vocab_size == 122_753 and small.vocab_size == 73_440
    assert small.max_learned_pieces == 64_000
    assert big.guarantee.rare_chinese and not small.guarantee.rare_chinese
    for config in (big, small):
        g = config.guarantee
        assert g.traditional_chinese and g.emoji and g.symbols and g.greek and g.cyrillic
        assert config.byte_fallback and config.split_digits
    # 70k: 73,440 pieces hold the guaranteed characters and at most 64,000 learned ones
    assert small.vocab_size - len(guaranteed_characters(small.guarantee)) - 262 <= small.max_learned_pieces
    assert len(guaranteed_characters(big.guarantee)) > 20_992  # every U+4E00-U+9FFF ideograph and more


def test_unknown_key_names_the_file_and_key(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("vocab_size: 1000\nvocab_sise: 2000\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml: unknown key 'vocab_sise'"):
        load_tokenizer_config("120k", path)


def test_unknown_nested_key_is_rejected(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("sample:\n  max_sample_gb: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key 'sample\.max_sample_gb'"):
        load_tokenizer_config("70k", path)


def test_wrong_type_is_rejected(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("guarantee:\n  emoji: maybe\n")
    with pytest.raises(ConfigError, match="guarantee.emoji must be bool"):
        load_tokenizer_config("70k", path)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset '32k'"):
        load_tokenizer_config("32k")


def test_config_layers_on_the_preset(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("sample:\n  max_sample_bytes: 1000000\n  domain_weights: {zh: 1.0, en: 1.0}\n"
                    "guarantee:\n  emoji: false\n")
    config = load_tokenizer_config("120k", path)
    assert config.vocab_size == 122_753  # from the preset
    assert config.sample.max_sample_bytes == 1_000_000
    assert config.sample.heldout_per_mille == 100  # the rest of the section stays
    assert config.sample.domain_weights == {"zh": 1.0, "en": 1.0}  # replaced whole, not merged
    assert not config.guarantee.emoji and config.guarantee.rare_chinese


def test_config_file_alone_and_overrides(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nvocab_size: 8000\n")
    config = load_tokenizer_config(None, path, {"num_threads": 1, "vocab_size": None})
    assert (config.name, config.vocab_size, config.num_threads) == ("mine", 8000, 1)
    assert config.threads == 1


@pytest.mark.parametrize("overrides, message", [
    ({"vocab_size": 100}, "vocab_size must be at least 300"),
    ({"character_coverage": 0.5}, "character_coverage"),
    ({"sample": {"heldout_per_mille": 1000}}, "heldout_per_mille"),
    ({"sample": {"max_sentence_bytes": 10}}, "max_sentence_bytes"),
])
def test_bad_values(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_tokenizer_config("70k", overrides=overrides)
