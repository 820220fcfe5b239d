"""bfloat16 as a real dtype (ember/_bfloat16.py over ml_dtypes), compared with torch bit for bit:
creation, casts, printing, arithmetic, autograd, modules, and .pth / safetensors files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import safetensors.torch
import torch

import ember

G = np.random.default_rng(0)
A = (G.standard_normal((4, 5)) * 3).astype(np.float32)
B = G.standard_normal((4, 5)).astype(np.float32)
W = G.standard_normal((3, 5)).astype(np.float32)
V = G.standard_normal(300).astype(np.float32)


def _bits(t) -> np.ndarray:
    """The 16-bit words of a bfloat16 tensor (ember or torch)."""
    if isinstance(t, torch.Tensor):
        return t.detach().view(torch.int16).numpy()
    return t.detach()._data.view(np.int16)


def _values(t) -> np.ndarray:
    return t.detach().float().numpy()


def _same(e, t, ulps: int = 0) -> None:
    """Same dtype and shape; the same values (``ulps=0``; +0 and -0 count as equal), or values
    at most ``ulps`` bfloat16 steps apart (relative to the value, or to the tensor's largest
    value for results of cancellation near zero)."""
    assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1]
    assert tuple(e.shape) == tuple(t.shape)
    if t.dtype is not torch.bfloat16:
        np.testing.assert_array_equal(_values(e), _values(t))
        return
    if ulps == 0:
        np.testing.assert_array_equal(_values(e), _values(t))  # NaN-aware, -0 == 0
        return
    ev, tv = _values(e), _values(t)
    eps = 2.0**-7  # one bfloat16 step at 1.0
    np.testing.assert_allclose(ev, tv, rtol=ulps * eps, atol=ulps * eps * np.abs(tv).max())


def _ins(m):
    return m.tensor(A).bfloat16(), m.tensor(B).to(m.bfloat16), m.tensor(W).bfloat16()


def _both(f, ulps: int = 0) -> None:
    _same(f(ember, *_ins(ember)), f(torch, *_ins(torch)), ulps)


# ---- import cost and the missing-package error -------------------------------------------------
def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_import_ember_does_not_import_ml_dtypes():
    code = (
        "import sys, ember\n"
        "assert 'ml_dtypes' not in sys.modules\n"
        "assert ember.bfloat16.itemsize == 2 and 'ml_dtypes' not in sys.modules\n"
        "x = ember.zeros(2, dtype=ember.bfloat16)\n"
        "assert 'ml_dtypes' in sys.modules and x.dtype is ember.bfloat16\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr


def test_without_ml_dtypes_bfloat16_raises_naming_the_extra():
    code = (
        "import sys\n"
        "sys.modules['ml_dtypes'] = None\n"
        "import ember\n"
        "x = ember.ones(2)\n"
        "try:\n"
        "    x.to(ember.bfloat16)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert "pip install 'ember[bfloat16]'" in r.stdout


# ---- creation, casts, printing ------------------------------------------------------------------
CREATE = {
    "zeros": lambda m: m.zeros(2, 3, dtype=m.bfloat16),
    "ones": lambda m: m.ones(2, 3, dtype=m.bfloat16),
    "full": lambda m: m.full((3,), 1.01, dtype=m.bfloat16),
    "tensor": lambda m: m.tensor([1.01, -2.3, 1e-3, 3.0e38, 1e-40], dtype=m.bfloat16),
    "arange": lambda m: m.arange(0, 2, 0.3, dtype=m.bfloat16),
    "empty_like": lambda m: m.zeros_like(m.tensor(A).bfloat16()),
    "method": lambda m: m.tensor(V).bfloat16(),
    "to": lambda m: m.tensor(V).to(m.bfloat16),
    "to_kw": lambda m: m.tensor(V).to(dtype=m.bfloat16),
    "from_int": lambda m: m.arange(300).to(m.bfloat16),
    "from_double": lambda m: m.tensor(V.astype(np.float64) * 1.0001).bfloat16(),
    "from_half": lambda m: m.tensor(V).half().bfloat16(),
}


@pytest.mark.parametrize("name", list(CREATE))
def test_creation_and_casts_to_bfloat16_are_bit_exact(name):
    e, t = CREATE[name](ember), CREATE[name](torch)
    _same(e, t)
    np.testing.assert_array_equal(_bits(e), _bits(t))  # the same words, -0 included


@pytest.mark.parametrize("target", ["float", "double", "half", "int", "long", "bool"])
def test_casts_from_bfloat16(target):
    _same(
        getattr(ember.tensor(V).bfloat16(), target)(), getattr(torch.tensor(V).bfloat16(), target)()
    )


def test_dtype_facts_and_item():
    e, t = ember.tensor(V).bfloat16(), torch.tensor(V).bfloat16()
    assert e.element_size() == t.element_size() == 2
    assert e.nbytes == t.nbytes and e.dtype.itemsize == t.dtype.itemsize == 2
    assert e.dtype.is_floating_point and e.is_floating_point()
    assert e[3].item() == t[3].item() and e[:5].tolist() == t[:5].tolist()


@pytest.mark.parametrize("data", [A, V[:3], np.float32(2.5), np.zeros((0, 2), np.float32)])
def test_printing_as_torch(data):
    e = repr(ember.tensor(data).bfloat16())
    t = repr(torch.tensor(data).bfloat16())
    assert e == t.replace("torch.", "ember.")


# ---- arithmetic: float32 inside, one rounding to nearest even ------------------------------------
OPS = {
    "add": lambda m, a, b, w: a + b,
    "sub": lambda m, a, b, w: a - b,
    "mul": lambda m, a, b, w: a * b,
    "div": lambda m, a, b, w: a / b,
    "add_number": lambda m, a, b, w: a + 0.3,
    "sub_number": lambda m, a, b, w: a - 1.01,
    "rsub_number": lambda m, a, b, w: 2.7 - a,
    "mul_number": lambda m, a, b, w: a * 1.01,
    "div_number": lambda m, a, b, w: a / 0.3,
    "pow_number": lambda m, a, b, w: a.abs() ** 1.01,
    "matmul": lambda m, a, b, w: a @ w.t(),
    "sum": lambda m, a, b, w: a.sum(),
    "sum_dim": lambda m, a, b, w: a.sum(0),
    "mean": lambda m, a, b, w: a.mean(),
    "mean_dim": lambda m, a, b, w: a.mean(1, keepdim=True),
    "exp": lambda m, a, b, w: a.exp(),
    "relu": lambda m, a, b, w: a.relu(),
    "softmax": lambda m, a, b, w: a.softmax(-1),
    "linear": lambda m, a, b, w: m.nn.functional.linear(a, w, w[:, 0]),
    "tanh": lambda m, a, b, w: a.tanh(),
    "sigmoid": lambda m, a, b, w: a.sigmoid(),
    "sqrt": lambda m, a, b, w: a.abs().sqrt(),
    "max": lambda m, a, b, w: a.max(1).values,
    "argmax": lambda m, a, b, w: a.argmax(1),
    "compare": lambda m, a, b, w: a > b,
    "cat": lambda m, a, b, w: m.cat([a, b]),
    "view": lambda m, a, b, w: a[1:, ::2].t(),
    "where": lambda m, a, b, w: m.where(a > 0, a, b),
    "clamp": lambda m, a, b, w: a.clamp(-1, 1),
    "layer_norm": lambda m, a, b, w: m.nn.functional.layer_norm(a, (5,)),
    "var": lambda m, a, b, w: a.var(),
    "with_float32": lambda m, a, b, w: a + b.float(),  # promotes to float32, as torch
    "with_0dim_float32": lambda m, a, b, w: a * m.tensor(1.5),  # stays bfloat16
    "addcmul": lambda m, a, b, w: m.addcmul(a, b, b, value=0.01),
    "addcdiv": lambda m, a, b, w: m.addcdiv(a, b, b.abs() + 1, value=-0.01),
    "lerp": lambda m, a, b, w: m.lerp(a, b, 0.1),
}


@pytest.mark.parametrize("name", list(OPS))
def test_ops_match_torch_bit_for_bit(name):
    _both(OPS[name])


# PyTorch's vectorised exp/log/erf differ from NumPy's in float32's last bit, which can move the
# rounded bfloat16 result by one step.
NEAR = {
    "log_softmax": lambda m, a, b, w: m.log_softmax(a, -1),
    "gelu": lambda m, a, b, w: m.nn.functional.gelu(a),
    "linspace": lambda m, a, b, w: m.linspace(0, 1, 7, dtype=m.bfloat16),
    "add_alpha": lambda m, a, b, w: m.add(a, b, alpha=-0.1),
}


@pytest.mark.parametrize("name", list(NEAR))
def test_ops_within_one_bfloat16_step(name):
    _both(NEAR[name], ulps=1)


INPLACE = {
    "mul_": lambda m, a, b: a.mul_(0.9),
    "add_": lambda m, a, b: a.add_(b),
    "add_alpha_": lambda m, a, b: a.add_(b, alpha=-0.1),
    "addcmul_": lambda m, a, b: a.addcmul_(b, b, value=0.01),
    "addcdiv_": lambda m, a, b: a.addcdiv_(b, b.abs() + 1, value=-0.01),
    "sqrt_": lambda m, a, b: a.abs_().sqrt_(),
    "lerp_": lambda m, a, b: a.lerp_(b, 0.1),
    "copy_": lambda m, a, b: a.copy_(b.float() * 1.001),
    "setitem": lambda m, a, b: a.__setitem__(slice(0, 100), 1.01) or a,
}


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_ops(name):
    ulps = 1 if name == "add_alpha_" else 0
    res = []
    for m in (ember, torch):
        a, b = m.tensor(V).bfloat16(), m.tensor(V[::-1].copy()).bfloat16()
        out = INPLACE[name](m, a, b)
        assert out is a and a.dtype == m.bfloat16
        res.append(a)
    _same(*res, ulps=ulps)


# ---- autograd ---------------------------------------------------------------------------------
GRAD_EXACT = ["mul", "matmul", "linear", "sum", "mean_dim", "relu", "mul_number", "add"]
GRAD_NEAR = ["exp", "div", "softmax", "tanh", "sigmoid", "layer_norm"]


def _grads(m, name):
    a, b, w = (t.requires_grad_() for t in _ins(m))
    y = OPS[name](m, a, b, w)
    up = m.tensor(np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32))
    y.backward(up.bfloat16())
    return y, [a.grad, b.grad, w.grad]


@pytest.mark.parametrize("name", GRAD_EXACT + GRAD_NEAR)
def test_gradients_are_bfloat16_as_torch(name):
    """Gradients of bfloat16 inputs are bfloat16. Where torch's backward is one kernel (products,
    matmul, sums, masks) they are bit-exact; where torch composes several bfloat16 ops (exp's
    ``grad * result``, div, softmax, norms) ember computes the formula in float32 and rounds
    once, so a value can be one or two bfloat16 steps away (never a different dtype)."""
    ey, eg = _grads(ember, name)
    ty, tg = _grads(torch, name)
    _same(ey, ty)
    for e, t in zip(eg, tg):
        assert (e is None) == (t is None)
        if t is not None:
            assert e.dtype is ember.bfloat16
            _same(e, t, ulps=0 if name in GRAD_EXACT else 2)


def _mlp(m):
    m.manual_seed(0)
    net = m.nn.Sequential(m.nn.Linear(5, 8), m.nn.ReLU(), m.nn.Linear(8, 3))
    g = np.random.default_rng(5)
    with m.no_grad():
        for p in net.parameters():
            p.copy_(m.tensor(g.standard_normal(tuple(p.shape)).astype(np.float32)))
    return net.to(m.bfloat16)


def test_module_to_bfloat16_forward_and_backward():
    en, tn = _mlp(ember), _mlp(torch)
    assert all(p.dtype is ember.bfloat16 for p in en.parameters())
    ey, ty = en(ember.tensor(A).bfloat16()), tn(torch.tensor(A).bfloat16())
    _same(ey, ty)
    ey.sum().backward()
    ty.sum().backward()
    for ep, tp in zip(en.parameters(), tn.parameters()):
        assert ep.grad.dtype is ember.bfloat16
        _same(ep.grad, tp.grad)
    assert en.float()[0].weight.dtype is ember.float32


def test_optimizer_steps_on_bfloat16_parameters():
    """SGD with momentum and Adam update bfloat16 parameters as torch's (same gradients in)."""
    for opt_name, kw in (("SGD", {"lr": 0.1, "momentum": 0.9}), ("Adam", {"lr": 0.01})):
        res = []
        for m in (ember, torch):
            p = m.nn.Parameter(m.tensor(V).bfloat16())
            opt = getattr(m.optim, opt_name)([p], **kw)
            for k in range(5):
                p.grad = (m.tensor(V[::-1].copy()) * (k + 1) * 0.1).bfloat16()
                opt.step()
            res.append(p)
        assert res[0].dtype is ember.bfloat16
        _same(*res, ulps=2)


