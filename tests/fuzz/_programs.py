"""Random small programs run side by side in ember and torch, and the comparison of what each
step gives: dtype, shape, values (NaN positions included), gradients, or the exception type.

A program is drawn while it runs: inputs first (random shapes including empty and 0-d ones,
broadcastable partners, every real dtype, NaN/inf/-0.0/huge values and integer extremes), then
one to three steps, each an op of the catalogue on earlier values with drawn arguments (random
``dim``/``keepdim``, scalars, in-place ops on clones, views or the values themselves), then a
backward pass through the last value when torch records a graph. The first step where torch
raises ends the program (ember must raise the same type).

The draws go through a *chooser*: ``RandomChooser`` (NumPy) for long standalone runs,
``DataChooser`` (hypothesis ``data``) in the test suite, so hypothesis can shrink a failure.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import ember

from ._catalogue import OPS, Op

NAN, INF = float("nan"), float("inf")
DTYPES = ["float32"] * 4 + ["float64"] * 2 + ["float16", "int64", "int64", "int32", "int16",
          "int8", "uint8", "bool", "bool"]  # fmt: skip
SIZES = [0, 1, 1, 1, 2, 2, 2, 3, 3, 4]
RTOL = {"float16": 1e-2, "float32": 1e-4, "float64": 1e-9}


class Mismatch(AssertionError):
    """ember and torch disagree; the message says where and how."""


class RandomChooser:
    """Draws from a NumPy generator (fast; for long runs outside pytest)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def integers(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, seq: list) -> Any:
        return seq[int(self.rng.integers(len(seq)))]

    def permutation(self, n: int) -> list:
        return [int(i) for i in self.rng.permutation(n)]


class DataChooser:
    """Draws through hypothesis's ``data`` object (shrinkable)."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def integers(self, lo: int, hi: int) -> int:
        return self.data.draw(self.st.integers(lo, hi))

    def choice(self, seq: list) -> Any:
        return seq[self.data.draw(self.st.integers(0, len(seq) - 1))]

    def permutation(self, n: int) -> list:
        return self.data.draw(self.st.permutations(list(range(n))))


# ---- inputs ------------------------------------------------------------------------------
def _values(rng: np.random.Generator, shape: tuple, dtype: str) -> np.ndarray:
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("float"):
        info = np.finfo(dtype)
        a = rng.normal(0, 2, shape)
        special = np.array([NAN, INF, -INF, -0.0, 0.0, 1.0, -1.0, float(info.max) / 2,
                            float(info.tiny) / 4, 0.5, -2.5])  # fmt: skip
        pick = rng.random(shape) < 0.2
        a = np.where(pick, special[rng.integers(0, len(special), shape)], a)
        return a.astype(dtype)
    info = np.iinfo(dtype)
    a = rng.integers(max(info.min, -5), min(info.max, 5) + 1, shape)
    special = np.array([info.min, info.max, 0, min(info.max, 1), max(info.min, -1)])
    pick = rng.random(shape) < 0.1
    return np.where(pick, special[rng.integers(0, len(special), shape)], a).astype(dtype)


def _shape(c: Any) -> tuple:
    return tuple(c.choice(SIZES) for _ in range(c.integers(0, 3)))


def _partner_shape(c: Any, base: tuple) -> tuple:
    """A shape that broadcasts with ``base`` (now and then one that does not)."""
    kind = c.integers(0, 9)
    if kind == 0:
        return _shape(c)
    if kind == 1:
        return base
    shape = [s if c.integers(0, 2) else 1 for s in base]
    return tuple(shape[c.integers(0, len(shape)) :] if shape else shape)


@dataclass
class Run:
    """The values of a program so far, as (ember, torch) pairs, and what happened."""

    pairs: list = field(default_factory=list)
    leaves: list = field(default_factory=list)
    log: list = field(default_factory=list)
    # The loosest tolerance a value may need: a float64 result computed from float32 (or half)
    # inputs is only as exact as they were.
    rtol: float = 0.0

    def describe(self) -> str:
        return "\n  ".join(self.log)


def make_inputs(c: Any, run: Run) -> None:
    rng = np.random.default_rng(c.integers(0, 2**31))
    base = _shape(c)
    for i in range(c.integers(1, 3)):
        shape = base if i == 0 else _partner_shape(c, base)
        dtype = c.choice(DTYPES)
        arr = _values(rng, shape, dtype)
        rg = dtype in ("float32", "float64") and c.integers(0, 1) == 1
        e = ember.tensor(arr, requires_grad=rg)
        t = torch.tensor(arr, requires_grad=rg)
        run.pairs.append((e, t))
        run.rtol = max(run.rtol, RTOL["float16"] if dtype == "float16" else
                       0.0 if dtype == "float64" else RTOL["float32"])  # fmt: skip
        if rg:
            run.leaves.append((e, t))
        run.log.append(f"x{i} = tensor({arr.tolist()!r}, dtype={dtype}, requires_grad={rg})")


# ---- running and comparing -----------------------------------------------------------------
def _call(op: Op, m: Any, args: list, params: dict) -> tuple:
    """(result, exception) of one op in one library, with ember's warnings recorded."""
    # The filters in force are kept (ember's among them): what a user would see is recorded.
    with warnings.catch_warnings(record=True) as caught:
        try:
            res, exc = op.fn(m, args, params), None
        except Exception as e:  # noqa: BLE001 - the type is compared with torch's
            res, exc = None, e
    if m is ember:
        noisy = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        if noisy:
            raise Mismatch(f"{op.name}: ember let a NumPy warning through: {noisy[0].message}")
    return res, exc


