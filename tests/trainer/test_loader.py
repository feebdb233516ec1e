"""mixtures.loader: the rank x worker split has no overlap and no gap, order is seeded per epoch,
and state_dict() resumes at the exact next sample (also through DataLoader worker processes)."""

from __future__ import annotations

import pytest
import torch
from trainer_samples import synthetic_mixture

from mixtures.loader import MixtureDataset, MixtureLoader

torch.set_num_threads(1)
SHARD_ROWS = [13, 7, 20, 1, 9]  # 50 rows, uneven shards
NUM_ROWS = sum(SHARD_ROWS)


@pytest.fixture(scope="module")
def mixture(tmp_path_factory):
    return synthetic_mixture(tmp_path_factory.mktemp("synthetic"), SHARD_ROWS)


def _row_numbers(batch) -> list[int]:
    """The global row number (token value - 1) of every sample in a batch."""
    ids = batch["input_ids"]
    assert torch.equal(ids, batch["targets"])  # constant rows: inputs and targets hold the same value
    return (ids[:, 0] - 1).tolist()


def _take(loader, batches: int) -> list[int]:
    return [r for _ in range(batches) for r in _row_numbers(next(loader))]


def test_batches_carry_inputs_targets_mask_and_doc_ids(mixture):
    data = MixtureDataset(mixture, batch_size=4, with_doc_ids=True)
    batch = next(iter(data))
    assert batch["input_ids"].shape == batch["targets"].shape == batch["loss_mask"].shape == (4, 7)
    assert batch["input_ids"].dtype == torch.int64 and batch["loss_mask"].dtype == torch.bool
    # doc_starts [0, 3]: tokens 0-2 are document 0, 3.. document 1.
    assert batch["doc_ids"][0].tolist() == [0, 0, 0, 1, 1, 1, 1]


@pytest.mark.parametrize("world_size,num_workers", [(1, 0), (2, 0), (3, 2)])
def test_ranks_and_workers_cover_every_row_once_per_epoch(mixture, world_size, num_workers):
    batch_size = 2
    steps = 3 * NUM_ROWS // (batch_size * world_size) + 1  # a bit over three epochs
    streams = []
    for rank in range(world_size):
        data = MixtureDataset(mixture, batch_size=batch_size, seed=5, rank=rank, world_size=world_size)
        streams.append(_take(MixtureLoader(data, num_workers=num_workers), steps))
    # Interleave the ranks' streams step by step: this is the global order (position g at rank g % R).
    merged = [streams[g % world_size][g // world_size] for g in range(steps * batch_size * world_size)]
    for epoch in range(3):
        rows = merged[epoch * NUM_ROWS:(epoch + 1) * NUM_ROWS]
        assert sorted(rows) == list(range(NUM_ROWS)), f"epoch {epoch} has overlaps or gaps"
    epochs = [merged[e * NUM_ROWS:(e + 1) * NUM_ROWS] for e in range(3)]
    assert epochs[0] != epochs[1] != epochs[2]  # a new order every epoch
    reference = MixtureDataset(mixture, batch_size=1, seed=5)
    assert merged == _take(iter(reference), len(merged))  # the split does not change the order


def test_order_is_seeded(mixture):
    first = _take(iter(MixtureDataset(mixture, batch_size=10, seed=1)), 5)
    again = _take(iter(MixtureDataset(mixture, batch_size=10, seed=1)), 5)
    other = _take(iter(MixtureDataset(mixture, batch_size=10, seed=2)), 5)
    unshuffled = _take(iter(MixtureDataset(mixture, batch_size=10, shuffle=False)), 5)
    assert first == again != other
    assert unshuffled == list(range(NUM_ROWS))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_state_dict_resumes_at_the_exact_next_sample(mixture, num_workers):
    def loader(rank):
        return MixtureLoader(MixtureDataset(mixture, batch_size=3, seed=9, rank=rank, world_size=2), num_workers)

    straight = [_take(loader(rank), 30) for rank in range(2)]
    for rank in range(2):
        first = loader(rank)
        head = _take(first, 11)  # stops mid-epoch (66 of 50 rows: in epoch 2)
        state = first.state_dict()
        first.close()
        resumed = loader(rank)
        resumed.load_state_dict(state)
        assert head + _take(resumed, 19) == straight[rank]


def test_state_follows_iteration_without_a_dataloader(mixture):
    data = MixtureDataset(mixture, batch_size=4, seed=3)
    it = iter(data)
    head = _take(it, 3)
    state = data.state_dict()
    assert state["start"] == 12
    again = MixtureDataset(mixture, batch_size=4, seed=3)
    again.load_state_dict(state)
    full = _take(iter(MixtureDataset(mixture, batch_size=4, seed=3)), 6)
    assert head + _take(iter(again), 3) == full


def test_state_from_another_mixture_or_seed_is_refused(mixture, tmp_path):
    state = MixtureDataset(mixture, batch_size=4, seed=3).state_dict()
    with pytest.raises(ValueError, match="seed"):
        MixtureDataset(mixture, batch_size=4, seed=4).load_state_dict(state)
    other = synthetic_mixture(tmp_path / "other", [5, 5])
    with pytest.raises(ValueError, match="num_samples"):
        MixtureDataset(other, batch_size=4, seed=3).load_state_dict(state)


def test_finite_epochs_end_and_partial_batch(mixture):
    data = MixtureDataset(mixture, batch_size=8, shuffle=False, num_epochs=1)
    rows = [r for batch in data for r in _row_numbers(batch)]
    assert rows == list(range(NUM_ROWS))


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest.json"):
        MixtureDataset(tmp_path, batch_size=1)


def test_row_width_must_match_manifest(mixture, tmp_path):
    import json
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(mixture, copy)
    (copy / "manifest.json").write_text(json.dumps({"seq_len": 9}))
    with pytest.raises(ValueError, match="seq_len 9"):
        next(iter(MixtureDataset(copy, batch_size=1)))
