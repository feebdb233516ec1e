"""Cleaning: documents in, kept/ and rejected/ documents out, every rejection with a readable reason.

Per batch of a shard (job.clean_batch): HTML rows (meta content_type text/html) are reduced to
their main text (extract: trafilatura, resiliparse fallback), every text is normalized without
NFKC (normalize), fastText lid.176 sets `lang` and `lang_score` against the profile's allowed
languages (langid), then each rule set the profile names (chinese, english, code, paper,
reference) first annotates (quality_* columns, possibly rewriting text: boilerplate or C4 line
removal) and then decides (a reason string or null), PII is masked into typed placeholders and
counted (pii), and an optional fastText quality classifier adds quality_classifier_score
(classifier). The first reason in that order becomes `reject_reason` (decision). Line removal
and PII masks reach kept rows only: a rejected row keeps its extracted, normalized text, so it
can be audited. job.clean_directory runs one task per input shard through the executor it is
handed and writes the manifest with counts per source and reason. Profiles (profile,
configs/clean/*.yaml) choose the steps and hold every threshold.
"""
