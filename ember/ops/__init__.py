"""ember's differentiable primitives, one family a module.

How an op is written: docs/architecture.md, "How an op is written".

Everything public here is re-exported at ``ember.*`` and bound as Tensor methods by
``ember._methods``.
"""

from . import (  # noqa: F401
    compare,
    elementwise,
    indexing,
    inplace,
    join,
    linalg,
    reduction,
    shape,
    softmax,
    unary,
)
