"""Parity table for matrix products: matmul for every 1-D..N-D combination with batch
broadcasting, the @ operator, mm, bmm, dot — values and gradients."""

from __future__ import annotations

import pytest

from tests.ops._cases import case, d, f, i, run_case

MATMUL = [
    case("vec_vec", lambda m, x, y: m.matmul(x, y), f(4), f(4)),
    case("vec_mat", lambda m, x, y: m.matmul(x, y), f(4), f(4, 3)),
    case("mat_vec", lambda m, x, y: m.matmul(x, y), f(3, 4), f(4)),
    case("mat_mat", lambda m, x, y: m.matmul(x, y), f(3, 4), f(4, 5)),
    case("batch_mat", lambda m, x, y: m.matmul(x, y), f(2, 3, 4), f(4, 5)),
    case("mat_batch", lambda m, x, y: m.matmul(x, y), f(3, 4), f(2, 4, 5)),
    case("batch_batch", lambda m, x, y: m.matmul(x, y), f(2, 3, 4), f(2, 4, 5)),
    case("batch_vec", lambda m, x, y: m.matmul(x, y), f(2, 3, 4), f(4)),
    case("vec_batch", lambda m, x, y: m.matmul(x, y), f(4), f(2, 4, 5)),
    case("batch_broadcast", lambda m, x, y: m.matmul(x, y), f(2, 1, 3, 4), f(5, 4, 2)),
    case("batch_broadcast_one", lambda m, x, y: m.matmul(x, y), f(1, 3, 4), f(2, 4, 5)),
    case("4d_vec", lambda m, x, y: m.matmul(x, y), f(2, 2, 3, 4), f(4)),
    case("vec_4d", lambda m, x, y: m.matmul(x, y), f(3), f(2, 2, 3, 4)),
    case("4d_mat", lambda m, x, y: x @ y, f(2, 3, 2, 4), f(4, 3)),
    # N-D @ 2-D runs as one folded GEMM: a transposed batch (copied by the fold) and a
    # transposed right operand.
    case("batch_view_mat", lambda m, x, y: x.transpose(0, 1) @ y, f(3, 2, 4), f(4, 5)),
    case("batch_mat_t", lambda m, x, y: x @ y.t(), f(2, 3, 4), f(5, 4)),
    case("operator", lambda m, x, y: x @ y, f(3, 4), f(4, 2)),
    case("operator_vec", lambda m, x, y: x @ y, f(5), f(5)),
    case("method", lambda m, x, y: x.matmul(y), f(2, 3, 4), f(2, 4, 3)),
    case("noncontig_left", lambda m, x, y: x.t() @ y, f(4, 3), f(4, 2)),
    case("noncontig_both", lambda m, x, y: x.t() @ y[:, ::2].t(), f(4, 3), f(5, 8)),
    case("transposed_batch", lambda m, x, y: x.transpose(1, 2) @ y, f(2, 4, 3), f(2, 4, 5)),
    case("same_operand", lambda m, x: x @ x.t(), f(3, 4)),
    # An inner size of 1 (an outer product) runs as one multiply; big ones into pooled buffers.
    case("outer_k1", lambda m, x, y: x @ y, f(5, 1), f(1, 4)),
    case("outer_k1_big", lambda m, x, y: x @ y, f(300, 1), f(1, 400)),
    case("outer_k1_batch", lambda m, x, y: x @ y, f(2, 3, 1), f(1, 4)),
    case("outer_k1_int", lambda m, x, y: x @ y, i(3, 1), i(1, 2)),
    case("linear_one_output", lambda m, x, w: m.nn.functional.linear(x, w), f(6, 4), f(1, 4)),
    case("float64", lambda m, x, y: x @ y, d(3, 4), d(4, 2), rtol=1e-10, atol=1e-12),
    case("int", lambda m, x, y: x @ y, i(3, 4), i(4, 2)),
    case("chain", lambda m, x, y, z: (x @ y).relu() @ z, f(6, 5), f(5, 4), f(4, 3)),
    case("mm", lambda m, x, y: m.mm(x, y), f(3, 4), f(4, 5)),
    case("mm_method_noncontig", lambda m, x, y: x.mm(y.t()), f(3, 4), f(5, 4)),
    case("bmm", lambda m, x, y: m.bmm(x, y), f(2, 3, 4), f(2, 4, 5)),
    case("bmm_method", lambda m, x, y: x.bmm(y), f(3, 2, 4), f(3, 4, 1)),
    case("bmm_noncontig", lambda m, x, y: m.bmm(x.transpose(1, 2), y), f(2, 4, 3), f(2, 4, 5)),
    case("dot", lambda m, x, y: m.dot(x, y), f(5), f(5)),
    case("dot_method_sliced", lambda m, x, y: x[::2].dot(y), f(10), f(5)),
    case("dot_int", lambda m, x, y: m.dot(x, y), i(5), i(5)),
]


@pytest.mark.parametrize("fn, tfn, specs, tol", MATMUL)
def test_linalg_parity(fn, tfn, specs, tol):
    run_case(fn, tfn, specs, tol)