# ---- checkpoints ---------------------------------------------------------------------------------
def _special():
    """Values that test the bits: subnormals, infinities, NaN, -0, the largest finite."""
    return np.array([1.0, -2.5, 3.0e38, 1e-40, -0.0, np.inf, -np.inf, np.nan], np.float32)


def test_pth_ember_to_torch_bit_exact(tmp_path):
    src = ember.tensor(np.concatenate([V, _special()])).bfloat16()
    net = _mlp(ember)
    ember.save({"t": src, "view": src[2:9:2], "net": net.state_dict()}, tmp_path / "e.pth")
    back = torch.load(tmp_path / "e.pth")
    assert back["t"].dtype is torch.bfloat16
    np.testing.assert_array_equal(_bits(back["t"]), _bits(src))
    np.testing.assert_array_equal(_bits(back["view"]), _bits(src[2:9:2]))
    tn = _mlp(torch)
    tn.load_state_dict(back["net"])
    for (k, ep), tp in zip(net.state_dict().items(), tn.state_dict().values()):
        np.testing.assert_array_equal(_bits(ep), _bits(tp), err_msg=k)


@pytest.mark.parametrize("mmap", [False, True])
def test_pth_torch_to_ember_bit_exact(tmp_path, mmap):
    src = torch.tensor(np.concatenate([V, _special()])).bfloat16()
    torch.save({"t": src, "net": _mlp(torch).state_dict()}, tmp_path / "t.pth")
    back = ember.load(tmp_path / "t.pth", mmap=mmap)
    assert back["t"].dtype is ember.bfloat16
    np.testing.assert_array_equal(_bits(back["t"]), _bits(src))
    en = _mlp(ember)
    en.load_state_dict(back["net"])
    assert en[0].weight.dtype is ember.bfloat16