def _same_exception(where: str, e_exc: Any, t_exc: Any, e_res: Any) -> None:
    if t_exc is None and e_exc is None:
        return
    if t_exc is None:
        raise Mismatch(f"{where}: ember raised {type(e_exc).__name__}: {e_exc}; torch did not")
    if e_exc is None:
        raise Mismatch(
            f"{where}: torch raised {type(t_exc).__name__}: {str(t_exc)[:200]}; ember returned "
            f"{e_res!r}"[:600]
        )
    if not isinstance(e_exc, type(t_exc)):
        raise Mismatch(
            f"{where}: ember raised {type(e_exc).__name__}: {e_exc}; torch raised "
            f"{type(t_exc).__name__}: {str(t_exc)[:200]}"
        )


def _dtype_name(x: Any) -> str:
    return x.dtype.name if isinstance(x, ember.Tensor) else str(x.dtype).replace("torch.", "")


def compare(where: str, e: Any, t: Any, rtol: float = 0.0) -> None:
    """The same structure, dtypes, shapes and values (NaN where torch has NaN); ``rtol`` is a
    floor under the dtype's own tolerance."""
    if isinstance(t, (tuple, list)):
        if not isinstance(e, (tuple, list)) or len(e) != len(t):
            raise Mismatch(f"{where}: ember gave {type(e).__name__}, torch {len(t)} values")
        for i, (a, b) in enumerate(zip(e, t)):
            compare(f"{where}[{i}]", a, b, rtol)
        return
    if not isinstance(t, torch.Tensor):
        if isinstance(e, ember.Tensor) or not (e == t or (e != e and t != t)):
            raise Mismatch(f"{where}: ember {e!r}, torch {t!r}")
        return
    if not isinstance(e, ember.Tensor):
        raise Mismatch(f"{where}: ember gave {type(e).__name__}, torch a tensor")
    if _dtype_name(e) != _dtype_name(t):
        raise Mismatch(f"{where}: dtype {_dtype_name(e)}, torch {_dtype_name(t)}")
    if tuple(e.shape) != tuple(t.shape):
        raise Mismatch(f"{where}: shape {tuple(e.shape)}, torch {tuple(t.shape)}")
    a = np.asarray(e._data)
    b = t.detach().numpy()
    _compare_values(where, a, b, _dtype_name(t), rtol)


def _compare_values(where: str, a: np.ndarray, b: np.ndarray, dtype: str, floor: float) -> None:
    if dtype not in RTOL:
        if not np.array_equal(a, b):
            raise Mismatch(f"{where}: values {a.tolist()}, torch {b.tolist()}")
        return
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if not np.array_equal(np.isnan(a64), np.isnan(b64)):
        raise Mismatch(f"{where}: NaN at different places: {a.tolist()}, torch {b.tolist()}")
    finite = np.isfinite(b64)
    scale = float(np.abs(b64[finite]).max()) if finite.any() else 1.0
    rtol = max(RTOL[dtype], floor)
    ok = np.isclose(a64, b64, rtol=rtol, atol=rtol * max(scale, 1.0) * 1e-2, equal_nan=True)
    if not ok.all():
        raise Mismatch(f"{where}: values {a.tolist()}, torch {b.tolist()}")


def _operands(c: Any, run: Run, op: Op) -> list[int]:
    return [c.integers(0, len(run.pairs) - 1) for _ in range(op.arity)]


