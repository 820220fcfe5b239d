"""Every collective against NumPy in real multi-process jobs (2 ranks; 3 and 4 once each), and
the exception types of bad calls against PyTorch's."""

import re
import sys

import pytest

from ._launch import SCRIPTS, launch, results, run

CHECK_NAMES = re.findall(r"@check\ndef (\w+)", (SCRIPTS / "collectives.py").read_text())


@pytest.fixture(scope="module")
def two_ranks():
    return results(launch("collectives.py", 2))[0]


def test_every_check_ran(two_ranks):
    assert sorted(two_ranks) == sorted(CHECK_NAMES)


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_collective_on_two_ranks(two_ranks, name):
    assert two_ranks[name] == [], "\n".join(two_ranks[name])


@pytest.mark.parametrize("n", [3, 4])
def test_collectives_on_uneven_and_oversubscribed_worlds(n):
    res = results(launch("collectives.py", n))[0]
    assert {k: v for k, v in res.items() if v} == {}
    assert sorted(res) == sorted(CHECK_NAMES)


def _error_types(lib):
    return results(run([sys.executable, str(SCRIPTS / "errors.py"), lib], timeout=120))[0]


def test_bad_calls_raise_torchs_exception_types():
    ours = _error_types("ember")  # a world of one: MPI started without a launcher
    theirs = _error_types("torch")
    assert ours == theirs
    assert ours["ok_all_reduce"] == "ok" and ours["nccl_backend"] == "RuntimeError"
