"""Tokenizer configs: the typed config, the 120k/70k presets in configs/tokenizer/, and overrides.

A preset file is a complete config. `--config FILE` layers a partial file on top of the preset:
a section (`sample:`, `guarantee:`) merges key by key, any other key (and `domain_weights` as a
whole) replaces the preset's value. Unknown keys fail with the file and key named.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from curation.config import ConfigError, from_dict, read_yaml_mapping
from tokenizer.charsets import GuaranteedChars

PRESETS_DIR = Path(__file__).resolve().parents[1] / "configs" / "tokenizer"


@dataclass
class SampleConfig:
    """How training text is drawn from the input directories (see tokenizer.sampling)."""

    max_sample_bytes: int = 400_000_000
    domain_weights: dict[str, float] = field(default_factory=dict)
    heldout_per_mille: int = 100
    max_sentence_bytes: int = 16384
    seed: int = 0


@dataclass
class TokenizerConfig:
    """A sentencepiece BPE tokenizer: vocabulary, guaranteed characters, training sample."""

    name: str = "curate"
    vocab_size: int = 122_753
    max_learned_pieces: int | None = None
    character_coverage: float = 0.9995
    byte_fallback: bool = True
    split_digits: bool = True
    max_piece_chars: int = 16
    num_threads: int = 0
    agreement_sentences: int = 1000
    guarantee: GuaranteedChars = field(default_factory=GuaranteedChars)
    sample: SampleConfig = field(default_factory=SampleConfig)

    def validate(self, where: str = "<config>") -> TokenizerConfig:
        """Reject values sentencepiece or the sampler cannot use; return self."""
        checks = [
            (self.vocab_size >= 300, "vocab_size must be at least 300"),
            (self.max_learned_pieces is None or self.max_learned_pieces > 0,
             "max_learned_pieces must be positive"),
            (0.9 <= self.character_coverage <= 1.0, "character_coverage must be in [0.9, 1]"),
            (1 <= self.max_piece_chars <= 64, "max_piece_chars must be in [1, 64]"),
            (self.num_threads >= 0, "num_threads must be >= 0 (0: all cores)"),
            (self.sample.max_sample_bytes > 0, "sample.max_sample_bytes must be positive"),
            (0 <= self.sample.heldout_per_mille < 1000, "sample.heldout_per_mille must be in [0, 1000)"),
            (256 <= self.sample.max_sentence_bytes <= 1 << 20,
             "sample.max_sentence_bytes must be in [256, 1048576]"),
            (all(w >= 0 for w in self.sample.domain_weights.values()),
             "sample.domain_weights must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"{where}: {message}")
        return self

    @property
    def threads(self) -> int:
        """Threads to use: num_threads, or every core this process may run on."""
        return self.num_threads or len(os.sched_getaffinity(0))


# Sections of a config file that merge key by key when layered.
SECTIONS = ("guarantee", "sample")


def preset_names() -> list[str]:
    """The presets shipped in configs/tokenizer/."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def _layer(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        if key in SECTIONS and isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


def load_tokenizer_config(preset: str | None = None, config_path: str | Path | None = None,
                          overrides: dict | None = None) -> TokenizerConfig:
    """The preset's config with `config_path` layered on top and then `overrides` (None values skipped)."""
    if preset is None and config_path is None:
        raise ConfigError("give a preset (--preset) or a config file (--config)")
    raw: dict = {}
    where = "<overrides>"
    if preset is not None:
        if preset not in preset_names():
            raise ConfigError(f"unknown preset {preset!r} (known: {', '.join(preset_names())})")
        preset_path = PRESETS_DIR / f"{preset}.yaml"
        from_dict(TokenizerConfig, read_yaml_mapping(preset_path), where=str(preset_path))
        raw, where = read_yaml_mapping(preset_path), str(preset_path)
    if config_path is not None:
        config_path = Path(config_path)
        top = read_yaml_mapping(config_path)
        # validate the file on its own first, so an unknown key is reported against it
        from_dict(TokenizerConfig, _layer(dataclasses.asdict(TokenizerConfig()), top), where=str(config_path))
        raw, where = _layer(raw, top), str(config_path)
    raw = _layer(raw, {k: v for k, v in (overrides or {}).items() if v is not None})
    return from_dict(TokenizerConfig, raw, where=where).validate(where)
