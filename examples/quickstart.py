"""Discover the equations behind a bundled example with the Python API, then export them.

Usage::

    python examples/quickstart.py                       # examples/lotka_volterra.csv, method auto
    python examples/quickstart.py FILE.csv --method sindy --out result.json --plot result.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

from discovery import discover


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=str(Path(__file__).resolve().parent / "lotka_volterra.csv"))
    parser.add_argument("--method", default="auto")
    parser.add_argument("--out", help="write the result JSON here")
    parser.add_argument("--plot", help="write the figure (data, model, extrapolation, operator forecasts) here")
    args = parser.parse_args(argv)

    result = discover(args.file, method=args.method, progress=lambda msg, f: print(f"[{f:4.0%}] {msg}"))
    print(f"\nbest model ({result.method}, R^2 = {result.metrics['r2']}, complexity {result.best.complexity}):")
    for v, rhs in result.equations.items():
        print(f"  d{v}/dt = {rhs}")
    print("\nPareto front (complexity, 1 - R^2 on windows):")
    for c in result.front:
        print(f"  {c.complexity:4d}  {1 - (c.metrics.get('r2_window') or float('-inf')):.3g}  [{c.method}]")
    print("\nLaTeX:\n" + result.latex())
    if args.out:
        result.to_json(args.out)
        print(f"\nwrote {args.out}")
    if args.plot:
        result.plot(args.file, args.plot)  # the data the result was discovered from
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
