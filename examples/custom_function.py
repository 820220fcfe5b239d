"""A custom autograd Function (exactly PyTorch's API): a clipped ReLU with its own backward.

Run: python examples/custom_function.py
"""

from __future__ import annotations

import ember as torch


class ClippedReLU(torch.autograd.Function):
    """min(max(x, 0), ceiling); the gradient passes only where 0 < x < ceiling."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, ceiling: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.ceiling = ceiling
        return x.clamp(0, ceiling)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        mask = (x > 0) & (x < ctx.ceiling)
        return grad_output * mask.to(grad_output.dtype), None


def main() -> bool:
    x = torch.linspace(-2, 8, 6, dtype=torch.float64, requires_grad=True)
    y = ClippedReLU.apply(x, 6.0)
    y.sum().backward()
    print("x     ", x.detach().tolist())
    print("y     ", y.detach().tolist())
    print("dy/dx ", x.grad.tolist())
    ok = torch.autograd.gradcheck(
        lambda t: ClippedReLU.apply(t, 6.0),
        (torch.tensor([-1.5, 0.5, 2.5, 7.0], dtype=torch.float64, requires_grad=True),),
    )
    print("gradcheck:", ok)
    return ok


if __name__ == "__main__":
    main()
