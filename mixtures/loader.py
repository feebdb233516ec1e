"""The torch loader: a mixture directory's shards as a resumable stream of training batches.

The sample order is one endless stream over epochs. Epoch e visits every row of the mixture once:
the shards in an order drawn from (seed, e), the rows of each shard in an order drawn from
(seed, e, shard name). Global stream position g is row g % N of epoch g // N (N rows in all).

Splitting (no overlap, no gap): a rank of R takes the positions start + rank + R*m, m = 0, 1, ...;
inside a rank, consecutive blocks of `batch_size` of those positions go round-robin to the
DataLoader workers (block j to worker j % W), which is exactly the order in which a DataLoader
returns the workers' batches. So the batches that reach the training loop follow the rank's stream
in order, and the state of a rank is one number: the global position `start` where its next step
begins (all ranks step together, so after k batches of B each, start grows by k*B*R).

`MixtureDataset` yields ready batches (use it with `DataLoader(dataset, batch_size=None)`, or
through `MixtureLoader`, which does that and keeps the state in step with what was consumed).
Shards are memory-mapped; memory is bounded by the few shards in use, not by the mixture size.
"""

from __future__ import annotations

import json
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from mixtures.shards import list_sequence_shards, read_sequence_shard

_OPEN_SHARDS = 4  # memory-mapped shards kept open per worker


def read_mixture_manifest(mixture_dir: str | Path) -> dict:
    """The mixture's manifest.json (at least seq_len); a clear error when it is missing."""
    path = Path(mixture_dir) / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"{mixture_dir}: no manifest.json; is this a mixture directory "
                                f"(curate build-mixture)?")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(manifest.get("seq_len"), int):
        raise ValueError(f"{path}: manifest has no integer seq_len")
    return manifest


class _Shard:
    """One memory-mapped shard as numpy views: ids and mask [rows, seq_len + 1], starts as CSR."""

    def __init__(self, path: Path):
        table = read_sequence_shard(path).combine_chunks()
        self.num_rows = table.num_rows
        ids, mask, starts = (table.column(n).chunk(0) if table.num_rows else None
                             for n in ("input_ids", "loss_mask", "doc_starts"))
        if self.num_rows == 0:
            self.width = 0
            return
        offsets = np.asarray(ids.offsets)
        self.width = int(offsets[1] - offsets[0])
        if not np.all(np.diff(offsets) == self.width):
            raise ValueError(f"{path}: rows of input_ids differ in length")
        self.ids = np.asarray(ids.values).reshape(self.num_rows, self.width)
        self.mask = np.asarray(mask.values).reshape(self.num_rows, self.width)
        self.start_offsets = np.asarray(starts.offsets)
        self.start_values = np.asarray(starts.values)

    def doc_ids(self, rows: np.ndarray) -> np.ndarray:
        """Per token, the index of its document within the row: [len(rows), width] int32."""
        marks = np.zeros((len(rows), self.width), dtype=np.int32)
        for i, row in enumerate(rows):
            starts = self.start_values[self.start_offsets[row]:self.start_offsets[row + 1]]
            marks[i, starts[starts > 0]] = 1
        return np.cumsum(marks, axis=1, dtype=np.int32)


