"""``mibench infoplane``: wired into the command line by ``add_arguments(parser)`` and ``main(args)``."""

from __future__ import annotations

import argparse
import sys

from mibench.core.errors import MibenchError

from .experiment import DEFAULTS


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    p.add_argument("--estimator", action="append", metavar="SPEC",
                   help="estimator spec (repeatable; all measure the same training run; default wkl)")
    p.add_argument("--data", metavar="NPZ", help="labelled arrays: an .npz file with arrays x and labels "
                   "(default: scikit-learn's digits)")
    p.add_argument("--out", metavar="DIR", help="folder for infoplane.csv, infoplane_validation.csv and figures")
    p.add_argument("--store", metavar="S", help="SQLite store: rows go to its infoplane tables")
    p.add_argument("--epochs", type=int, default=d["epochs"], help=f"training epochs (default {d['epochs']})")
    p.add_argument("--eval-every", type=int, default=d["eval_every"], metavar="K",
                   help="measure every K epochs (and before training and after the last epoch; default 1)")
    p.add_argument("--architecture", choices=["auto", "cnn", "mlp"], default=d["architecture"],
                   help="cnn (images), mlp, or auto (default)")
    p.add_argument("--widths", type=int, nargs="+", default=list(d["widths"]), help="hidden widths of the mlp")
    p.add_argument("--sigma", type=float, default=d["sigma"], help=f"noise std (default {d['sigma']:g})")
    p.add_argument("--noise", choices=["relative", "absolute"], default=d["noise"],
                   help="noise std sigma x |activation| (relative, default) or sigma (absolute)")
    p.add_argument("--dropout", type=float, default=d["dropout"], help=f"dropout rate (default {d['dropout']:g})")
    p.add_argument("--lr", type=float, default=d["lr"], help=f"Adam step (default {d['lr']:g})")
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--test-fraction", type=float, default=d["test_fraction"],
                   help="held-out share; accuracies and MI are measured on it (default 0.5)")
    p.add_argument("--compression", choices=["pca", "ae"], default=d["compression"])
    p.add_argument("--dim", type=int, default=d["dim"], help=f"components kept (default {d['dim']})")
    p.add_argument("--ae-steps", type=int, default=d["ae_steps"], help="autoencoder training steps (--compression ae)")
    p.add_argument("--validation-seeds", type=int, default=d["validation_seeds"],
                   help="seeds of the validation on images with known MI (0: none, no error bars; default 5)")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def main(args: argparse.Namespace) -> int:
    """Run the experiment; print the last epoch per layer and the validation summary. Errors: one line, exit 2."""
    try:
        return run_from_args(args)
    except MibenchError as exc:
        print(f"mibench: error: {exc}", file=sys.stderr)
        return 2


def run_from_args(args: argparse.Namespace) -> int:
    """``main`` without the error handling: user errors raise ``MibenchError``."""
    from .experiment import run

    data = _load(args.data) if args.data else None
    result = run(args.estimator or ["wkl"], data, epochs=args.epochs, eval_every=args.eval_every,
                 architecture=args.architecture, widths=tuple(args.widths), sigma=args.sigma, noise=args.noise,
                 dropout=args.dropout, lr=args.lr, batch_size=args.batch_size, test_fraction=args.test_fraction,
                 compression=args.compression, dim=args.dim, ae_steps=args.ae_steps,
                 validation_seeds=args.validation_seeds, seed=args.seed, store=args.store, out=args.out,
                 progress=not args.quiet)
    rows = result.rows
    last = rows[rows["epoch"] == rows["epoch"].max()]
    cols = ["estimator", "layer", "i_xl", "i_xl_err", "i_ly", "i_ly_err", "train_acc", "test_acc"]
    print(f"epoch {int(rows['epoch'].max())} (nats; err: validated error bar)")
    print(last[cols].to_markdown(index=False, floatfmt=".3f"))
    if len(result.validation):
        print("\nvalidation on images with known MI")
        print(result.validation_summary.to_markdown(index=False, floatfmt=".3f"))
    failed = rows["error"].notna().sum()
    if failed:
        print(f"\n{failed} estimate(s) failed; see the error column", file=sys.stderr)
    where = [p for p in (args.out, args.store) if p]
    if where:
        print(f"\nwritten: {', '.join(where)}")
    return 0


def _load(path: str):
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as f:
            if "x" not in f or "labels" not in f:
                raise MibenchError(f"{path!r} must hold arrays named x and labels, found {sorted(f.files)}")
            return f["x"], f["labels"]
    except (OSError, ValueError) as exc:
        raise MibenchError(f"cannot read {path!r} as an .npz file ({exc})") from None
