"""Session fixtures: small document directories from the real corpora and one tiny trained tokenizer."""

from __future__ import annotations

import pytest
from tokenizer_corpora import build_domain_dirs

from tokenizer.presets import load_tokenizer_config
from tokenizer.sampling import DomainInput
from tokenizer.train import train_tokenizer

# The 70k preset's guarantees (traditional + common hanzi, emoji, symbols, Greek, Cyrillic) need
# about 14K character pieces; 16K leaves ~1.5K merges, enough to test merges and stay fast.
TINY_VOCAB_SIZE = 16_000
TINY_OVERRIDES = {"vocab_size": TINY_VOCAB_SIZE, "num_threads": 1, "max_learned_pieces": None,
                  "sample": {"max_sample_bytes": 3_000_000}}


@pytest.fixture(scope="session")
def domain_dirs(corpora, tmp_path_factory) -> dict:
    """zh/en/code/paper document directories of about 0.6 MB per source file."""
    return build_domain_dirs(tmp_path_factory.mktemp("docs"), 600_000)


@pytest.fixture(scope="session")
def tiny_config():
    return load_tokenizer_config("70k", overrides=TINY_OVERRIDES)


@pytest.fixture(scope="session")
def trained(domain_dirs, tiny_config, tmp_path_factory):
    """(output directory, manifest) of a tiny tokenizer trained with the 70k guarantees."""
    out_dir = tmp_path_factory.mktemp("tok")
    domains = [DomainInput(name, [path]) for name, path in domain_dirs.items()]
    manifest = train_tokenizer(tiny_config, domains, out_dir)
    return out_dir, manifest
