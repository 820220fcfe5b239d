"""DistributedSampler: torch's index arithmetic (padding, drop_last, striding) exactly, and a
shuffle that every rank draws identically."""

import itertools

import pytest
import torch.utils.data.distributed as tdist

from ember.utils.data import DataLoader, DistributedSampler, TensorDataset


@pytest.mark.parametrize(
    "n, w, drop_last", list(itertools.product([0, 1, 5, 7, 8, 10], [1, 2, 3, 4], [False, True]))
)
def test_indices_and_length_match_torch_without_shuffle(n, w, drop_last):
    for r in range(w):
        ours = DistributedSampler(range(n), w, r, shuffle=False, drop_last=drop_last)
        theirs = tdist.DistributedSampler(range(n), w, r, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs)
        assert (ours.num_samples, ours.total_size) == (theirs.num_samples, theirs.total_size)


@pytest.mark.parametrize("n, w, drop_last", [(10, 3, False), (10, 3, True), (2, 3, False)])
def test_shuffle_splits_one_permutation_like_torch(n, w, drop_last):
    def shares(cls, epoch):
        out = []
        for r in range(w):
            s = cls(range(n), w, r, shuffle=True, seed=3, drop_last=drop_last)
            s.set_epoch(epoch)
            out.append(list(s))
        return out

    ours, theirs = shares(DistributedSampler, 0), shares(tdist.DistributedSampler, 0)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    # interleaving the shares rebuilds the padded permutation, as torch's
    merged = [i for row in zip(*ours) for i in row]
    full = merged[: min(n, len(merged))]
    assert sorted(full) == sorted(set(full)) and set(full) <= set(range(n))
    if not drop_last:
        assert set(merged) == set(range(n))
        assert merged[n:] == merged[: len(merged) - n]  # padding repeats the head
    assert ours == shares(DistributedSampler, 0)  # same seed and epoch: same shares
    if n > 2:
        assert ours != shares(DistributedSampler, 1)  # set_epoch reshuffles


@pytest.mark.parametrize("rank, w", [(2, 2), (-1, 2)])
def test_invalid_rank_raises_like_torch(rank, w):
    with pytest.raises(ValueError) as theirs:
        tdist.DistributedSampler(range(4), w, rank)
    with pytest.raises(ValueError) as ours:
        DistributedSampler(range(4), w, rank)
    assert str(ours.value) == str(theirs.value)


def test_without_process_group_raises_like_torch():
    with pytest.raises(ValueError) as theirs:
        tdist.DistributedSampler(range(4))
    with pytest.raises(ValueError) as ours:
        DistributedSampler(range(4))
    assert "init_process_group" in str(ours.value) and "init_process_group" in str(theirs.value)


def test_feeds_a_dataloader():
    import ember

    ds = TensorDataset(ember.arange(10))
    loader = DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1, 3], [5, 7], [9]]
