"""Batch norm on the memory layouts and sizes its wide-row passes (ember.ops._norm_layout) see:
contiguous NC* with short and long rows, channels-last views (conv outputs), 2-D inputs, large
means, eval mode with weight gradients, and create_graph; layer norm and group norm processed
block by block (ember.ops._norm_rows) — values, running statistics and every gradient against
PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as EF
from tests.parity import assert_close, rand_array

# (input shape, channels-last?, offset of the values)
SHAPES = [
    ((32, 8, 16, 16), False, 0.0),
    ((4, 8, 16, 16), True, 0.0),  # channels-last: several positions per row
    ((3, 5, 7, 3), True, 0.0),  # channels-last, odd position count: one position per row
    ((2, 3, 4, 5, 6), True, 0.0),  # 3-D, channels-last
    ((64, 24), False, 0.0),  # BatchNorm1d on (N, C)
    ((6, 4, 50), False, 0.0),
    ((16, 4, 8, 8), False, 1000.0),  # large mean next to the spread
    ((16, 4, 8, 8), True, -500.0),
]


def _input(lib, arr: np.ndarray, last: bool):
    """A leaf and the (N, C, *S) tensor fed to batch norm: a permuted view when channels-last."""
    if last:
        leaf = lib.tensor(np.ascontiguousarray(np.moveaxis(arr, 1, -1)), requires_grad=True)
        return leaf, leaf.permute(0, -1, *range(1, arr.ndim - 1))
    leaf = lib.tensor(arr, requires_grad=True)
    return leaf, leaf


def _run(lib, F, arr, last, training, affine, g, dt=np.float32):
    leaf, x = _input(lib, arr.astype(dt), last)
    c = arr.shape[1]
    w = lib.tensor(rand_array((c,), dt, 1, 0.5, 1.5), requires_grad=True) if affine else None
    b = lib.tensor(rand_array((c,), dt, 2), requires_grad=True) if affine else None
    rm = lib.tensor(rand_array((c,), dt, 3, -0.5, 0.5) + arr.mean())
    rv = lib.tensor(rand_array((c,), dt, 4, 0.5, 2.0))
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.2)
    y.backward(lib.tensor(g.astype(dt)))
    grads = [leaf.grad] + ([w.grad, b.grad] if affine else [])
    return y, rm, rv, grads


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape,last,offset", SHAPES, ids=str)
def test_batch_norm_layouts_match_torch(shape, last, offset, training, affine):
    arr = rand_array(shape, np.float32, 0) + np.float32(offset)
    g = rand_array(shape, np.float32, 5)
    e = _run(ember, EF, arr, last, training, affine, g)
    # The reference is torch in float64: torch's own float32 channels-last kernel accumulates in
    # float32 and is 100x less accurate than ember's on large means (2e-4 against 1e-6).
    t = _run(torch, TF, arr, last, training, affine, g, np.float64)
    assert e[0].dtype == ember.float32
    # Eval is x * a + b as in PyTorch: a large mean cancels there in float32 (torch's too).
    r = 2e-4 if offset and not training else 2e-5
    tol = dict(rtol=r, atol=r, check_dtype=False)
    assert_close(e[0], t[0], **tol, what="output")
    assert_close(e[1], t[1], **tol, what="running_mean")
    assert_close(e[2], t[2], **tol, what="running_var")
    for i, (ge, gt) in enumerate(zip(e[3], t[3])):
        # weight/bias gradients are sums over every position: compare relative to their size
        scale = float(np.abs(gt.numpy()).max()) + 1.0
        assert_close(ge, gt, rtol=r, atol=r * scale, check_dtype=False, what=f"grad {i}")


def test_batch_norm_output_keeps_channels_last_layout():
    # A conv output (channels-last memory) stays channels-last through batch norm.
    _, x = _input(ember, rand_array((2, 8, 4, 4), np.float32, 0), True)
    y = EF.batch_norm(x, None, None, training=True)
    assert y._data.strides[1] == y._data.itemsize


@pytest.mark.parametrize("offset", [0.0, 10.0], ids=["one_pass", "centred"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("last", [False, True], ids=["nchw", "channels_last"])
def test_batch_norm_double_backward_matches_torch(training, last, offset):
    # offset 10: the training statistics are centred first (mean 8.7 standard deviations)
    arr = rand_array((3, 4, 2, 5), np.float64, 0) + offset

    def run(lib, F):
        leaf, x = _input(lib, arr, last)
        w = lib.tensor(rand_array((4,), np.float64, 1, 0.5, 1.5), requires_grad=True)
        b = lib.tensor(rand_array((4,), np.float64, 2), requires_grad=True)
        rm = lib.tensor(rand_array((4,), np.float64, 3))
        rv = lib.tensor(rand_array((4,), np.float64, 4, 0.5, 2.0))
        y = F.batch_norm(x, rm, rv, w, b, training=training)
        g = lib.tensor(rand_array(arr.shape, np.float64, 5))
        gx, gw = lib.autograd.grad((y * y).sum(), (leaf, w), create_graph=True)
        (gx * g.permute(0, 2, 3, 1) if last else gx * g).sum().backward(inputs=[leaf, w, b])
        return gx, gw, leaf.grad, w.grad, b.grad

    e, t = run(ember, EF), run(torch, TF)
    for i, (a, b) in enumerate(zip(e, t)):
        assert_close(a, b, rtol=1e-9, atol=1e-9, what=f"item {i}")


# ---- layer norm and group norm, block by block (ember.ops._norm_rows) ------------------------
ROW_CASES = [
    ("ln", (7, 5, 12), (12,)),
    ("ln", (3, 4, 6, 5), (6, 5)),
    ("gn", (6, 8, 5, 3), 4),
    ("gn", (5, 6, 7), 1),
    ("gn", (4, 6, 7), 6),  # instance-norm-like: one channel per group
]


def _rows_run(lib, F, kind, shape, arg, affine, offset):
    x = lib.tensor(rand_array(shape, np.float32, 0) + np.float32(offset), requires_grad=True)
    wshape = arg if kind == "ln" else (shape[1],)
    w = lib.tensor(rand_array(wshape, np.float32, 1, 0.5, 1.5), requires_grad=True)
    b = lib.tensor(rand_array(wshape, np.float32, 2), requires_grad=True)
    wb = (w, b) if affine else (None, None)
    if kind == "ln":
        y = F.layer_norm(x, arg, *wb)
    else:
        y = F.group_norm(x, arg, *wb)
    y.backward(lib.tensor(rand_array(shape, np.float32, 5)))
    return [y, x.grad] + ([w.grad, b.grad] if affine else [])


@pytest.mark.parametrize("block", [8, 30, 1 << 16], ids=lambda b: f"block{b}")
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("kind,shape,arg", ROW_CASES, ids=str)
def test_layer_and_group_norm_blocks_match_torch(kind, shape, arg, affine, block, monkeypatch):
    # Small BLOCK values make several blocks (and a ragged last one) out of small inputs.
    from ember.ops import _norm_rows

    monkeypatch.setattr(_norm_rows, "BLOCK", block)
    e = _rows_run(ember, EF, kind, shape, arg, affine, 0.0)
    t = _rows_run(torch, TF, kind, shape, arg, affine, 0.0)
    for i, (a, b) in enumerate(zip(e, t)):
        assert_close(a, b, rtol=1e-4, atol=1e-5, what=f"item {i}")


@pytest.fixture
def two_threads_split(monkeypatch):
    """Every pass big enough to split, and split onto the pool, on two threads."""
    from ember.ops import _parallel

    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    monkeypatch.setattr(_parallel, "SPLIT", True)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    yield
    ember.set_num_threads(before)


# Odd sizes: primes, a single row or value per group, a ragged last block.
ODD_ROW_CASES = [
    ("ln", (13, 7), (7,)),
    ("ln", (1, 1, 5), (5,)),
    ("ln", (3, 11, 2), (11, 2)),
    ("gn", (5, 6, 3, 3), 3),
    ("gn", (7, 1, 13), 1),
    ("gncl", (3, 8, 5, 7), 4),  # a channels-last input
]


def _rows_run_dt(lib, F, kind, shape, arg, dt, create_graph=False):
    x = lib.tensor(rand_array(shape, dt, 0), requires_grad=True)
    xin = x
    if kind == "gncl":
        xin = x.contiguous(memory_format=lib.channels_last)
    wshape = arg if kind == "ln" else (shape[1],)
    w = lib.tensor(rand_array(wshape, dt, 1, 0.5, 1.5), requires_grad=True)
    b = lib.tensor(rand_array(wshape, dt, 2), requires_grad=True)
    y = F.layer_norm(xin, arg, w, b) if kind == "ln" else F.group_norm(xin, arg, w, b)
    g = lib.tensor(rand_array(shape, dt, 5))
    if not create_graph:
        y.backward(g)
        return [y, x.grad, w.grad, b.grad]
    gx, gw = lib.autograd.grad((y * y * g).sum(), (x, w), create_graph=True)
    (gx * gx).sum().backward(inputs=[x, w, b])
    return [gx, gw, x.grad, w.grad, b.grad]


@pytest.mark.parametrize("save", [True, False], ids=["xc_saved", "xc_recomputed"])
@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind,shape,arg", ODD_ROW_CASES, ids=str)
def test_layer_and_group_norm_blocks_split_over_two_threads(
    kind, shape, arg, dt, save, two_threads_split, monkeypatch
):
    # Blocks of 8 elements (one row or less each) run in per-core runs on the pool: values and
    # every gradient against PyTorch; the weight and bias gradients sum the per-block partials
    # in block order, so they are bit for bit those of one thread. The backward takes the
    # centred values the forward saved (small inputs) or recomputes them (big ones).
    from ember.ops import _group_norm, _norm_rows, _parallel

    monkeypatch.setattr(_norm_rows, "BLOCK", 8)
    monkeypatch.setattr(_norm_rows, "SAVE_MAX", 1 << 30 if save else 0)
    monkeypatch.setattr(_group_norm, "MIN_SAMPLE", 1 << 30)  # (group norm on these rows)
    e = _rows_run_dt(ember, EF, kind, shape, arg, dt)
    t = _rows_run_dt(torch, TF, kind, shape, arg, dt)
    tol = dict(rtol=1e-4, atol=1e-5) if dt == np.float32 else dict(rtol=1e-10, atol=1e-11)
    for i, (a, b) in enumerate(zip(e, t)):
        assert_close(a, b, **tol, what=f"item {i}")
    monkeypatch.setattr(_parallel, "SPLIT", False)
    one = _rows_run_dt(ember, EF, kind, shape, arg, dt)
    for i, (a, b) in enumerate(zip(e, one)):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy()), f"item {i}"


@pytest.mark.parametrize("split", [False, True], ids=["one_thread", "split"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("dt", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(
    "shape,groups,offset",
    [
        ((3, 6, 5, 7), 3, 0.0),
        ((2, 4, 1, 13), 4, 0.0),  # one channel per group
        ((5, 8, 3, 3), 1, 0.0),
        ((2, 6, 3, 2, 5), 2, 0.0),  # 5-D (channels_last_3d)
        ((4, 4, 4, 4), 2, 300.0),  # a large mean next to the spread
    ],
    ids=str,
)
@pytest.mark.parametrize("layout", ["channels_last", "contiguous"])
def test_group_norm_per_sample(
    shape, groups, offset, dt, affine, split, layout, request, monkeypatch
):
    # Group norm sample by sample (ember.ops._group_norm), every sample size taking that path:
    # a channels-last input keeps its layout (output and input gradient, as in PyTorch);
    # values and every gradient against PyTorch in float64; the upstream gradient is stored
    # contiguously (a copy into the channels-last layout).
    from ember.ops import _group_norm

    monkeypatch.setattr(_group_norm, "MIN_SAMPLE", 0)
    if split:  # blocks of two samples (a ragged last one for odd batches), on the pool
        request.getfixturevalue("two_threads_split")
        monkeypatch.setattr(_group_norm, "BLOCK", 2 * int(np.prod(shape[1:])))

    def run(lib, F, d):
        fmt = lib.channels_last if len(shape) == 4 else lib.channels_last_3d
        if layout == "contiguous":
            fmt = lib.contiguous_format
        arr = rand_array(shape, np.float64, 0) + offset
        x = lib.tensor(arr.astype(d)).contiguous(memory_format=fmt).requires_grad_()
        c = shape[1]
        w = lib.tensor(rand_array((c,), d, 1, 0.5, 1.5), requires_grad=True) if affine else None
        b = lib.tensor(rand_array((c,), d, 2), requires_grad=True) if affine else None
        y = F.group_norm(x, groups, w, b)
        y.backward(lib.tensor(rand_array(shape, d, 5)))
        return [y, x.grad] + ([w.grad, b.grad] if affine else [])

    e = run(ember, EF, dt)
    t = run(torch, TF, np.float64)
    assert e[0].stride() == t[0].stride() and e[1].stride() == t[1].stride()
    r = 2e-5 if dt == np.float32 else 1e-10
    if offset and dt == np.float32:
        r = 2e-3
    for i, (a, b) in enumerate(zip(e, t)):
        scale = float(np.abs(b.detach().numpy()).max()) + 1.0 if i > 1 else 1.0
        assert_close(a, b, rtol=r, atol=r * scale, check_dtype=False, what=f"item {i}")


@pytest.mark.parametrize("kind,shape,arg", ODD_ROW_CASES, ids=str)
def test_layer_and_group_norm_double_backward_recomputes_xhat(kind, shape, arg):
    # The forward saves x (not xhat): create_graph recomputes the standardised values.
    e = _rows_run_dt(ember, EF, kind, shape, arg, np.float64, create_graph=True)
    t = _rows_run_dt(torch, TF, kind, shape, arg, np.float64, create_graph=True)
    for i, (a, b) in enumerate(zip(e, t)):
        assert_close(a, b, rtol=1e-9, atol=1e-10, what=f"item {i}")


def test_layer_norm_transformer_size_matches_torch():
    # A slice of the (64, 128, 768) benchmark input at the real block size and thresholds.
    e = _rows_run_dt(ember, EF, "ln", (4, 100, 768), (768,), np.float32)
    t = _rows_run_dt(torch, TF, "ln", (4, 100, 768), (768,), np.float32)
    for i, (a, b) in enumerate(zip(e, t)):
        scale = 1.0 if i < 2 else float(np.abs(b.detach().numpy()).max()) + 1.0
        assert_close(a, b, rtol=1e-4, atol=1e-5 * scale, what=f"item {i}")


@pytest.mark.parametrize("split", [False, True], ids=["one_thread", "split"])
@pytest.mark.parametrize(
    "shape,last",
    [((5, 7, 3, 3), True), ((5, 7, 3, 3), False), ((2, 3, 1, 1), True), ((3, 4), False)],
)
def test_batch_norm_eval_affine_blocks(shape, last, split, monkeypatch):
    # Eval batch norm's y = x * a + b runs in blocks of rows (here 16 bytes: a few values each,
    # a ragged last block), on the pool when split; no_grad as in inference, and its backward
    # (input, weight and bias gradients, blocked the same way) with grads.
    from ember.ops import _norm_layout, _parallel

    monkeypatch.setattr(_norm_layout, "_AFFINE_BLOCK_BYTES", 16)
    if split:
        monkeypatch.setattr(_parallel, "MIN_WORK", 0)
        monkeypatch.setattr(_parallel, "SPLIT", True)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    try:
        arr = rand_array(shape, np.float32, 0)
        arr.flat[0], arr.flat[1], arr.flat[2] = np.inf, np.nan, -0.0
        g = rand_array(shape, np.float32, 5)
        e = _run(ember, EF, arr, last, False, True, g)
        with ember.no_grad():
            ye = EF.batch_norm(_input(ember, arr, last)[1], e[1], e[2], training=False)
    finally:
        ember.set_num_threads(before)
    t = _run(torch, TF, arr, last, False, True, g)
    with torch.no_grad():
        yt = TF.batch_norm(_input(torch, arr, last)[1], t[1], t[2], training=False)
    assert_close(ye, yt, rtol=1e-5, atol=1e-6, what="no_grad output")
    if last and len(shape) == 4:
        assert ye._data.strides[1] == ye._data.itemsize  # channels-last kept
    for i, (a, b) in enumerate(zip([e[0], *e[3]], [t[0], *t[3]])):
        assert_close(a, b, rtol=1e-5, atol=1e-6, what=f"item {i}")


@pytest.mark.parametrize("kind,shape,arg", ROW_CASES[:3], ids=str)
def test_layer_and_group_norm_large_mean(kind, shape, arg):
    # Values around 300 with unit spread: the two-pass statistics keep float32 accuracy.
    e = _rows_run(ember, EF, kind, shape, arg, True, 300.0)
    t = _rows_run(torch, TF, kind, shape, arg, True, 300.0)
    for i, (a, b) in enumerate(zip(e, t)):
        assert_close(a, b, rtol=1e-3, atol=1e-3, what=f"item {i}")


def test_group_norm_statistics_for_instance_norm_running_stats():
    # instance_norm's running estimates come from GroupNorm's per-(sample, group) mean and var.
    x = rand_array((4, 3, 10), np.float32, 0) + np.float32(5)
    rm_e, rv_e = ember.zeros(3), ember.ones(3)
    rm_t, rv_t = torch.zeros(3), torch.ones(3)
    EF.instance_norm(ember.tensor(x), rm_e, rv_e, momentum=0.5)
    TF.instance_norm(torch.tensor(x), rm_t, rv_t, momentum=0.5)
    assert_close(rm_e, rm_t, rtol=1e-5, atol=1e-5)
    assert_close(rv_e, rv_t, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "call",
    [
        lambda L, F, x: F.group_norm(x, 2, L.ones(4, requires_grad=True)),
        lambda L, F, x: F.layer_norm(x, (3,)),
        lambda L, F, x: F.batch_norm(x, None, None, training=True),
        lambda L, F, x: F.instance_norm(x),
    ],
    ids=["group", "layer", "batch", "instance"],
)
def test_norms_of_an_empty_batch(call):
    # A batch of zero samples is valid input: an empty output and empty/zero gradients.
    res = []
    for L, F in ((ember, EF), (torch, TF)):
        x = L.zeros(0, 4, 3, requires_grad=True)
        y = call(L, F, x)
        y.sum().backward()
        res.append((y, x.grad))
    assert_close(res[0][0], res[1][0], what="output")
    assert_close(res[0][1], res[1][1], what="grad")


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_batch_norm_channel_blocks_on_two_threads(affine, monkeypatch):
    # Training batch norm on an NC* input runs each direction as one task per block of channels
    # (ember.ops._norm_layout.for_channel_blocks); forced here on a small input with a ragged
    # split (5 channels over 2 threads), values and every gradient against PyTorch.
    from ember.ops import _norm_layout, _parallel

    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    monkeypatch.setattr(_parallel, "SPLIT", True)
    blocks: list = []

    def spy(fn, n, work):
        blocks.append(n)
        _parallel.parallel_for(fn, n, work)

    monkeypatch.setattr(_norm_layout, "parallel_for", spy)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    try:
        arr = rand_array((6, 5, 4, 3), np.float32, 0) + np.float32(3)
        g = rand_array(arr.shape, np.float32, 5)
        e = _run(ember, EF, arr, False, True, affine, g)
    finally:
        ember.set_num_threads(before)
    t = _run(torch, TF, arr, False, True, affine, g, np.float64)
    assert blocks == [5, 5]  # forward and backward, each split over the 5 channels
    for i, (a, b) in enumerate(zip([e[0], e[1], e[2], *e[3]], [t[0], t[1], t[2], *t[3]])):
        assert_close(a, b, rtol=2e-5, atol=2e-5, check_dtype=False, what=f"item {i}")


# ---- training statistics: one pass, or centred first (ember.ops.norm._bn_forward_block) -------
def _bn_forms(monkeypatch, form: str) -> None:
    """Force every channel into one form: the one-pass statistics (E[x^2] - mean^2, then
    y = x * a + shift) or the centred two-pass ones (x - mean first)."""
    from ember.ops import norm

    monkeypatch.setattr(norm, "_ONE_PASS_RATIO", np.inf if form == "one_pass" else 0.0)


def _centred_flags(arr: np.ndarray) -> np.ndarray:
    """Which channels BatchNormTrain's forward centred first (read from its saved state)."""
    from ember.ops.norm import BatchNormTrain

    class Ctx:
        def save_for_backward(self, *a):
            pass

    ctx = Ctx()
    BatchNormTrain.forward(ctx, arr, None, None, 1e-5)
    return ctx.meta[4]


