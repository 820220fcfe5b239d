"""``ember.func`` grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian against torch.func:
values, structures (argnums, pytrees, has_aux), nesting to third order, composition with
ordinary autograd, errors."""

from __future__ import annotations

import pytest
import torch

import ember
from tests.func._util import BATCH, X, Y, both, close_tree, same_error


def _f(x, y):
    return ((x.sin() * y).tanh() ** 2).sum() * x.exp().sum()


def _args(lib, rg: bool = False):
    return lib.tensor(X, requires_grad=rg), lib.tensor(Y, requires_grad=rg)


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1, (-2,)])
@pytest.mark.parametrize("api", ["grad", "grad_and_value", "jacrev", "jacfwd", "hessian"])
def test_argnums(api, argnums):
    e = getattr(ember.func, api)(_f, argnums=argnums)(*_args(ember))
    if api in ("jacfwd", "hessian"):
        # torch 2.13's forward mode gives zeros for a negative argnum (a torch bug); ember gives
        # the derivative, compared with torch's for the same argument counted from the front.
        argnums = argnums % 2 if isinstance(argnums, int) else tuple(a % 2 for a in argnums)
    t = getattr(torch.func, api)(_f, argnums=argnums)(*_args(torch))
    close_tree(e, t)


def test_pytree_arguments_and_outputs():
    def f(p, x):
        h = (x @ p["w"].T + p["b"]).tanh()
        return {"sum": (h**2).sum(), "parts": (h.sum(0), p["b"] * 2)}

    def params(lib):
        return {"w": lib.tensor(Y), "b": lib.tensor(X[:2])}

    for api in ("jacrev", "jacfwd"):
        e, t = both(lambda L, api=api: getattr(L.func, api)(f)(params(L), L.tensor(BATCH)))
        close_tree(e, t)
    loss = lambda p, x: f(p, x)["sum"]  # noqa: E731
    e, t = both(lambda L: L.func.grad(loss)(params(L), L.tensor(BATCH)))
    close_tree(e, t)
    e, t = both(lambda L: L.func.hessian(loss)(params(L), L.tensor(BATCH)))
    close_tree(e, t)


def test_has_aux():
    def f(x):
        return (x**3).sum(), {"sq": x**2, "n": (x.sum(),)}

    for api in ("grad", "grad_and_value", "jacrev", "jacfwd"):
        e, t = both(lambda L, api=api: getattr(L.func, api)(f, has_aux=True)(L.tensor(X)))
        close_tree(e, t)
    e, t = both(lambda L: L.func.vjp(f, L.tensor(X), has_aux=True))
    close_tree((e[0], e[2]), (t[0], t[2]))
    close_tree(e[1](ember.tensor(1.0, dtype=ember.float64)), t[1](torch.tensor(1.0).double()))
    e, t = both(lambda L: L.func.jvp(f, (L.tensor(X),), (L.tensor(Y[0]),), has_aux=True))
    close_tree(e, t)


def test_hessian_of_a_vector_function():
    close_tree(*both(lambda L: L.func.hessian(lambda x: x.sin() * x.sum())(L.tensor(X))))


def test_nested_grad_to_third_order():
    def f(x):
        return (x.sin() * x.exp()).sum()

    def third(L):
        g = L.func.grad
        return g(lambda x: g(lambda y: g(f)(y).cos().sum())(x).sum())(L.tensor(X))

    e, t = both(third)
    close_tree(e, t)


def test_vjp_and_jvp():
    def f(x, y):
        return (x.sin() * y, (x * y).sum())

    def run(L):
        out, fn = L.func.vjp(f, L.tensor(X), L.tensor(Y))
        ct = (L.tensor(Y).cos(), L.tensor(2.0, dtype=L.float64))
        return out, fn(ct), fn(ct)  # the function can be called again

    e, t = both(run)
    close_tree(e, t)
    e, t = both(
        lambda L: L.func.jvp(f, (L.tensor(X), L.tensor(Y)), (L.tensor(Y[1]), L.tensor(Y).exp()))
    )
    close_tree(e, t)


def test_jvp_of_an_output_independent_of_the_inputs():
    e, t = both(lambda L: L.func.jvp(lambda x: (x * 2, L.ones(2)), (L.tensor(X),), (L.tensor(X),)))
    close_tree(e, t)


def test_composes_with_ordinary_autograd():
    """An argument (or a closed-over tensor) that requires grad: the result stays on the graph
    and differentiates back to it, as in torch."""

    def run(L):
        x, w = L.tensor(X, requires_grad=True), L.tensor(Y[0], requires_grad=True)
        g = L.func.grad(lambda x: ((x * w).sin() ** 2).sum())(x)
        gx, gw = L.autograd.grad((g**2).sum(), (x, w))
        return g, gx, gw

    e, t = both(run)
    close_tree(e[1:], t[1:])
    assert e[0].requires_grad and t[0].requires_grad
    e, t = both(lambda L: L.func.grad(lambda x: (x**3).sum())(L.tensor(X)))
    close_tree(e, t)  # a plain argument: the gradient carries no graph