def _prepare_inplace(c: Any, pair: tuple) -> tuple:
    """The target of an in-place op: a clone (mostly), a view of a clone, or the value itself
    (then autograd's errors about leaves and modified saved tensors are compared too)."""
    how = c.integers(0, 5)
    if how <= 2:
        return tuple(x.clone() for x in pair), "clone"
    if how == 3 and pair[1].dim() > 0 and pair[1].shape[0] > 0:
        return tuple(x.clone()[:1] for x in pair), "view of a clone"
    return pair, "itself"


def run_step(c: Any, run: Run, ops: list[Op]) -> bool:
    """Draw and run one op; False when torch raised (the program ends there)."""
    op = c.choice(ops)
    idx = _operands(c, run, op)
    pairs = [run.pairs[i] for i in idx]
    target = ""
    if op.inplace:
        pairs[0], target = _prepare_inplace(c, pairs[0])
    params = op.params(c, [p[1] for p in pairs])
    where = f"{op.name}({', '.join(f'x{i}' for i in idx)}, {params}) {target}".rstrip()
    run.log.append(where)
    e_args = [p[0] for p in pairs]
    t_args = [p[1] for p in pairs]
    t_res, t_exc = _call(op, torch, t_args, params)
    e_res, e_exc = _call(op, ember, e_args, params)
    _same_exception(where, e_exc, t_exc, e_res)
    if t_exc is not None:
        return False
    compare(where, e_res, t_res, run.rtol)
    outs = list(zip(e_res, t_res)) if isinstance(t_res, tuple) else [(e_res, t_res)]
    for e, t in outs:
        if isinstance(t, torch.Tensor):
            run.pairs.append((e, t))
    return True


def backward(run: Run, c: Any) -> None:
    """Backpropagate from the last value with the same upstream gradient; compare every
    input's gradient (or the exception type)."""
    e, t = run.pairs[-1]
    if not (isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point):
        return
    up = np.random.default_rng(c.integers(0, 2**31)).normal(size=tuple(t.shape))
    up = up.astype(t.detach().numpy().dtype)
    run.log.append("backward")
    with warnings.catch_warnings(record=True) as caught:
        try:
            e.backward(ember.tensor(up))
            e_exc = None
        except Exception as exc:  # noqa: BLE001
            e_exc = exc
    try:
        t.backward(torch.tensor(up))
        t_exc = None
    except Exception as exc:  # noqa: BLE001
        t_exc = exc
    _same_exception("backward", e_exc, t_exc, None)
    if t_exc is not None:
        return
    if [w for w in caught if issubclass(w.category, RuntimeWarning)]:
        raise Mismatch("backward: ember let a NumPy warning through")
    for i, (le, lt) in enumerate(run.leaves):
        if lt.grad is None:
            if le.grad is not None and np.any(np.asarray(le.grad._data)):
                raise Mismatch(f"grad of leaf {i}: ember {le.grad}, torch None")
            continue
        if le.grad is None:
            raise Mismatch(f"grad of leaf {i}: ember None, torch {lt.grad}")
        # Gradients sum terms of very different sizes: a looser floor than the values.
        compare(f"grad of leaf {i}", le.grad, lt.grad, max(run.rtol, RTOL["float32"]) * 10)


