"""docs/distributions.md and the docstring examples of ember.distributions run and print what
they say."""

from __future__ import annotations

import doctest
import importlib
import pathlib

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "distributions.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
MODULES = [
    "ember.distributions.normal",
    "ember.distributions.categorical",
    "ember.distributions.gamma",
    "ember.distributions.dirichlet",
    "ember.distributions.independent",
    "ember.distributions.mixture_same_family",
    "ember.distributions.multivariate_normal",
    "ember.distributions.lowrank_multivariate_normal",
    "ember.distributions.transformed_distribution",
    "ember.distributions.kl",
]


def test_page_runs():
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=FLAGS)
    assert result.attempted >= 25, f"only {result.attempted} examples found"
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=FLAGS)
    assert result.attempted > 0 and result.failed == 0