def test_safetensors_both_ways_bit_exact(tmp_path):
    data = np.concatenate([V, _special()])
    ember.serialization.save_safetensors(
        {"x": ember.tensor(data).bfloat16()}, tmp_path / "e.safetensors"
    )
    t = safetensors.torch.load_file(tmp_path / "e.safetensors")["x"]
    assert t.dtype is torch.bfloat16
    np.testing.assert_array_equal(_bits(t), _bits(ember.tensor(data).bfloat16()))
    safetensors.torch.save_file({"x": t}, tmp_path / "t.safetensors")
    for e in (
        ember.serialization.load_safetensors(tmp_path / "t.safetensors")["x"],
        ember.load(tmp_path / "t.safetensors")["x"],
    ):
        assert e.dtype is ember.bfloat16
        np.testing.assert_array_equal(_bits(e), _bits(t))


# ---- the nn functions a bfloat16 model runs ------------------------------------------------------
X4 = G.standard_normal((2, 3, 8, 8)).astype(np.float32)
S3 = G.standard_normal((2, 5, 4)).astype(np.float32)
K4 = G.standard_normal((4, 3, 3, 3)).astype(np.float32)
NN = {
    "conv2d": lambda m, x, s: m.nn.functional.conv2d(x, m.tensor(K4).bfloat16(), padding=1),
    "max_pool2d": lambda m, x, s: m.nn.functional.max_pool2d(x, 2),
    "avg_pool2d": lambda m, x, s: m.nn.functional.avg_pool2d(x, 2),
    "batch_norm": lambda m, x, s: m.nn.functional.batch_norm(x, None, None, training=True),
    "interpolate": lambda m, x, s: m.nn.functional.interpolate(x, scale_factor=2),
    "pad": lambda m, x, s: m.nn.functional.pad(x, (1, 1)),
    "gelu": lambda m, x, s: m.nn.functional.gelu(s),
    "silu": lambda m, x, s: m.nn.functional.silu(s),
    "softplus": lambda m, x, s: m.nn.functional.softplus(s),
    "cross_entropy": lambda m, x, s: m.nn.functional.cross_entropy(
        s.reshape(10, 4), m.tensor([0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    ),
    "mse_loss": lambda m, x, s: m.nn.functional.mse_loss(s, s * 0.5),
    "embedding": lambda m, x, s: m.nn.functional.embedding(m.tensor([0, 2]), s[0]),
    "attention": lambda m, x, s: m.nn.functional.scaled_dot_product_attention(s, s, s),
    "layer_norm": lambda m, x, s: m.nn.functional.layer_norm(s, (4,)),
    "rms_norm": lambda m, x, s: m.nn.functional.rms_norm(s, (4,)),
    "bmm": lambda m, x, s: s @ s.transpose(1, 2),
    "einsum": lambda m, x, s: m.einsum("bij,bkj->bik", s, s),
    "logsumexp": lambda m, x, s: s.logsumexp(1),
    "cumsum": lambda m, x, s: s.cumsum(1),
    "topk": lambda m, x, s: s.topk(2).values,
    "norm": lambda m, x, s: s.norm(),
    "std": lambda m, x, s: s.std(1),
    "masked_fill": lambda m, x, s: s.masked_fill(s > 0, 0.5),
}


@pytest.mark.parametrize("name", list(NN))
def test_nn_functions_on_bfloat16(name):
    """bfloat16 in, bfloat16 out, values and input gradients within two bfloat16 steps of
    torch's (most are bit-exact)."""
    res = []
    for m in (ember, torch):
        x = m.tensor(X4).bfloat16().requires_grad_()
        s = m.tensor(S3).bfloat16().requires_grad_()
        out = NN[name](m, x, s)
        # a random projection: a plain sum has zero gradient through the norms
        r = np.random.default_rng(2).standard_normal(tuple(out.shape)).astype(np.float32)
        (out.float() * m.tensor(r)).sum().backward()
        res.append((out, x.grad, s.grad))
    (eo, ex, es), (to, tx, ts) = res
    _same(eo, to, ulps=2)
    for e, t in ((ex, tx), (es, ts)):
        assert (e is None) == (t is None)
        if t is not None:
            _same(e, t, ulps=2)