def test_grad_ignores_an_outer_no_grad():
    def run(L):
        with L.no_grad():
            return L.func.grad(lambda x: (x**3).sum())(L.tensor(X))

    e, t = both(run)
    close_tree(e, t)


def test_grad_of_a_function_not_using_its_argument():
    e, t = both(lambda L: L.func.grad(lambda x, y: (y**2).sum())(L.tensor(X), L.tensor(Y)))
    close_tree(e, t)


ERRORS = {
    "vector output": lambda L: L.func.grad(lambda x: x)(L.tensor(X)),
    "non-tensor output": lambda L: L.func.grad(lambda x: 3)(L.tensor(X)),
    "argnum out of range": lambda L: L.func.grad(lambda x: x.sum(), argnums=2)(L.tensor(X)),
    "float argnums": lambda L: L.func.grad(lambda x: x.sum(), argnums=1.0)(L.tensor(X)),
    "empty argnums": lambda L: L.func.grad(lambda x: x.sum(), argnums=())(L.tensor(X)),
    "repeated argnums": lambda L: L.func.grad(lambda x: x.sum(), argnums=(0, 0))(L.tensor(X)),
    "a str in argnums": lambda L: L.func.grad(lambda x: x.sum(), argnums=(0, "a"))(L.tensor(X)),
    "has_aux without a pair": lambda L: L.func.grad(lambda x: x.sum(), has_aux=True)(L.tensor(X)),
    "has_aux with a triple": lambda L: L.func.grad(lambda x: (x.sum(), 1, 2), has_aux=True)(
        L.tensor(X)
    ),
    "non-tensor aux": lambda L: L.func.grad(lambda x: (x.sum(), 3), has_aux=True)(L.tensor(X)),
    "non-tensor aux (jacrev)": lambda L: L.func.jacrev(lambda x: (x, 3), has_aux=True)(L.tensor(X)),
    "float argument": lambda L: L.func.grad(lambda x: x.sum())(3.0),
    "no arguments": lambda L: L.func.grad(lambda: L.ones(1).sum())(),
    "vjp of a non-tensor": lambda L: L.func.vjp(lambda x: 3, L.tensor(X)),
    "vjp cotangent structure": lambda L: L.func.vjp(lambda x: (x, x.sum()), L.tensor(X))[1](
        L.tensor(X)
    ),
    "jvp primals not a tuple": lambda L: L.func.jvp(lambda x: x, L.tensor(X), L.tensor(X)),
    "jvp structures differ": lambda L: L.func.jvp(
        lambda x: x, (L.tensor(X),), (L.tensor(X), L.tensor(X))
    ),
    "jvp tangent size": lambda L: L.func.jvp(lambda x: x, (L.tensor(X),), (L.tensor(X[:2]),)),
    "jvp non-tensor primal": lambda L: L.func.jvp(lambda x: x, (3.0,), (L.tensor(X),)),
    "jvp of a non-tensor": lambda L: L.func.jvp(lambda x: 3, (L.tensor(X),), (L.tensor(X),)),
    "jacrev of a non-tensor": lambda L: L.func.jacrev(lambda x: 3)(L.tensor(X)),
    "jacfwd of a non-tensor": lambda L: L.func.jacfwd(lambda x: 3)(L.tensor(X)),
    "jacrev argnum": lambda L: L.func.jacrev(lambda x: x, argnums=1)(L.tensor(X)),
    "jacrev chunk_size 0": lambda L: L.func.jacrev(lambda x: x, chunk_size=0),
    "jacfwd randomness error": lambda L: L.func.jacfwd(lambda x: x + L.rand(3))(L.tensor(X)),
    "jacfwd bad randomness": lambda L: L.func.jacfwd(lambda x: x, randomness="bad")(L.tensor(X)),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    same_error(ERRORS[name])


def test_jacfwd_randomness_same_and_different_run():
    ember.manual_seed(0)
    for mode in ("same", "different"):
        j = ember.func.jacfwd(lambda x: x * ember.rand(3), randomness=mode)(ember.tensor(X))
        assert j.shape == (3, 3)
    assert ember.rand(1).shape == (1,)  # the generator works again afterwards


def test_integer_argument_refused():
    # the message is requires_grad_'s own, which ember words slightly differently
    for L in (ember, torch):
        with pytest.raises(RuntimeError, match="only Tensors of floating point"):
            L.func.grad(lambda x: x.sum())(L.tensor([1, 2]))
