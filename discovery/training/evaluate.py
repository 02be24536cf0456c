"""``eqdisco bench prose``: how well a PROSE checkpoint predicts trajectories and recovers equations.

On held-out samples (seeds never used in training) of three test sets -- ``zoo`` (the training families, new
parameters and initial states: in distribution), ``holdout`` (zoo families the model never saw) and ``random``
(new random grammar systems) -- at several noise levels, with and without the symbol input, it measures:

* ``rel_l2``: relative L2 error of the data decoder on the prediction window (mean and median over samples),
  and, for comparison, its mean on the observed window (reconstruction rather than extrapolation);
* ``valid``: share of samples whose best beam hypothesis decodes to a valid system with the right number of
  equations over the right variables;
* ``r2``: the best *valid* hypothesis re-simulated from the true initial state, scored by R^2 against the clean
  trajectory on the observed window (as the discovery pipeline scores candidates) and on the whole window;
  ``r2>=0.9`` is the share of samples that reach 0.9 on the observed window (no valid hypothesis counts as a miss);
  ``fit-picked`` scores instead the valid beam hypothesis that best fits the observed (noisy) input window when
  re-simulated from its first point (selection by the data the model was given, as ``discover`` does);
* ``terms``: share of samples whose best valid hypothesis has exactly the true terms;
* ``per_system`` (JSON only): the prediction-window relative L2 and the R^2 share per zoo system;
* ``oracle``: the same relative L2 on the prediction window for the *true* equations with every coefficient and
  the initial state 1% off (a reference: the part of the error no model can avoid, large for chaotic systems over
  long windows; see :mod:`discovery.training.windows`);
* ``s/system``: wall time of one system on its own (encode, beam search, decode, data-decoder query).

It prints a markdown table and writes JSON (and the table as markdown) next to the checkpoint by default.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import sympy

from discovery.training.data import DEFAULT_CACHE, DEFAULT_HOLDOUT, DataConfig, generate_dataset, with_noise
from discovery.training.windows import WINDOW_RULES

if TYPE_CHECKING:  # pragma: no cover
    from models.prose.inference import ProsePredictor

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "models" / "checkpoints" / "prose-small"
TEST_SEED = 20_000


@dataclass(frozen=True)
class BenchConfig:
    """What ``eqdisco bench prose`` measures.

    Attributes
    ----------
    samples:
        Samples per test set.
    noises:
        Noise levels of the observed states.
    beam_size:
        Beam width of the symbol decoder.
    sets:
        Test sets among ``"zoo"``, ``"holdout"``, ``"random"``.
    batch_size:
        Samples per forward pass.
    timing_samples:
        Systems timed one at a time.
    seed:
        Seed of the test samples and of the noise.
    """

    samples: int = 100
    noises: tuple[float, ...] = (0.0, 0.02, 0.05)
    beam_size: int = 5
    sets: tuple[str, ...] = ("zoo", "holdout", "random")
    batch_size: int = 32
    timing_samples: int = 10
    seed: int = TEST_SEED


def bench_data_configs(
    samples: int, holdout: Sequence[str], seed: int = TEST_SEED, base: DataConfig | None = None
) -> dict[str, DataConfig]:
    """The data configurations of the three test sets (window and grid settings as in training, via ``base``)."""
    base = (base or DataConfig()).replace(n_samples=samples, holdout=tuple(holdout), systems=None)
    return {
        "zoo": base.replace(random_fraction=0.0, seed=seed),
        "holdout": base.replace(random_fraction=0.0, systems=tuple(holdout), seed=seed + 1),
        "random": base.replace(random_fraction=1.0, seed=seed + 2),
    }


def _symbols(n: int) -> list[sympy.Symbol]:
    return [sympy.Symbol(f"x_{i}") for i in range(n)]


def _truth(meta: dict[str, Any]) -> list[sympy.Expr]:
    from grammar.parser import parse

    names = [s.name for s in _symbols(len(meta["variables"]))]
    return [parse(e, names, hidden=False) for e in meta["equations"]]  # a cache file: read safely, never sympify


def _resimulate(exprs: list[sympy.Expr], x0: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    from discovery.errors import SimulationError
    from discovery.simulation import integrate, lambdify_system

    try:
        f = lambdify_system(exprs, [f"x_{i}" for i in range(len(exprs))])
        return integrate(f, x0, t, rtol=1e-6, atol=1e-8, time_limit=1.0, max_abs=1e6)
    except (SimulationError, ValueError, ArithmeticError, TypeError):
        return None


def _best_fitting(hyps: list[Any], t_in: np.ndarray, x_in: np.ndarray, in_pad: np.ndarray, d: int) -> Any:
    """The hypothesis that, re-simulated from the first observed point, best fits the observed (noisy) window.

    Uses only what the model was given, so it is a decoding strategy (beam search, then selection by the data),
    not a peek at the answer; the first hypothesis wins ties and when none can be simulated.
    """
    from discovery.pipeline.scoring import trajectory_r2

    keep = ~in_pad
    t, x = t_in[keep].astype(np.float64), x_in[keep, :d].astype(np.float64)
    best, best_r2 = hyps[0], -math.inf
    for h in hyps:
        sim = _resimulate(h.equations, x[0], t)
        r2 = -math.inf if sim is None else trajectory_r2(sim, x)
        if r2 > best_r2:
            best, best_r2 = h, r2
    return best


def _perturbed(expr: sympy.Expr, rng: np.random.Generator, error: float) -> sympy.Expr:
    floats = sorted(expr.atoms(sympy.Float), key=float)
    return expr.xreplace({c: sympy.Float(float(c) * (1.0 + error * rng.standard_normal())) for c in floats})


def oracle_rel_l2(arrays: dict[str, np.ndarray], meta: list[dict[str, Any]], error: float = 0.01,
                  seed: int = TEST_SEED) -> np.ndarray:
    """Relative L2 on the prediction window of the true equations with coefficients and initial state ``error``
    off (multiplied by ``1 + error * N(0, 1)``; the state by ``error * std`` of the observed window), per sample.
    A system that cannot be simulated counts 10."""
    rng = np.random.default_rng(seed)
    from discovery.prediction import relative_l2

    out = []
    for j, m in enumerate(meta):
        d = len(m["variables"])
        t_q = arrays["t_query"][j][~arrays["query_pad"][j]].astype(np.float64)
        x_q = arrays["x_query"][j][~arrays["query_pad"][j], :d].astype(np.float64)
        x_in = arrays["x_in"][j][~arrays["in_pad"][j], :d].astype(np.float64)
        exprs = [_perturbed(e, rng, error) for e in _truth(m)]
        x0 = np.asarray(m["x0"], dtype=float) + error * x_in.std(0) * rng.standard_normal(d)
        sim = _resimulate(exprs, x0, t_q)
        pred_window = t_q > m["t_input_end"] + 1e-9
        out.append(10.0 if sim is None else min(relative_l2(sim[pred_window], x_q[pred_window]), 10.0))
    return np.asarray(out)


def _batches(arrays: dict[str, np.ndarray], batch_size: int):
    n = arrays["x_in"].shape[0]
    for start in range(0, n, batch_size):
        yield start, {k: v[start : start + batch_size] for k, v in arrays.items()}


def evaluate_setting(
    predictor: "ProsePredictor",
    arrays: dict[str, np.ndarray],
    meta: list[dict[str, Any]],
    noise: float,
    use_guess: bool,
    beam_size: int = 5,
    batch_size: int = 32,
    seed: int = TEST_SEED,
) -> dict[str, Any]:
    """Metrics of one (test set, noise, symbol input) setting; see the module docstring."""
    import torch

    from discovery.terms import same_terms
    from discovery.prediction import relative_l2
    from discovery.pipeline.scoring import trajectory_r2

    noisy = with_noise(arrays, noise, seed)
    model = predictor.model
    pad_id = model.config.pad_id
    rel, rel_obs, valid, r2_in, r2_full, r2_sel, terms = [], [], [], [], [], [], []
    for start, part in _batches(noisy, batch_size):
        batch = {k: torch.from_numpy(np.ascontiguousarray(v)).to(predictor.device) for k, v in part.items()
                 if k not in ("x_query", "query_pad", "target")}
        if not use_guess:
            batch["guess"] = torch.full_like(batch["guess"], pad_id)
        with torch.no_grad():
            memory, mem_pad, scales = model.encode(batch)
            x_hat, _ = model.decode_data(batch["t_query"], memory, mem_pad, scales)
        x_hat = x_hat.double().cpu().numpy()
        decoded = predictor.decode(batch, beam_size=beam_size)
        for j in range(x_hat.shape[0]):
            m = meta[start + j]
            d = len(m["variables"])
            t_q = part["t_query"][j][~part["query_pad"][j]].astype(np.float64)
            x_q = part["x_query"][j][~part["query_pad"][j], :d].astype(np.float64)
            pred_window = t_q > m["t_input_end"] + 1e-9
            rel.append(relative_l2(x_hat[j][: t_q.size, :d][pred_window], x_q[pred_window]))
            rel_obs.append(relative_l2(x_hat[j][: t_q.size, :d][~pred_window], x_q[~pred_window]))
            hyps = decoded[j]
            valid.append(bool(hyps) and hyps[0].valid)
            good = [h for h in hyps if h.valid]
            if not good:
                for column in (r2_in, r2_full, r2_sel):
                    column.append(-math.inf)
                terms.append(False)
                continue
            truth = _truth(m)
            names = [f"x_{i}" for i in range(d)]
            terms.append(same_terms(dict(zip(names, good[0].equations)), dict(zip(names, truth))))
            x0 = np.asarray(m["x0"], dtype=float)
            sim = _resimulate(good[0].equations, x0, t_q)
            if sim is None:
                r2_in.append(-math.inf)
                r2_full.append(-math.inf)
            else:
                r2_in.append(trajectory_r2(sim[~pred_window], x_q[~pred_window]))
                r2_full.append(trajectory_r2(sim, x_q))
            chosen = _best_fitting(good, part["t_in"][j], part["x_in"][j], part["in_pad"][j], d)
            sim = sim if chosen is good[0] else _resimulate(chosen.equations, x0, t_q)
            r2_sel.append(-math.inf if sim is None else trajectory_r2(sim[~pred_window], x_q[~pred_window]))
    rel_a, r2_a, r2f_a = np.asarray(rel), np.asarray(r2_in), np.asarray(r2_full)
    systems = np.asarray([m["system"] for m in meta[: rel_a.size]])
    per_system = {
        name: {"n": int(np.sum(systems == name)),
               "rel_l2_mean": float(np.mean(np.minimum(rel_a[systems == name], 10.0))),
               "r2_ge_0.9": float(np.mean(r2_a[systems == name] >= 0.9))}
        for name in sorted(set(systems.tolist()))
    }
    return {
        "noise": noise,
        "guess": use_guess,
        "n": int(rel_a.size),
        "rel_l2_mean": float(np.mean(np.minimum(rel_a, 10.0))),
        "rel_l2_median": float(np.median(rel_a)),
        "rel_l2_observed_mean": float(np.mean(np.minimum(np.asarray(rel_obs), 10.0))),
        "valid": float(np.mean(valid)),
        "r2_median": float(np.median(r2_a)),
        "r2_ge_0.9": float(np.mean(r2_a >= 0.9)),
        "r2_full_median": float(np.median(r2f_a)),
        "r2_full_ge_0.9": float(np.mean(r2f_a >= 0.9)),
        "r2_select_ge_0.9": float(np.mean(np.asarray(r2_sel) >= 0.9)),
        "terms": float(np.mean(terms)),
        "per_system": per_system,
    }


def time_per_system(predictor: "ProsePredictor", arrays: dict[str, np.ndarray], meta: list[dict[str, Any]],
                    n: int, beam_size: int) -> float:
    """Mean wall time of one system alone: batch building, beam search + decoding, and a data-decoder query."""
    times = []
    for j in range(min(n, arrays["x_in"].shape[0])):
        d = len(meta[j]["variables"])
        valid = ~arrays["in_pad"][j]
        t, x = arrays["t_in"][j][valid], arrays["x_in"][j][valid, :d]
        start = time.perf_counter()
        batch = predictor.make_batch([(t, x)])
        predictor.decode(batch, beam_size=beam_size)
        predictor.predict_states(batch, [np.linspace(t[0], t[0] + 1.5 * (t[-1] - t[0]), 100)])
        times.append(time.perf_counter() - start)
    return float(np.mean(times)) if times else float("nan")


def run_benchmark(
    predictor: "ProsePredictor",
    config: BenchConfig = BenchConfig(),
    holdout: Sequence[str] = DEFAULT_HOLDOUT,
    data_base: DataConfig | None = None,
    workers: int | None = None,
    cache_dir: str | Path | None = DEFAULT_CACHE,
    log=None,
) -> dict[str, Any]:
    """Run every setting of ``config``; returns the JSON-ready report.

    Examples
    --------
    >>> predictor = ProsePredictor.from_pretrained(DEFAULT_CHECKPOINT)  # doctest: +SKIP
    >>> report = run_benchmark(predictor, BenchConfig(samples=20))  # doctest: +SKIP
    >>> print(markdown_table(report))  # doctest: +SKIP
    """
    unknown = sorted(set(config.sets) - {"zoo", "holdout", "random"})
    if unknown:
        raise ValueError(f"unknown test sets {unknown}; valid: zoo, holdout, random")
    configs = bench_data_configs(config.samples, holdout, config.seed, data_base)
    rows = []
    timing = None
    started = time.time()
    for name in config.sets:
        if name == "holdout" and not holdout:
            continue
        arrays, meta = generate_dataset(configs[name], workers=workers, cache_dir=cache_dir)
        oracle = oracle_rel_l2(arrays, meta, seed=config.seed)
        if name == "zoo":
            timing = time_per_system(predictor, arrays, meta, config.timing_samples, config.beam_size)
        for noise in config.noises:
            for use_guess in (True, False):
                row = {"set": name, **evaluate_setting(predictor, arrays, meta, noise, use_guess,
                                                       config.beam_size, config.batch_size, config.seed),
                       "oracle_rel_l2_mean": float(np.mean(oracle)), "oracle_rel_l2_median": float(np.median(oracle))}
                rows.append(row)
                if log is not None:
                    log(format_row(row))
    return {
        "config": {**asdict(config), "holdout": list(holdout), "window_rule": configs["zoo"].window_rule,
                   "window_tolerance": configs["zoo"].window_tolerance},
        "results": rows,
        "seconds_per_system": timing,
        "elapsed_s": time.time() - started,
        "targets": {"valid (zoo, 2% noise)": ">= 0.95", "rel_l2 (prediction window)": "<= 0.05",
                    "r2>=0.9 share": ">= 0.80", "s/system (beam 5)": "<= 1.0"},
    }


COLUMNS = [("set", "set"), ("noise", "noise"), ("guess", "guess"), ("n", "n"), ("rel_l2_mean", "rel L2 mean"),
           ("rel_l2_median", "rel L2 median"), ("rel_l2_observed_mean", "rel L2 obs. window"),
           ("oracle_rel_l2_mean", "rel L2 oracle 1% (mean)"), ("valid", "valid"),
           ("r2_median", "R2 median (obs.)"),
           ("r2_ge_0.9", "R2>=0.9 (obs.)"), ("r2_full_ge_0.9", "R2>=0.9 (full)"),
           ("r2_select_ge_0.9", "R2>=0.9 (obs., fit-picked)"), ("terms", "exact terms")]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "-inf" if value == -math.inf else f"{value:.3f}"
    return str(value)


def format_row(row: dict[str, Any]) -> str:
    return "| " + " | ".join(_fmt(row.get(k, "")) for k, _ in COLUMNS) + " |"


def markdown_table(report: dict[str, Any]) -> str:
    """The report's results as a markdown table, with the timing below it."""
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += [format_row(r) for r in report["results"]]
    if report.get("seconds_per_system") is not None:
        lines.append("")
        lines.append(f"Inference time per system (beam {report['config']['beam_size']}, CPU): "
                     f"{report['seconds_per_system']:.3f} s")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``eqdisco bench prose``."""
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="PROSE checkpoint folder")
    parser.add_argument("--ood", action="store_true",
                        help="systems never seen in training (benchmarks/unseen, benchmarks/textbook, random held-out "
                             "skeletons; see discovery.training.ood) instead of the zoo test sets")
    parser.add_argument("--samples", type=int, default=None,
                        help="samples per test set (default 100); with --ood, random held-out systems (default 24)")
    parser.add_argument("--noise", type=float, nargs="+", default=None,
                        help="noise levels (default 0 0.02 0.05; with --ood 0 0.01 0.05)")
    parser.add_argument("--beam", type=int, default=5, help="beam width")
    parser.add_argument("--sets", nargs="+", default=None,
                        help="test sets (default zoo holdout random; with --ood unseen textbook random)")
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON report (default CHECKPOINT/eval_report.json, with --ood CHECKPOINT/ood_report.json)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--workers", type=int, default=None, help="data-generation processes")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--window-rule", choices=WINDOW_RULES, default=None,
                        help="zoo windows of the test samples (default: the checkpoint's training rule)")


def run(args: argparse.Namespace) -> int:
    """Run ``eqdisco bench prose``; prints the table and writes ``--out`` (JSON) and the same name ``.md``."""
    import torch

    from models.prose.inference import ProsePredictor
    from models.prose.io import METADATA_NAME

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    predictor = ProsePredictor.from_pretrained(args.checkpoint, device=args.device)
    if args.ood:
        return _run_ood(predictor, args)
    holdout, base = DEFAULT_HOLDOUT, None
    info_path = Path(args.checkpoint) / METADATA_NAME
    if info_path.is_file():
        data_cfg = json.loads(info_path.read_text()).get("data_config", {})
        holdout = tuple(data_cfg.get("holdout", holdout))
        keep = {k: data_cfg[k] for k in ("n_input", "n_query", "input_fraction", "window_fraction",
                                         "window_rule", "window_tolerance", "random_window", "irregular_fraction",
                                         "term_prob", "coef_noise", "max_tokens", "max_random_vars", "normalization")
                if k in data_cfg}
        keep.setdefault("window_rule", "span")  # checkpoints from before window rules were trained on spans
        base = DataConfig(**keep)
    if args.window_rule is not None:
        base = (base or DataConfig()).replace(window_rule=args.window_rule)
    config = BenchConfig(samples=args.samples or 100, noises=tuple(args.noise or (0.0, 0.02, 0.05)),
                         beam_size=args.beam, sets=tuple(args.sets or ("zoo", "holdout", "random")))
    print("| " + " | ".join(title for _, title in COLUMNS) + " |", file=sys.stderr)
    report = run_benchmark(predictor, config, holdout, base, args.workers, args.cache_dir,
                           log=lambda line: print(line, file=sys.stderr, flush=True))
    report["checkpoint"] = Path(args.checkpoint).name
    table = markdown_table(report)
    print(table)
    out = args.out or Path(args.checkpoint) / "eval_report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float) + "\n")
    out.with_suffix(".md").write_text(f"# PROSE benchmark: {Path(args.checkpoint).name}\n\n{table}\n")
    return 0


def _run_ood(predictor: "ProsePredictor", args: argparse.Namespace) -> int:
    """``eqdisco bench prose --ood``: prints the table, writes ``--out`` (default ``CHECKPOINT/ood_report.json``)."""
    from discovery.training.ood import OOD_COLUMNS, SETS, OodConfig, ood_markdown, run_ood, write_report

    config = OodConfig(samples=24 if args.samples is None else args.samples,
                       noises=tuple(args.noise or (0.0, 0.01, 0.05)), beam_size=args.beam,
                       sets=tuple(args.sets or SETS))
    print("| " + " | ".join(title for _, title in OOD_COLUMNS) + " |", file=sys.stderr)
    report = run_ood(predictor, config, log=lambda line: print(line, file=sys.stderr, flush=True))
    report["checkpoint"] = Path(args.checkpoint).name
    print(ood_markdown(report))
    out = args.out or Path(args.checkpoint) / "ood_report.json"
    write_report(report, out, f"PROSE on systems never seen in training: {Path(args.checkpoint).name}")
    return 0
