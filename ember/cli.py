"""The ``ember`` command (``python -m ember``): one function per subcommand.

To add a subcommand, write ``_add_<name>(subparsers)`` that creates its parser and sets
``func`` to a ``cmd_<name>(args) -> int`` function, and call it from :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser", "cmd_demo", "cmd_inspect", "cmd_convert"]


def cmd_inspect(args: argparse.Namespace) -> int:
    """Print every tensor's name, dtype, shape and parameter count, and the total."""
    from .serialization._inspect import format_inspection, inspect_checkpoint

    print(format_inspection(inspect_checkpoint(args.file)))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert between a PyTorch checkpoint and safetensors (chosen by OUT's extension)."""
    from .serialization._inspect import convert

    for note in convert(args.input, args.output):
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {args.output}")
    return 0


def _add_inspect(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="list the tensors in a checkpoint",
        description="List every tensor's name, dtype, shape and number of parameters in a "
        ".pth/.pt/.bin (PyTorch zip or legacy) or .safetensors file, and the total. "
        "Needs no PyTorch.",
    )
    p.add_argument("file", help="checkpoint file")
    p.set_defaults(func=cmd_inspect)


def _add_convert(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert",
        help="convert between PyTorch checkpoints and safetensors",
        description="Convert IN to OUT: OUT ending in .safetensors writes safetensors (nested "
        "names joined with '.'), anything else writes PyTorch's zip format.",
    )
    p.add_argument("input", metavar="IN", help="checkpoint to read (any format ember loads)")
    p.add_argument("output", metavar="OUT", help="file to write")
    p.set_defaults(func=cmd_convert)


def cmd_demo(args: argparse.Namespace) -> int:
    """Train the demo network (see :mod:`ember.demo`)."""
    from .demo import IDXError, run

    try:
        run(args)
    except IDXError as exc:
        print(f"ember demo: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    from .demo.train import add_arguments

    p = sub.add_parser(
        "demo",
        help="train a small conv net on handwritten digits, end to end",
        description="Load scikit-learn's handwritten digits (or MNIST IDX files with --mnist), "
        "build an nn.Sequential conv net, train it with Adam and a DataLoader, evaluate, save "
        "models/net.pth, reload it and plot models/training.png.",
    )
    add_arguments(p)
    p.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    """The ``ember`` argument parser with all its subcommands."""
    parser = argparse.ArgumentParser(prog="ember", description="ember command line tools")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_demo(sub)
    _add_inspect(sub)
    _add_convert(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ember`` command; returns the exit status (errors print one line, status 1)."""
    import pickle

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        return _closed_stdout()
    except (OSError, ValueError, TypeError, RuntimeError, pickle.UnpicklingError) as exc:
        print(f"ember {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _closed_stdout() -> int:
    """The reader of our output went away (``ember inspect big.pt | head``): stop quietly.

    stdout is pointed at /dev/null so that Python's final flush does not raise again.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a closed pipe


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
