"""The demo: train the torch.nn tutorial's kind of network and show every step of the job.

1. load scikit-learn's handwritten digits (1,797 8x8 images, no download) or MNIST IDX files;
2. build an ``nn.Sequential(OrderedDict(...))`` of Conv2d, ReLU, MaxPool2d, Dropout, Flatten and
   Linear layers, print it and its summary;
3. train with Adam and CrossEntropyLoss through a DataLoader, with a progress bar per epoch;
4. evaluate in ``eval()`` mode: accuracy and a confusion matrix;
5. save the state_dict to ``models/net.pth``, load it into a fresh model, check the predictions;
6. plot the loss and accuracy curves to ``models/training.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import OrderedDict
from typing import Any

import numpy as np

__all__ = ["build_model", "run", "main", "add_arguments"]


def _need(module: str, what: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise SystemExit(
            f"The demo needs {what} ({module}). Install the examples extra: "
            "pip install -e '.[examples]' (make demo does this)."
        ) from None


def load_digits(seed: int) -> tuple:
    """scikit-learn's digits as (N, 1, 8, 8) float32 in [0, 1], split 80/20 with ``seed``."""
    datasets = _need("sklearn.datasets", "scikit-learn")
    d = datasets.load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = len(x) // 5
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def build_model(image_size: int = 8, classes: int = 10) -> Any:
    """Two conv blocks and a classifier, as an ``nn.Sequential`` of named layers."""
    from ember import nn

    side = image_size // 4
    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(1, 16, 3, padding=1)),
                ("relu1", nn.ReLU()),
                ("pool1", nn.MaxPool2d(2)),
                ("conv2", nn.Conv2d(16, 32, 3, padding=1)),
                ("relu2", nn.ReLU()),
                ("pool2", nn.MaxPool2d(2)),
                ("dropout", nn.Dropout(0.25)),
                ("flatten", nn.Flatten()),
                ("fc1", nn.Linear(32 * side * side, 64)),
                ("relu3", nn.ReLU()),
                ("fc2", nn.Linear(64, classes)),
            ]
        )
    )


