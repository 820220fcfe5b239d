"""ember.testing.assert_close against torch.testing.assert_close: the same outcome, exception
type and message for the same comparisons."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

CASES = [
    "ac(lib.tensor([1., 2., 3.]), lib.tensor([1., 2.5, 3.]))",
    "ac(lib.tensor([1., 2., 3.]), lib.tensor([1., 2., 3.000001]))",
    "ac(lib.tensor([1., 2., 3.], dtype=lib.float64), lib.tensor([1., 2., 3.000001]).double())",
    "ac(lib.tensor([[1., 2.], [3., 4.]]), lib.tensor([[1., 2.], [3., 5.]]))",
    "ac(lib.tensor(1.), lib.tensor(1.5))",
    "ac(1.0, 1.5)",
    "ac(1, 2)",
    "ac(True, False)",
    "ac(lib.tensor([1, 2]), lib.tensor([1, 3]))",
    "ac(lib.tensor([True, False]), lib.tensor([True, True]))",
    "ac(lib.zeros(2), lib.zeros(3))",
    "ac(lib.zeros(2), lib.zeros(2, dtype=lib.float64))",
    "ac(lib.zeros(2), lib.zeros(2, dtype=lib.float64), check_dtype=False)",
    "ac(lib.ones(2), lib.zeros(2, dtype=lib.float64), check_dtype=False)",
    "ac(lib.zeros(2), np.zeros(2))",
    "ac(np.zeros(2), np.zeros(2))",
    "ac(np.zeros(2), np.ones(2))",
    "ac(lib.zeros(2), 0.)",
    "ac([lib.zeros(2), lib.ones(1)], [lib.zeros(2), lib.zeros(1)])",
    "ac((1., 2.), [1., 2.])",
    "ac({'a': lib.zeros(1)}, {'a': lib.ones(1)})",
    "ac({'a': lib.zeros(1)}, {'b': lib.ones(1)})",
    "ac({'a': [lib.zeros(1), 2]}, {'a': [lib.zeros(1), 3]})",
    "ac([1.], [1., 2.])",
    "ac(lib.tensor([float('nan')]), lib.tensor([float('nan')]))",
    "ac(lib.tensor([float('nan')]), lib.tensor([float('nan')]), equal_nan=True)",
    "ac(lib.tensor([1., float('inf')]), lib.tensor([1., float('inf')]))",
    "ac(lib.tensor([1., float('inf')]), lib.tensor([1., -float('inf')]))",
    "ac(lib.tensor([1.]), lib.tensor([2.]), rtol=0.1)",
    "ac(lib.tensor([1.]), lib.tensor([2.]), atol=0.1)",
    "ac(lib.tensor([1.]), lib.tensor([2.]), rtol=0.1, atol=1)",
    "ac(lib.tensor([1.]), lib.tensor([2.]), msg='custom')",
    "ac(lib.tensor([1.]), lib.tensor([2.]), msg=lambda m: m + '!!')",
    "ac('a', 'a')",
    "ac(lib.tensor([0., 0.]), lib.tensor([0., 1e-3]))",
    "ac(lib.tensor([1., 2.]), lib.tensor([0., 4.]))",
    "ac(lib.zeros(2, requires_grad=True), lib.zeros(2))",
    "ac(lib.tensor([1., 2., 3.]).half(), lib.tensor([1., 2., 3.002]).half())",
    "ac(lib.tensor([1., 2., 3.]).half(), lib.tensor([1., 2., 3.01]).half())",
    "ac(lib.zeros(2, 3).t(), lib.zeros(3, 2), check_stride=True)",
    "ac(lib.zeros(2, 3).t(), lib.zeros(3, 2))",
    "ac(lib.tensor([1., 2.]), lib.tensor([1, 2]))",
    "ac(None, None)",
    "ac(None, 1)",
    "ac(1, 1.0)",
    "ac(1, 1.0, check_dtype=False)",
    "ac(lib.tensor([5, -3], dtype=lib.int8), lib.tensor([-5, 3], dtype=lib.int8))",
    "ac(lib.arange(24.).reshape(2, 3, 4), lib.arange(24.).reshape(2, 3, 4) * 1.001)",
]


def _outcome(lib, case):
    ac = (ember if lib is ember else torch).testing.assert_close
    try:
        eval(case, {"ac": ac, "lib": lib, "np": np})
        return ("ok", None, "")
    except Exception as e:  # noqa: BLE001 - compared with torch's
        text = str(e).replace("torch.", "").replace("ember._tensor.", "").replace("ember.", "")
        return ("raise", type(e), text)


@pytest.mark.parametrize("case", CASES)
def test_assert_close_as_torch(case):
    assert _outcome(ember, case) == _outcome(torch, case)


def test_assert_close_complex_as_torch():
    case = "ac(lib.tensor([1.+1j]), lib.tensor([1.+2j]))"
    assert _outcome(ember, case) == _outcome(torch, case)
