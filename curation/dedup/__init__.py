"""Deduplication within and across corpora: exact, then MinHash LSH near-duplicates, as a multi-pass job.

The job (`job.run_dedup`, written against `curation.parallel.Executor`) runs four passes, each
task leaving a completion marker so a killed run resumes where it stopped. (1) signatures, one
task per input shard: one compiled pass over the UTF-8 bytes of the shard hashes the normalized
text into a 128-bit exact key and every shingle (word 5-grams for English, character 5-grams for
Chinese, code-token 5-grams for code, chosen per document from its `lang`) into a one-permutation
MinHash signature, then writes the signatures, per-document facts, and for the exact key and each
LSH band a file of (key, document) rows sorted by key. (2) buckets, one task per band and slice of
the key space: the task binary-searches its slice out of every shard's band file (memory bounded
by the slice, not the corpus), pairs the documents that share a bucket, and keeps a pair only if
its signature estimate reaches the threshold (exact-key pairs need no check). (3) clusters, one
task over the verified pairs only: connected components, the survivor of each by source priority,
quality score and id, and per-shard decision files. (4) filter, one task per input shard: kept
documents go to kept/<source>/, the others to duplicates/<source>/ with their cluster, survivor and
similarity; the manifest then holds counts per source, the cross-corpus matrix, the cluster-size
histogram, the LSH S-curve and the peak memory of each pass. Modules: shingles, signatures, lsh,
buckets, clusters, job, layout, settings; evaluate and planted measure accuracy.
"""
