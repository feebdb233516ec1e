"""The dedup job's settings: one typed config, read from configs/dedup/*.yaml and command-line overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from curation.config import ConfigError, load_config

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parents[2] / "configs" / "dedup" / "default.yaml"


@dataclass
class DedupConfig:
    """How documents are shingled, sketched, bucketed and kept."""

    threshold: float = 0.8  # Jaccard similarity at or above which two documents are duplicates
    num_perm: int = 256  # MinHash signature length (one-permutation bins)
    bands: int | None = None  # LSH bands; None: chosen from the threshold (see lsh.choose_params)
    rows: int | None = None  # signature values per band
    false_positive_weight: float = 0.2  # weights of the S-curve areas in the parameter search
    false_negative_weight: float = 0.8
    verify_candidates: bool = True  # a candidate pair merges clusters only if its estimate >= threshold
    ngram_words: int = 5  # shingle = this many words (English and other space-separated text)
    ngram_chars: int = 5  # ... characters (Chinese, Japanese, Korean)
    ngram_code: int = 5  # ... code tokens (identifiers and punctuation characters)
    char_langs: list[str] = field(default_factory=lambda: ["zh", "ja", "ko", "yue", "wuu", "cmn", "lzh"])
    code_langs: list[str] = field(default_factory=lambda: ["code"])
    code_sources: list[str] = field(default_factory=lambda: ["stack"])
    priority: list[str] = field(default_factory=list)  # sources, most trusted first; the rest after
    quality_column: str = "quality_score"  # higher wins among equal priority, when the column exists
    seed: int = 42
    bucket_task_rows: int = 2_000_000  # band rows one bucket task sorts in memory (24 bytes each)
    keep_work: bool = False  # keep work/ (signatures, band files, edges) after the job completes

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], got {self.threshold}")
        if not 8 <= self.num_perm <= 1024:
            raise ConfigError(f"num_perm must be 8..1024, got {self.num_perm}")
        if (self.bands is None) != (self.rows is None):
            raise ConfigError("set both bands and rows, or neither (then they are chosen from the threshold)")
        if self.bands is not None and (self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm):
            raise ConfigError(f"bands x rows must be positive and fit in num_perm ({self.bands} x {self.rows} "
                              f"> {self.num_perm})")
        if self.bucket_task_rows < 1000:
            raise ConfigError(f"bucket_task_rows must be >= 1000, got {self.bucket_task_rows}")
        for name in ("ngram_words", "ngram_chars", "ngram_code"):
            if not 1 <= getattr(self, name) <= 16:
                raise ConfigError(f"{name} must be 1..16, got {getattr(self, name)}")


def load_dedup_config(path: str | Path | None = None, overrides: dict | None = None) -> DedupConfig:
    """The dedup config from a YAML file (default: configs/dedup/default.yaml) plus overrides."""
    return load_config(path or DEFAULT_CONFIG_PATH, DedupConfig, overrides)
