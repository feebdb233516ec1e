"""Clean profiles: which steps and rule sets run for a kind of source, with their thresholds.

A profile is one YAML file (configs/clean/<name>.yaml) validated into CleanProfile: unknown keys
are errors naming the key and the file. A rule set runs when its section is present (`chinese:`,
`english:`, `code:`, `paper:`, `reference:`; `{}` means its defaults) and is absent otherwise;
language ID, PII masking and the quality classifier are switched by their own sections.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.clean.chinese import ChineseRules
from curation.clean.code import CodeRules
from curation.clean.extract import EXTRACTORS
from curation.clean.langid import LanguagePolicy
from curation.clean.paper import PaperRules
from curation.clean.pii import PiiPolicy
from curation.clean.reference import ReferenceRules
from curation.config import ConfigError, from_dict, load_config


@dataclass
class LangIdOptions(LanguagePolicy):
    """Language ID on/off (off for code: `lang` keeps what ingest wrote) plus the language policy."""

    enabled: bool = True


@dataclass
class PiiOptions(PiiPolicy):
    """PII masking on/off plus the kinds to mask."""

    enabled: bool = True


@dataclass
class ClassifierOptions:
    """A fastText quality classifier (from `curate clean train-classifier`) to score and threshold with."""

    model_path: str = ""  # relative paths are taken from the working directory
    min_score: float = 0.0  # "classifier_low_score" below this probability of the positive label
    max_chars: int = 1000  # characters of each document shown to the model (chunk_chars in training)


@dataclass
class CleanProfile:
    """Everything `curate clean` does to one kind of source."""

    name: str = ""
    extractor: str = "trafilatura"  # for HTML documents (meta content_type text/html)
    repair_mojibake: bool = True
    langid: LangIdOptions = field(default_factory=LangIdOptions)
    pii: PiiOptions = field(default_factory=PiiOptions)
    chinese: ChineseRules | None = None
    english: dict[str, Any] | None = None  # fields of curation.clean.english.EnglishRules
    code: CodeRules | None = None
    paper: PaperRules | None = None
    reference: ReferenceRules | None = None
    classifier: ClassifierOptions | None = None
    rows_per_batch: int = 5000  # documents processed at once inside a shard (memory bound)

    def __post_init__(self):
        if self.extractor not in EXTRACTORS:
            raise ConfigError(f"extractor must be one of {', '.join(EXTRACTORS)}, got {self.extractor!r}")
        if self.rows_per_batch < 1:
            raise ConfigError("rows_per_batch must be at least 1")


def english_module():
    """curation.clean.english, or a one-line error saying the web_en rules are missing."""
    try:
        return importlib.import_module("curation.clean.english")
    except ModuleNotFoundError as exc:
        if exc.name != "curation.clean.english":
            raise
        raise ValueError("this profile has an `english:` section but curation.clean.english "
                         "(the English web rules) is not installed") from None


def english_rules(profile: CleanProfile, where: str = "<profile>"):
    """The profile's `english:` section as english.EnglishRules (validated), or None."""
    if profile.english is None:
        return None
    return from_dict(english_module().EnglishRules, profile.english, where=where, prefix="english.")


def load_profile(path: str | Path, overrides: dict | None = None) -> CleanProfile:
    """Read and validate a clean profile YAML (including its english: section when present)."""
    profile = load_config(path, CleanProfile, overrides)
    if not profile.name:
        profile = dataclasses.replace(profile, name=Path(path).stem)
    english_rules(profile, where=str(path))
    return profile


def profile_from_dict(data: dict) -> CleanProfile:
    """Rebuild a profile from its plain-data form (as written into manifests and sent to workers)."""
    return from_dict(CleanProfile, data, where="<profile>")
