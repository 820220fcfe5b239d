"""The strong-Wolfe line search of ``LBFGS`` (bracketing, then zoom by cubic interpolation).

Works on flat NumPy arrays. Scalars that PyTorch keeps as 0-dim float32 tensors (dot products,
interpolated steps) are NumPy float32 scalars here, so that the arithmetic (NumPy 2 treats Python
floats as weak, as PyTorch does) and hence the trajectories agree with ``torch.optim.LBFGS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["cubic_interpolate", "strong_wolfe"]


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds: tuple | None = None) -> Any:
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to ``bounds``
    (the interval's ends by default); the midpoint when the cubic has no real minimiser."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


class _Bracket:
    """The two ends of the interval known to hold a point satisfying the Wolfe conditions."""

    def __init__(self, t: list, f: list, g: list, gtd: list) -> None:
        self.t, self.f, self.g, self.gtd = t, f, g, gtd

    def set(self, i: int, t, f, g, gtd) -> None:
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd

    def low_high(self) -> tuple[int, int]:
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)


def strong_wolfe(
    obj_func: Callable,
    x: list,
    t: Any,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: Any,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple:
    """Search along ``d`` from step ``t``; ``obj_func(x, t, d) -> (loss, flat_grad)``.

    Returns ``(f_new, g_new, t, number of function evaluations)``.
    """
    d_norm = np.abs(d).max()
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    bracket = None
    # Bracketing phase: grow the step until the interval [t_prev, t] holds a Wolfe point.
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()],
                               [gtd_prev, gtd_new])  # fmt: skip
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket = _Bracket([t], [f_new], [g_new], [gtd_new])
            done = True
            break
        if gtd_new >= 0:
            bracket = _Bracket([t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()],
                               [gtd_prev, gtd_new])  # fmt: skip
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = _Bracket([0, t], [f, f_new], [g, g_new], [None, None])
    assert bracket is not None
    low, ls_func_evals = _zoom(
        obj_func, x, d, f, gtd, bracket, done, ls_iter, ls_func_evals, d_norm,
        c1, c2, tolerance_change, max_ls,
    )  # fmt: skip
    return bracket.f[low], bracket.g[low], bracket.t[low], ls_func_evals


def _zoom(obj_func, x, d, f, gtd, b: _Bracket, done, ls_iter, evals, d_norm, c1, c2, tol, max_ls):
    """Shrink the bracket until a point satisfies the strong Wolfe conditions; returns the index
    of the bracket's low end (the best point) and the count of function evaluations."""
    insuf_progress = False
    low_pos, high_pos = b.low_high()
    while not done and ls_iter < max_ls:
        if abs(b.t[1] - b.t[0]) * d_norm < tol:
            break
        t = cubic_interpolate(b.t[0], b.f[0], b.gtd[0], b.t[1], b.f[1], b.gtd[1])
        # A point too close to an end makes little progress: move it inside by 10 percent.
        hi, lo = max(b.t), min(b.t)
        eps = 0.1 * (hi - lo)
        if min(hi - t, t - lo) < eps:
            if insuf_progress or t >= hi or t <= lo:
                t = hi - eps if abs(t - hi) < abs(t - lo) else lo + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= b.f[low_pos]:
            b.set(high_pos, t, f_new, g_new.copy(), gtd_new)
            low_pos, high_pos = (0, 1) if b.f[0] <= b.f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (b.t[high_pos] - b.t[low_pos]) >= 0:
                b.set(high_pos, b.t[low_pos], b.f[low_pos], b.g[low_pos], b.gtd[low_pos])
            b.set(low_pos, t, f_new, g_new.copy(), gtd_new)
    return low_pos, evals