def _predict(model: Any, x: np.ndarray, batch: int = 512) -> np.ndarray:
    import ember

    out = []
    with ember.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(ember.from_numpy(x[i : i + batch])).argmax(1).numpy())
    return np.concatenate(out)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int = 10) -> np.ndarray:
    m = np.zeros((classes, classes), np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def _print_confusion(m: np.ndarray, out: Any) -> None:
    n = m.shape[0]
    print("confusion matrix (rows: true digit, columns: predicted)", file=out)
    print("      " + "".join(f"{j:>5d}" for j in range(n)), file=out)
    for i in range(n):
        print(f"  {i:>2d}: " + "".join(f"{v:>5d}" for v in m[i]), file=out)


def run(args: argparse.Namespace, out: Any = None) -> dict:
    """Run the demo; returns the measured figures (accuracy, paths, losses)."""
    import ember

    out = out or sys.stdout
    check_arguments(args)
    ember.manual_seed(args.seed)
    x_tr, y_tr, x_te, y_te = _load_data(args, out)
    size = x_tr.shape[-1]
    model = build_model(size)
    print("\nmodel:", file=out)
    print(model, file=out)
    print(file=out)
    print(ember.summary(model, input_size=(1, 1, size, size)), file=out)

    t_start = time.perf_counter()
    history = _train(model, args, (x_tr, y_tr), (x_te, y_te), out)
    train_seconds = time.perf_counter() - t_start

    model.eval()
    pred = _predict(model, x_te)
    acc = float((pred == y_te).mean())
    print(
        f"\ntest accuracy after {args.epochs} epochs ({train_seconds:.1f} s of training): "
        f"{acc:.2%}",
        file=out,
    )
    _print_confusion(confusion_matrix(y_te, pred), out)
    path, same = _save_and_reload(model, args.out, size, x_te, pred, out)

    plot = os.path.join(args.out, "training.png")
    _plot(history, plot)
    print(f"training curves: {plot}", file=out)
    return {
        "accuracy": acc,
        "checkpoint": path,
        "plot": plot,
        "history": history,
        "seconds": train_seconds,
        "reload_identical": same,
    }


def _load_data(args: argparse.Namespace, out: Any) -> tuple:
    """Step 1: the training and test images and labels, as NumPy arrays."""
    if args.mnist:
        from .idx import load_mnist

        x_tr, y_tr, x_te, y_te = load_mnist(args.mnist)
        source = f"MNIST from {args.mnist}"
    else:
        x_tr, y_tr, x_te, y_te = load_digits(args.seed)
        source = "scikit-learn's handwritten digits (1,797 8x8 images)"
    size = x_tr.shape[-1]
    print(
        f"data: {source}: {len(x_tr)} training and {len(x_te)} test images of {size}x{size}",
        file=out,
    )
    return x_tr, y_tr, x_te, y_te


def _train(model: Any, args: argparse.Namespace, train: tuple, test: tuple, out: Any) -> dict:
    """Step 3: ``args.epochs`` epochs of Adam; returns the per-epoch loss and accuracies."""
    import ember
    from ember import nn, optim
    from ember.utils.data import DataLoader, TensorDataset

    (x_tr, y_tr), (x_te, y_te) = train, test
    loader = DataLoader(
        TensorDataset(ember.from_numpy(x_tr), ember.from_numpy(y_tr)),
        batch_size=args.batch_size,
        shuffle=True,
        generator=ember.Generator().manual_seed(args.seed),
    )
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=args.lr)
    tqdm = _need("tqdm", "tqdm").tqdm
    history: dict = {"loss": [], "train_acc": [], "test_acc": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, correct, loss_sum = 0, 0, 0.0
        bar = tqdm(
            loader,
            desc=f"epoch {epoch:>2d}/{args.epochs}",
            unit="batch",
            file=out,
            leave=True,
            dynamic_ncols=False,
            ncols=90,
            # A log file gets the per-epoch lines only, not a bar redrawn with carriage returns.
            disable=args.quiet or not _is_terminal(out),
            mininterval=0.25,
        )
        t0 = time.perf_counter()
        for xb, yb in bar:
            logits = model(xb)
            loss = loss_fn(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n = len(yb)
            total += n
            loss_sum += loss.item() * n
            correct += int((logits.argmax(1) == yb).sum().item())
            rate = total / max(time.perf_counter() - t0, 1e-9)
            # refresh=False: the bar redraws the postfix at most every mininterval seconds.
            bar.set_postfix(loss=f"{loss_sum / total:.4f}", img_s=f"{rate:,.0f}", refresh=False)
        model.eval()
        test_acc = float((_predict(model, x_te) == y_te).mean())
        history["loss"].append(loss_sum / total)
        history["train_acc"].append(correct / total)
        history["test_acc"].append(test_acc)
        if args.quiet:
            continue
        print(
            f"           loss {loss_sum / total:.4f}  train acc {correct / total:.2%}  "
            f"test acc {test_acc:.2%}",
            file=out,
        )
    return history


def _save_and_reload(
    model: Any, directory: str, size: int, x_te: np.ndarray, pred: np.ndarray, out: Any
) -> tuple:
    """Step 5: save the state_dict, load it into a fresh model and check it predicts the same;
    returns the checkpoint's path and whether the predictions are identical."""
    import ember

    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "net.pth")
    ember.save(model.state_dict(), path)
    fresh = build_model(size)
    fresh.load_state_dict(ember.load(path))
    fresh.eval()
    same = bool(np.array_equal(_predict(fresh, x_te), pred))
    print(
        f"\nsaved the state_dict to {path}; reloaded into a fresh model: predictions "
        f"{'identical' if same else 'DIFFERENT'}",
        file=out,
    )
    print(
        "the file is PyTorch's format: torch.load(path, weights_only=True) reads it too", file=out
    )
    if not same:
        raise RuntimeError("the reloaded model predicts differently from the trained one")
    return path, same


def _is_terminal(out: Any) -> bool:
    isatty = getattr(out, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse bad options before any training: a run that cannot save its results is wasted."""
    if args.epochs < 1:
        raise ValueError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if not args.lr > 0:
        raise ValueError(f"--lr must be positive, got {args.lr}")
    try:
        os.makedirs(args.out, exist_ok=True)
        with tempfile.TemporaryFile(dir=args.out):
            pass
    except OSError as e:
        raise OSError(f"--out {args.out!r} is not a writable folder: {e.strerror or e}") from None


def _plot(history: dict, path: str) -> None:
    matplotlib = _need("matplotlib", "matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["loss"]) + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(epochs, history["loss"], marker="o")
    a1.set_xlabel("epoch")
    a1.set_ylabel("training loss")
    a1.set_title("loss")
    a2.plot(epochs, history["train_acc"], marker="o", label="train")
    a2.plot(epochs, history["test_acc"], marker="o", label="test")
    a2.set_xlabel("epoch")
    a2.set_ylabel("accuracy")
    a2.set_title("accuracy")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The demo's command-line options (shared by ``python -m ember demo``)."""
    p.add_argument("--epochs", type=int, default=15, help="training epochs (default 15)")
    p.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (default 2e-3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="models", help="output folder (default models)")
    p.add_argument(
        "--mnist",
        default=None,
        metavar="DIR",
        help="train on MNIST IDX files in DIR instead of the bundled digits",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(prog="ember demo", description=__doc__.split("\n")[0])
    add_arguments(p)
    args = p.parse_args(argv)
    from .idx import IDXError

    try:
        run(args)
    except (IDXError, OSError, ValueError) as e:
        print(f"ember demo: {e}", file=sys.stderr)
        return 2
    return 0