class MixtureDataset(IterableDataset):
    """Batches of `batch_size` rows from a mixture directory, for one DDP rank, resumable."""

    def __init__(self, mixture_dir: str | Path, batch_size: int, seed: int = 0, rank: int | None = None,
                 world_size: int | None = None, shuffle: bool = True, num_epochs: int | None = None,
                 with_doc_ids: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.mixture_dir = Path(mixture_dir)
        self.manifest = read_mixture_manifest(mixture_dir)
        self.seq_len = self.manifest["seq_len"]
        self.shard_paths = list_sequence_shards(mixture_dir)
        if not self.shard_paths:
            raise FileNotFoundError(f"{mixture_dir}: no shard-*.arrow files")
        if rank is None or world_size is None:
            rank, world_size = _distributed_rank()
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world size {world_size}")
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.shuffle, self.num_epochs, self.with_doc_ids = shuffle, num_epochs, with_doc_ids
        self.shard_rows = np.array([_count_rows(p) for p in self.shard_paths], dtype=np.int64)
        self.num_samples = int(self.shard_rows.sum())
        if self.num_samples == 0:
            raise ValueError(f"{mixture_dir}: the shards hold no rows")
        # Seeds derive from shard names, not positions, so adding a shard leaves the others' order alone.
        self._shard_keys = [zlib.crc32(p.name.encode()) for p in self.shard_paths]
        self.start = 0  # global stream position where this rank's next batch begins
        self._cache: OrderedDict[int, _Shard] = OrderedDict()
        self._epoch_cache: tuple[int, np.ndarray, np.ndarray] | None = None
        self._row_orders: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()

    # -- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Where the next batch starts, plus what the position means (mixture, seed, split)."""
        return {"start": self.start, "num_samples": self.num_samples, "seed": self.seed,
                "world_size": self.world_size, "shards": [p.name for p in self.shard_paths],
                "batch_size": self.batch_size}

    def load_state_dict(self, state: dict) -> None:
        """Resume at the exact next sample; refuses a state taken on a different mixture or seed."""
        for key in ("num_samples", "seed", "shards"):
            if state.get(key) != self.state_dict()[key]:
                raise ValueError(f"{self.mixture_dir}: loader state was taken with a different {key} "
                                 f"({state.get(key)!r}, now {self.state_dict()[key]!r})")
        # The state is a global position, so it carries over to another world size or batch size.
        self.start = int(state["start"])

    @property
    def epoch(self) -> int:
        return self.start // self.num_samples

    @property
    def samples_per_step(self) -> int:
        return self.batch_size * self.world_size

    # -- order -------------------------------------------------------------------------------

    def _epoch_layout(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(shard indices in visiting order, cumulative row counts in that order)."""
        if self._epoch_cache is None or self._epoch_cache[0] != epoch:
            order = np.arange(len(self.shard_paths))
            if self.shuffle:
                order = np.random.default_rng([self.seed, epoch]).permutation(order)
            self._epoch_cache = (epoch, order, np.cumsum(self.shard_rows[order]))
        return self._epoch_cache[1], self._epoch_cache[2]

    def _row_order(self, epoch: int, shard: int) -> np.ndarray:
        key = (epoch, shard)
        if key not in self._row_orders:
            rows = int(self.shard_rows[shard])
            self._row_orders[key] = (np.random.default_rng([self.seed, epoch, self._shard_keys[shard]])
                                     .permutation(rows) if self.shuffle else np.arange(rows))
            while len(self._row_orders) > _OPEN_SHARDS:
                self._row_orders.popitem(last=False)
        return self._row_orders[key]

    def locate(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global stream positions -> (shard index, row) arrays."""
        positions = np.asarray(positions, dtype=np.int64)
        shards = np.empty(len(positions), dtype=np.int64)
        rows = np.empty(len(positions), dtype=np.int64)
        epochs = positions // self.num_samples
        for epoch in np.unique(epochs):
            sel = epochs == epoch
            within = positions[sel] % self.num_samples
            order, cum = self._epoch_layout(int(epoch))
            slot = np.searchsorted(cum, within, side="right")
            offset = within - np.concatenate([[0], cum])[slot]
            shard_ids = order[slot]
            shard_rows = np.empty(len(within), dtype=np.int64)
            for shard in np.unique(shard_ids):
                hit = shard_ids == shard
                shard_rows[hit] = self._row_order(int(epoch), int(shard))[offset[hit]]
            shards[sel], rows[sel] = shard_ids, shard_rows
        return shards, rows

    def rank_positions(self, start: int, first: int, count: int) -> np.ndarray:
        """Global positions of this rank's stream entries first .. first+count-1 after `start`."""
        m = np.arange(first, first + count, dtype=np.int64)
        positions = start + self.rank + self.world_size * m
        if self.num_epochs is not None:
            positions = positions[positions < self.num_epochs * self.num_samples]
        return positions

    # -- reading -----------------------------------------------------------------------------

    def _shard(self, index: int) -> _Shard:
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        shard = _Shard(self.shard_paths[index])
        if shard.width != self.seq_len + 1:
            raise ValueError(f"{self.shard_paths[index]}: rows hold {shard.width} tokens, "
                             f"manifest seq_len {self.seq_len} needs {self.seq_len + 1}")
        self._cache[index] = shard
        while len(self._cache) > _OPEN_SHARDS:
            self._cache.popitem(last=False)
        return shard

    def gather(self, positions: np.ndarray) -> dict[str, torch.Tensor]:
        """The batch for these global positions: inputs, targets, the targets' loss mask (+ doc ids)."""
        shards, rows = self.locate(positions)
        width = self.seq_len + 1
        ids = np.empty((len(positions), width), dtype=np.int64)
        mask = np.empty((len(positions), width), dtype=np.uint8)
        doc = np.empty((len(positions), width), dtype=np.int32) if self.with_doc_ids else None
        for shard_index in np.unique(shards):
            hit = np.flatnonzero(shards == shard_index)
            shard = self._shard(int(shard_index))
            ids[hit] = shard.ids[rows[hit]]
            mask[hit] = shard.mask[rows[hit]]
            if doc is not None:
                doc[hit] = shard.doc_ids(rows[hit])
        ids_t = torch.from_numpy(ids)
        # loss_mask[i] masks the prediction of token i, i.e. target i-1 (targets are row[1:]).
        batch = {"input_ids": ids_t[:, :-1], "targets": ids_t[:, 1:],
                 "loss_mask": torch.from_numpy(mask[:, 1:].astype(bool))}
        if doc is not None:
            batch["doc_ids"] = torch.from_numpy(doc[:, :-1])
        return batch

    def __iter__(self):
        info = get_worker_info()
        worker, num_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        in_main_process = info is None
        start = self.start
        block = worker
        while True:
            positions = self.rank_positions(start, block * self.batch_size, self.batch_size)
            if len(positions) == 0:
                return
            batch = self.gather(positions)
            # Where this rank's stream resumes once this batch (and all before it) is consumed.
            end = start + (block + 1) * self.batch_size * self.world_size
            if in_main_process:
                self.start = end
            batch["stream_end"] = end
            yield batch
            block += num_workers


class MixtureLoader:
    """A DataLoader over a MixtureDataset whose state_dict() follows the batches actually consumed."""

    def __init__(self, dataset: MixtureDataset, num_workers: int = 0, prefetch_factor: int = 2):
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self._iterator = None

    def _loader(self) -> DataLoader:
        extra = {"prefetch_factor": self.prefetch_factor} if self.num_workers else {}
        return DataLoader(self.dataset, batch_size=None, num_workers=self.num_workers, **extra)

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self._iterator is None:
            self._iterator = iter(self._loader())
        batch = next(self._iterator)
        self.dataset.start = int(batch.pop("stream_end"))
        return batch

    def state_dict(self) -> dict:
        return self.dataset.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.close()
        self.dataset.load_state_dict(state)

    def close(self) -> None:
        """Stop the workers; the next batch starts a fresh iterator at the current state."""
        self._iterator = None


def _count_rows(path: Path) -> int:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        return sum(batch.num_rows for batch in pa.ipc.open_stream(source))


def _distributed_rank() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1
