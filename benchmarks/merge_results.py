"""Merge ``eqdisco bench`` JSON files: later files replace the (system, noise, contender) runs of earlier ones.

Used when only some contenders were re-measured (say ``auto`` and ``prose`` after a new PROSE checkpoint), so the
README's table can be rebuilt without re-running the others. A run whose R^2 was stored as ``null`` (``-inf``,
a failed simulation) counts as a miss, so only use it on sets whose cases all have a held-out trajectory (the
zoo, ``benchmarks/unseen``).

    python benchmarks/merge_results.py benchmarks/results/discovery.json new.json --out benchmarks/results/discovery.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def merge(paths: list[Path]) -> dict:
    from discovery.bench.core import Outcome, summarize

    runs: dict[tuple, dict] = {}
    sources, systems, noise = [], set(), set()
    for path in paths:
        payload = json.loads(path.read_text())
        sources.append(path.name)
        for run in payload["runs"]:
            runs[(run["system"], run["noise"], run["contender"])] = run
            systems.add(run["system"])
            noise.add(run["noise"])
    # JSON stores -inf as null: a stored null R^2 is a miss (every zoo and unseen case has a held-out trajectory).
    miss = float("-inf")
    outcomes = [Outcome(**{**run, **{k: miss if run[k] is None else run[k] for k in ("r2_fit", "r2_heldout")}})
                for run in runs.values()]
    return {"summary": summarize(outcomes), "runs": list(runs.values()), "complete": True,
            "systems": sorted(systems), "noise": sorted(noise), "merged_from": sources}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="bench JSON files, oldest first")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.files if not p.is_file()]
    if missing:
        print(f"merge_results: error: no such file {missing[0]}", file=sys.stderr)
        return 2
    from discovery.bench.core import format_table
    from discovery.io import atomic_write_text
    from discovery.result import json_safe

    merged = merge(args.files)
    atomic_write_text(args.out, json.dumps(json_safe(merged), indent=2) + "\n")
    print(format_table(merged["summary"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