# Mismatches that are known and accepted, with the reason (docs/differences.md, "What the
# differential fuzzer accepts"). Each pattern is matched against the first line of a mismatch.
KNOWN = [
    (r"^backward: torch raised RuntimeError: (result type \w+ can't be cast|Negation, the|"
     r"Subtraction, the|value cannot be converted|false INTERNAL ASSERT)", None,
     "torch's backward formulas fail on bool/integer operands; ember's work"),
    (r"^lerp\(.*\): ember raised NotImplementedError", None, "integer lerp is refused"),
    (r"^add(cmul|cdiv)\(.*'s': (1099511627776|-?inf|1e\+30)\}", None, "extreme `value` scalars"),
    (r"^grad of leaf \d+: NaN at different places", None, "gradients at inf/NaN/subnormal values"),
    (r"^grad of leaf \d+: values .*(e[+-](2\d|3\d|4\d)|\d{10,}\.)", None, "near overflow"),
    (r"^grad of leaf", r"\binf\b|\bnan\b|e[+-](3[89]|4\d)|e-30\d", "at inf/NaN/subnormals"),
    (r"^grad of leaf", r"(?s)(?=.*atan2)(?=.*dtype=u?int)", "atan2's gradient in integer type"),
    (r"^rpow_scalar\(.*'s': -inf\}\): NaN", None, "(-inf) ** x follows NumPy's power"),
    (r"^pow_scalar\(.*'s': True\}\): dtype", None, "a bool exponent keeps the tensor's dtype"),
    (r"^(rsqrt|atan2|pow_scalar)\(.*\): values", r"float16", "the sign of a half-precision zero"),
    (r"^\w+_scalar_?\(.*: (values|NaN)", r"float16", "half tensors with scalars beyond half"),
    (r"^topk\(.*\)\[1\]: values", None, "which of equal values topk returns first"),
    (r"^exp2\(.*\): values", r"dtype=bool", "torch's exp2 of a bool tensor gives 1 for True"),
    (r"^matmul\(.*\): ember raised RuntimeError: expected m1 and m2 to have the same dtype",
     r"\[\]", "products of empty operands of different dtypes are refused"),
    (r"^(fmod|remainder|mod_scalar)\(.*\): NaN", r"e-3(0[89]|1\d)", "subnormal divisors"),
    (r"^grad of leaf", r"div(_mode)?\((x\d+), \2\b", "x / x: two large terms that cancel"),
    (r"^matmul\(.*: NaN", r"\binf\b|e\+30\d", "inf * 0 in a different summation order"),
    (r"^add(cmul|cdiv)\(.*\): values .*\binf\b", r"e\+30\d", "overflow in a different order"),
    (r"^(grad of leaf|\w+\()", r"1099511627776\}", "precision after scaling by a 2**40 scalar"),
    (r"^grad of leaf \d+: values .*\binf\b", None, "gradients that overflow"),
    (r"^grad of leaf", r"(?s)(?=.*addcmul)(?=.*(-32768|-128\b|2147483647))",
     "torch's addcmul multiplies value by an integer tensor in its type (overflows)"),
    (r"^(sin|cos|tan)\(.*\): values", r"1e\+30", "trigonometry of huge float32 arguments"),
    (r"^(remainder|mod_scalar)\(.*\): NaN", r"\binf\b", "remainder by an infinite divisor"),
    (r"^cumprod\(.*\): NaN", None, "where a running product that overflowed meets a zero"),
    (r"^(add(cmul|cdiv)|remainder|fmod)\(.*\): (values|NaN)", r"float16",
     "half-precision intermediates (PyTorch computes in float32)"),
    (r"^\w+_\(.*\) itself: torch raised RuntimeError: unsupported operation: some elements",
     None, "in-place ops whose operand overlaps the written tensor are computed, not refused"),
    (r"^(true_divide|div_?)\(.*: values \[*-?inf", r"mod_scalar|zero_|-0\.0",
     "the sign of a zero"),
]  # fmt: skip


def known(message: str, program: str = "") -> str | None:
    """The reason a mismatch is accepted, or None."""
    first = message.split("\n")[0]
    for pattern, context, why in KNOWN:
        if re.search(pattern, first) and (context is None or re.search(context, program)):
            return why
    return None


def run_program(c: Any, ops: list[Op] | None = None) -> Run:
    """Draw, run and compare one program; raises Mismatch (with the program in the message)
    unless the mismatch is a known one (``KNOWN``)."""
    ops = ops or AVAILABLE
    run = Run()
    try:
        make_inputs(c, run)
        for _ in range(c.integers(1, 3)):
            if not run_step(c, run, ops):
                return run
        backward(run, c)
    except Mismatch as m:
        why = known(str(m), run.describe())
        if why:
            run.log.append(f"known difference: {why}")
            return run
        raise Mismatch(f"{m}\nprogram:\n  {run.describe()}") from None
    except Exception as e:  # noqa: BLE001 - e.g. an ember result with a dtype torch lacks
        raise Mismatch(
            f"{run.log[-1]}: broken ember result: {type(e).__name__}: {e}\nprogram:\n  "
            f"{run.describe()}"
        ) from None
    return run


def _available(op: Op) -> bool:
    """Ops the catalogue names but this ember does not have yet are left out."""
    probe = ember.ones(2, 2)
    try:
        op.fn(ember, [probe] * op.arity, op.params(RandomChooser(0), [torch.ones(2, 2)] * 3))
    except AttributeError as e:
        return "ember" not in str(e) and "Tensor" not in str(e)
    except Exception:  # noqa: BLE001 - other errors are the fuzzer's business
        return True
    return True


AVAILABLE = [op for op in OPS if _available(op)]
