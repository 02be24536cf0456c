"""``eqdisco train`` and ``eqdisco bench``: each hands its options to the target's own parser."""

from __future__ import annotations

import argparse
from typing import Any, Sequence


def _delegate(module: str, prog: str, argv: Sequence[str], **kwargs: Any) -> int:
    import importlib

    mod = importlib.import_module(module)
    parser = argparse.ArgumentParser(prog=prog)
    mod.add_arguments(parser, **kwargs)
    return int(mod.run(parser.parse_args(list(argv))) or 0)


def cmd_train(args: argparse.Namespace) -> int:
    return _delegate("discovery.training.training", "eqdisco train prose", args.rest)


BENCH_TARGETS = {
    "discovery": ("discovery.bench.core", {}),
    "prose": ("discovery.training.evaluate", {}),
    "pinn": ("discovery.bench.neural", {"which": "pinn"}),
    "node": ("discovery.bench.neural", {"which": "node"}),
    "uncertainty": ("discovery.bench.uncertainty", {}),
    "driven": ("discovery.bench.driven", {}),
    "pde": ("discovery.bench.pde", {}),
}


def cmd_bench(args: argparse.Namespace) -> int:
    module, kwargs = BENCH_TARGETS[args.target]
    return _delegate(module, f"eqdisco bench {args.target}", args.rest, **kwargs)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``train`` and ``bench``."""
    p = sub.add_parser("train", help="train a model: 'eqdisco train prose --help'")
    p.add_argument("model", choices=["prose"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of the trainer")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("bench", help="benchmarks: 'eqdisco bench [" + "|".join(BENCH_TARGETS) + "] --help'")
    p.add_argument("target", nargs="?", default="discovery", choices=list(BENCH_TARGETS))
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark")
    p.set_defaults(func=cmd_bench)