@pytest.mark.parametrize("form", ["one_pass", "centred"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape,last,offset", [s for s in SHAPES if not s[2]], ids=str)
def test_batch_norm_train_forms_match_torch(shape, last, offset, affine, form, monkeypatch):
    _bn_forms(monkeypatch, form)
    arr = rand_array(shape, np.float32, 0)
    g = rand_array(shape, np.float32, 5)
    e = _run(ember, EF, arr, last, True, affine, g)
    t = _run(torch, TF, arr, last, True, affine, g, np.float64)
    for i, (a, b) in enumerate(zip([e[0], e[1], e[2], *e[3]], [t[0], t[1], t[2], *t[3]])):
        scale = float(np.abs(b.detach().numpy()).max()) + 1.0 if i > 3 else 1.0
        assert_close(a, b, rtol=2e-5, atol=2e-5 * scale, check_dtype=False, what=f"item {i}")


@pytest.mark.parametrize(
    "low,high,centred", [(0.0, 1.0, False), (-1.0, 3.0, False), (1.0, 2.0, True), (99, 101, True)]
)
def test_batch_norm_train_statistics_accuracy(low, high, centred):
    # Values uniform in [0, 1] (mean 1.7 standard deviations) take the one-pass statistics, [1, 2]
    # (5.2) and [99, 101] are centred first; all as accurate as float32 allows next to torch in
    # float64 (measured worst: 2e-6 one-pass at 2 standard deviations, 2e-7 centred).
    shape = (32, 8, 16, 16)
    arr = rand_array(shape, np.float32, 0, low, high)
    assert (_centred_flags(arr) == centred).all()
    g = rand_array(shape, np.float32, 5)
    e = _run(ember, EF, arr, False, True, True, g)
    t = _run(torch, TF, arr, False, True, True, g, np.float64)
    for i, (a, b) in enumerate(zip([e[0], e[1], e[2], *e[3]], [t[0], t[1], t[2], *t[3]])):
        scale = float(np.abs(b.detach().numpy()).max())
        assert_close(a, b, rtol=3e-6, atol=3e-6 * scale, check_dtype=False, what=f"item {i}")


@pytest.mark.parametrize("threads", [1, 2])
def test_batch_norm_train_mixed_forms(threads, monkeypatch):
    # Channel 3 is constant (var 0, mean 2) and channel 4 has a large mean: both centred first.
    # On one thread their block is every channel (all centred); split over two threads
    # (channels 0:3 and 3:5) the first block takes the one-pass form (with an all-zero channel
    # 2: mean 0, var 0) and the second the centred one.
    from ember.ops import _parallel

    monkeypatch.setattr(_parallel, "MIN_WORK", 0)
    before = ember.get_num_threads()
    arr = rand_array((6, 5, 4, 3), np.float32, 0)
    arr[:, 2], arr[:, 3] = 0.0, 2.0
    arr[:, 4] += np.float32(50.0)
    g = rand_array(arr.shape, np.float32, 5)
    ember.set_num_threads(threads)
    try:
        flags = _centred_flags(arr)
        e = _run(ember, EF, arr, False, True, True, g)
    finally:
        ember.set_num_threads(before)
    assert flags.tolist() == ([False] * 3 + [True] * 2 if threads == 2 else [True] * 5)
    t = _run(torch, TF, arr, False, True, True, g, np.float64)
    for i, (a, b) in enumerate(zip([e[0], e[1], e[2], *e[3]], [t[0], t[1], t[2], *t[3]])):
        scale = float(np.abs(b.detach().numpy()).max()) + 1.0
        assert_close(a, b, rtol=2e-5, atol=2e-5 * scale, check_dtype=False, what=f"item {i}")


@pytest.mark.parametrize("form", ["one_pass", "centred"])
@pytest.mark.parametrize("last", [False, True], ids=["nchw", "channels_last"])
def test_batch_norm_train_weight_gradients_only(form, last, monkeypatch):
    # The input needs no gradient: the backward computes the weight and bias gradients only.
    _bn_forms(monkeypatch, form)
    arr = rand_array((8, 4, 6, 5), np.float32, 0, 0.5, 2.5)
    res = []
    for lib, F in ((ember, EF), (torch, TF)):
        x = lib.tensor(arr.astype(np.float64 if lib is torch else np.float32))
        if last:
            x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
        w = lib.tensor(rand_array((4,), x.numpy().dtype, 1, 0.5, 1.5), requires_grad=True)
        b = lib.tensor(rand_array((4,), x.numpy().dtype, 2), requires_grad=True)
        y = F.batch_norm(x, None, None, w, b, training=True)
        y.backward(lib.tensor(rand_array(arr.shape, x.numpy().dtype, 5)))
        res.append((y, w.grad, b.grad))
    for i, (a, b) in enumerate(zip(*res)):
        assert_close(a, b, rtol=2e-5, atol=2e-5, check_dtype=False, what=f"item {i}")


def test_batch_norm_train_bfloat16():
    # bfloat16 keeps the centred statistics (no BLAS sums in that dtype).
    arr = rand_array((8, 4, 5, 5), np.float32, 0, 1.0, 3.0)
    up = rand_array(arr.shape, np.float32, 5)
    res = []
    for lib, F, dt in ((ember, EF, ember.bfloat16), (torch, TF, torch.float64)):
        x = lib.tensor(arr).to(dt).requires_grad_()
        w = lib.tensor(rand_array((4,), np.float32, 1, 0.5, 1.5)).to(dt).requires_grad_()
        y = F.batch_norm(x, None, None, w, None, training=True)
        y.backward(lib.tensor(up).to(dt))
        res.append([t.detach().float() for t in (y, x.grad, w.grad)])
    assert y.dtype == torch.float64 and res[0][0].dtype == ember.float32
    for i, (a, b) in enumerate(zip(*res)):
        scale = float(b.abs().max())
        assert_close(a, b, rtol=2e-2, atol=2e-2 * scale, check_dtype=False, what=f"item {i}")


@pytest.mark.parametrize("last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan, 1e30, 3e19, -1e25], ids=str)
def test_batch_norm_train_non_finite_and_huge_values(value, last):
    # One channel holds inf/NaN (NaN over that channel, as in PyTorch, without NumPy warnings)
    # or finite values whose squares overflow float32: their statistics are taken in float64,
    # as PyTorch accumulates them (a var beyond float32 is inf, invstd 0: y = bias, as torch).
    arr = rand_array((4, 3, 5, 1), np.float32, 0)
    arr[1, 1, 2] = value
    up = rand_array(arr.shape, np.float32, 5)
    res = []
    for lib, F in ((ember, EF), (torch, TF)):
        leaf, x = _input(lib, arr, last)
        w = lib.tensor(np.array([1.0, 0.7, 1.3], np.float32), requires_grad=True)
        b = lib.tensor(np.array([0.5, 1.0, -1.0], np.float32), requires_grad=True)
        rm, rv = lib.zeros(3), lib.ones(3)
        y = F.batch_norm(x, rm, rv, w, b, training=True)
        y.backward(lib.tensor(up))
        res.append([y, leaf.grad, w.grad, b.grad, rm, rv])
    for i, (a, b) in enumerate(zip(*res)):
        assert_close(a, b, rtol=2e-5, atol=2e-5, what=f"item {i}")  # NaN == NaN here


def _half_case(kind: str, shape: tuple, values: np.ndarray, lib):
    x = lib.tensor(values.astype(np.float16), requires_grad=True)
    if kind == "layer":
        m = lib.nn.LayerNorm(shape[-1]).half()
    else:
        m = lib.nn.GroupNorm(2, shape[1]).half()
    y = m(x)
    up = np.random.default_rng(1).standard_normal(shape).astype(np.float16)
    y.backward(lib.tensor(up))
    return [t.detach().float().numpy() for t in (y, x.grad, m.weight.grad, m.bias.grad)]


@pytest.mark.parametrize(
    "kind, shape, spread",
    [
        ("layer", (2, 1), 1.0),  # a width of 1: variance 0, invstd 1/sqrt(eps)
        ("layer", (8, 300), 1.0),
        ("layer", (4, 768), 1e-3),  # near-constant rows
        ("group", (2, 8, 4, 4), 1e-3),
        ("group", (2, 8, 64, 65), 3.0),  # float16 sums of squares would overflow
    ],
)
def test_half_layer_and_group_norm_in_float32_as_torch(kind, shape, spread):
    # PyTorch accumulates half-precision norms in float32; in float16 a small variance's
    # invstd**2 and a big sample's sum of squares overflow to inf (NaN gradients).
    rng = np.random.default_rng(0)
    values = 1.0 + spread * rng.standard_normal(shape)
    got = _half_case(kind, shape, values, ember)
    want = _half_case(kind, shape, values, torch)
    for g in got:
        assert np.isfinite(g).all()
    np.testing.assert_allclose(got[0], want[0], rtol=2e-3, atol=2e-3)
    if spread < 1:  # near-constant rows: gradients are rounding noise amplified by invstd
        return
    for g, w in zip(got[1:], want[1:]):  # (torch rounds its float32 sums to half elsewhere)
        np.testing.assert_allclose(g, w, rtol=1e-2, atol=1e-2 * max(1.0, np.abs(w).max()))
