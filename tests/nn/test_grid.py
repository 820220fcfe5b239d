"""F.affine_grid and F.grid_sample against PyTorch: every mode, padding mode and align_corners
setting in 2-D and 3-D, values and the gradients with respect to both input and grid (float64),
float32, the spatial-transformer chain theta -> grid -> sample, warnings and errors."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from tests.nn._lib import same_error
from tests.parity import assert_close, copy_weights

TF = torch.nn.functional
RNG = np.random.default_rng(0)
CASES = [
    (d, mode, pad, ac)
    for d in (2, 3)
    for mode, pad, ac in itertools.product(
        ["bilinear", "nearest", "bicubic"], ["zeros", "border", "reflection"], [False, True]
    )
    if not (d == 3 and mode == "bicubic")
]


def _pair(a):
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("d,mode,pad,ac", CASES)
def test_grid_sample_values_and_grads(d, mode, pad, ac):
    shape = (2, 3, 5, 6) if d == 2 else (2, 2, 4, 5, 3)
    gshape = (2, 4, 3, 2) if d == 2 else (2, 3, 2, 4, 3)
    xe, xt = _pair(RNG.standard_normal(shape))
    # Positions inside and outside [-1, 1], so every padding rule is exercised.
    ge, gt = _pair(RNG.uniform(-1.6, 1.6, gshape))
    oe, ot = F.grid_sample(xe, ge, mode, pad, ac), TF.grid_sample(xt, gt, mode, pad, ac)
    assert_close(oe, ot, 1e-12, 1e-12)
    up = RNG.standard_normal(ot.shape)
    oe.backward(ember.tensor(up))
    ot.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, 1e-12, 1e-12, what="input grad")
    assert_close(ge.grad, gt.grad, 1e-10, 1e-12, what="grid grad")


def test_grid_sample_float32():
    x = RNG.standard_normal((1, 2, 7, 7)).astype(np.float32)
    g = RNG.uniform(-1, 1, (1, 3, 3, 2)).astype(np.float32)
    oe = F.grid_sample(ember.tensor(x), ember.tensor(g), align_corners=False)
    ot = TF.grid_sample(torch.tensor(x), torch.tensor(g), align_corners=False)
    assert_close(oe, ot, 1e-5, 1e-6)


@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 4, 2)])
@pytest.mark.parametrize("ac", [False, True])
def test_affine_grid_and_transformer_chain(size, ac):
    d = len(size) - 2
    theta = RNG.standard_normal((2, d, d + 1))
    te, tt = _pair(theta)
    ge, gt = F.affine_grid(te, size, ac), TF.affine_grid(tt, torch.Size(size), ac)
    assert_close(ge, gt, 1e-12, 1e-12)
    x = RNG.standard_normal(size)
    oe = F.grid_sample(ember.tensor(x), ge, align_corners=ac)
    ot = TF.grid_sample(torch.tensor(x), gt, align_corners=ac)
    assert_close(oe, ot, 1e-12, 1e-12)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(te.grad, tt.grad, 1e-10, 1e-12, what="theta grad")


def test_align_corners_default_warns_as_torch():
    theta = [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
            grid = lib.nn.functional.affine_grid(lib.tensor(theta), (1, 1, 2, 2))
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
            lib.nn.functional.grid_sample(lib.ones(1, 1, 2, 2), grid)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.nn.functional.grid_sample(lib.ones(1, 1, 2, 2), grid, align_corners=False)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.nn.functional.grid_sample(
            lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2), mode="xyz", align_corners=False
        ),
        lambda lib: lib.nn.functional.grid_sample(
            lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 2), padding_mode="xyz", align_corners=False
        ),
        lambda lib: lib.nn.functional.grid_sample(
            lib.zeros(1, 1, 2, 2, 2), lib.zeros(1, 1, 1, 1, 3), mode="bicubic", align_corners=False
        ),
        lambda lib: lib.nn.functional.grid_sample(
            lib.zeros(2, 1, 2, 2), lib.zeros(1, 1, 1, 2), align_corners=False
        ),
        lambda lib: lib.nn.functional.grid_sample(
            lib.zeros(1, 1, 2, 2), lib.zeros(1, 1, 1, 3), align_corners=False
        ),
        lambda lib: lib.nn.functional.affine_grid(
            lib.zeros(1, 2, 3, dtype=lib.int64), (1, 1, 2, 2), False
        ),
        lambda lib: lib.nn.functional.affine_grid(lib.zeros(1, 3, 4), (1, 1, 2, 2), False),
        lambda lib: lib.nn.functional.affine_grid(lib.zeros(1, 2, 3), (1, 1, 2), False),
        lambda lib: lib.nn.functional.affine_grid(lib.zeros(1, 2, 3), (1, 1, 0, 2), False),
    ],
)
def test_errors_as_torch(call):
    same_error(call, exact=False)


def test_spatial_transformer_training_trajectory_matches_torch():
    """A small spatial-transformer network (localisation net -> affine_grid -> grid_sample ->
    classifier), trained 20 SGD steps: the losses follow torch's step by step."""

    def build(lib):
        nn, Fn = lib.nn, lib.nn.functional

        class STN(nn.Module):
            def __init__(self):
                super().__init__()
                self.loc = nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), nn.ReLU())
                self.fc_loc = nn.Sequential(nn.Linear(4 * 3 * 3, 8), nn.ReLU(), nn.Linear(8, 6))
                self.head = nn.Linear(64, 3)

            def forward(self, x):
                theta = self.fc_loc(self.loc(x).flatten(1)).view(-1, 2, 3)
                grid = Fn.affine_grid(theta, x.size(), align_corners=False)
                x = Fn.grid_sample(x, grid, align_corners=False)
                return self.head(x.flatten(1))

        model = STN()
        with lib.no_grad():
            # Start at the identity transform, as the tutorial does.
            model.fc_loc[2].weight.zero_()
            model.fc_loc[2].bias.copy_(lib.tensor([1.0, 0, 0, 0, 1, 0]))
        return model

    e, t = build(ember), build(torch)
    copy_weights(e, t)
    opt_e = ember.optim.SGD(e.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(2)
    for _ in range(20):
        x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
        y = rng.integers(0, 3, size=4)
        losses = []
        for lib, model, opt in ((ember, e, opt_e), (torch, t, opt_t)):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert abs(losses[0] - losses[1]) < 1e-4, losses
