"""The examples in docs/optim-and-data.md and in the docstrings of ember.optim and
ember.utils.data run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pathlib
import warnings

import pytest

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "optim-and-data.md"
MODULES = [
    "ember.optim.optimizer",
    "ember.optim.sgd",
    "ember.optim.adam",
    "ember.optim.adamw",
    "ember.optim.rmsprop",
    "ember.optim.adagrad",
    "ember.optim.adadelta",
    "ember.optim.adamax",
    "ember.optim.nadam",
    "ember.optim.radam",
    "ember.optim.rprop",
    "ember.optim.asgd",
    "ember.optim.adafactor",
    "ember.optim.sparse_adam",
    "ember.optim.lbfgs",
    "ember.optim.swa_utils",
    "ember.optim._lr_base",
    "ember.optim.lr_scheduler",
    "ember.optim._lr_cyclic",
    "ember.utils.data.dataset",
    "ember.utils.data.sampler",
    "ember.utils.data._collate",
    "ember.utils.data.dataloader",
]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_guide_runs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testfile(str(DOC), module_relative=False, optionflags=FLAGS)
    assert result.attempted >= 20, f"only {result.attempted} examples found"
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(module, optionflags=FLAGS)
    assert result.failed == 0
