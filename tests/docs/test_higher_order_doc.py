"""docs/higher-order.md: every example runs as written (ember) and again with ``import torch``;
the numbers each block collects in ``result`` agree."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
import torch

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "higher-order.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text("utf-8"), flags=re.S)


def _run(code: str, name: str) -> dict:
    scope: dict = {}
    exec(compile(code, name, "exec"), scope)
    return scope["result"]


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_block_matches_torch(i: int) -> None:
    block = BLOCKS[i]
    assert "import ember as torch" in block
    ours = _run(block, f"higher-order.md block {i}")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: torch's thread pool only adds waiting here
    try:
        theirs = _run(
            block.replace("import ember as torch", "import torch").replace("ember.", "torch."),
            f"higher-order.md block {i} (torch)",
        )
    finally:
        torch.set_num_threads(threads)
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=2e-4, atol=1e-6, err_msg=key)


def test_page_has_the_five_examples() -> None:
    assert len(BLOCKS) == 5
