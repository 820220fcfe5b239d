"""``ember/_tensor.pyi`` declares the Tensor surface the method tables build, and stays in step."""

import ast
import inspect

import ember
from ember import _stubgen


def _class_body(name: str) -> dict[str, ast.AST]:
    tree = ast.parse(_stubgen.STUB_PATH.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    out: dict[str, ast.AST] = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            out.setdefault(node.name, node)
        elif isinstance(node, ast.AnnAssign):
            out[node.target.id] = node
    return out


def test_stub_matches_the_method_tables():
    # Fails when a table in ember/_methods.py (or the class) changed without regenerating.
    assert _stubgen.STUB_PATH.read_text() == _stubgen.render(), (
        "ember/_tensor.pyi is out of date: run `python -m ember._stubgen`"
    )


def test_every_tensor_attribute_is_declared():
    declared = _class_body("Tensor")
    skip = {"__dict__", "__doc__", "__module__", "__weakref__", "__slots__", "__annotations__"}
    missing = [n for n in vars(ember.Tensor) if n not in skip and n not in declared]
    assert not missing, missing
    # Methods bound by setattr tables and lazily bound ones are there with their parameters.
    for name in ("sum", "view", "add_", "lgamma", "det", "logaddexp", "index_add"):
        assert isinstance(declared[name], ast.FunctionDef), name


def test_lazy_methods_are_declared_with_the_real_signature():
    declared = _class_body("Tensor")
    from ember.ops.special_fn import lgamma

    real = [p for p in inspect.signature(lgamma).parameters][1:]
    node = declared["lgamma"]
    got = [a.arg for a in node.args.args[1:] + node.args.kwonlyargs]
    assert got == real


def test_check_mode_reports_drift(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "_tensor.pyi"
    stale.write_text("class Tensor: ...\n")
    monkeypatch.setattr(_stubgen, "STUB_PATH", stale)
    assert _stubgen.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert _stubgen.main([]) == 0
    assert _stubgen.main(["--check"]) == 0
