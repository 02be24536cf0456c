"""The field ``pinn`` method: complete a partly known PDE with hidden terms learned by a PINN, then distilled.

The user gives what is known and names what is not (``known="h1(u, u_x) + 0.1*u_xx"``, see
:mod:`discovery.fields.known`). :func:`models.field_pinn.fit_field_pinn` trains a surrogate ``U(t, x)`` of the
field together with one network per hidden term, every derivative by automatic differentiation. Each learned
``h_k`` is then sampled at the arguments the surrogate takes on the grid and distilled to formulas, the same way
the ODE ``pinn`` method distills (:mod:`discovery.methods.distill`):

- **sparse regression** over the monomials of its arguments up to ``max_degree`` (one formula per number of
  terms on the sparsity path of :mod:`discovery.fields.regression`), and
- **symbolic regression** (:func:`discovery.methods.distill.distill`) when ``sr_time_budget_s > 0``, for terms
  that are not polynomials.

Combinations of the formulas, substituted into the known PDE, are the candidates that
:func:`discovery.fields.discover_field` re-simulates, scores and selects like the sparse method's. Each
combination also comes refitted twice (:func:`refit_constants`): the constants of its hidden formulas fitted by
least squares to the surrogate's own ``f_t`` minus the known part, which removes the hidden network's approximation
error from them (where the PDE is linear in those constants), and fitted the same way to the (denoised) field's own
derivatives, which removes the surrogate's; the re-simulation decides between the three.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import sympy

from discovery.errors import DiscoveryError
from discovery.fields.field import Field
from discovery.fields.known import FieldKnown, parse_field_known
from discovery.methods.sr_backends import BACKENDS
from discovery.options import Options, build_options, config_from, option
from models.progress import ProgressFn


@dataclass(frozen=True)
class FieldPINNOptions(Options):
    """Options of the field ``pinn`` method (``discover_field(..., method="pinn", pinn={...})``).

    Attributes
    ----------
    known:
        The partly known PDE (see :mod:`discovery.fields.known`); ``discover_field``'s ``known=`` fills it.
    n_samples:
        Grid points at which each learned hidden term is sampled for distillation.
    max_degree, max_terms:
        Sparse distillation: monomials of the hidden term's arguments up to this degree, formulas up to this many
        terms.
    sr_time_budget_s:
        Seconds of symbolic regression per hidden term (``0``: sparse regression only).
    sr_backend, max_complexity, n_formulas:
        Symbolic-regression backend, largest formula, formulas kept from its front.
    max_candidates:
        Candidate PDEs (combinations of the hidden terms' formulas) handed to re-simulation.
    model, training:
        :class:`models.field_pinn.FieldPINNModelConfig` / :class:`models.field_pinn.FieldPINNTrainConfig` or
        dicts of their fields.
    """

    owner = "pinn"

    known: Any = None
    n_samples: int = option(2000, low=10)
    max_degree: int = option(3, low=1, high=5)
    max_terms: int = option(4, low=1, high=12)
    sr_time_budget_s: float = option(6.0, low=0.0)
    sr_backend: str = option("auto", choices=("auto", *BACKENDS))
    max_complexity: int = option(15, low=3, high=200)
    n_formulas: int = option(2, low=1)
    max_candidates: int = option(8, low=1)
    model: Any = None
    training: Any = None

    def validate(self) -> None:
        from models.field_pinn import FieldPINNModelConfig, FieldPINNTrainConfig

        object.__setattr__(self, "model", config_from(FieldPINNModelConfig, self.model, "pinn.model"))
        object.__setattr__(self, "training", config_from(FieldPINNTrainConfig, self.training, "pinn.training"))


def pinn_options(value: Any, known: Any = None) -> FieldPINNOptions:
    """:class:`FieldPINNOptions` from ``None``, an instance or a mapping; ``known`` fills its ``known`` field."""
    opts = value if isinstance(value, FieldPINNOptions) else build_options(FieldPINNOptions, value, owner="pinn")
    if known is not None:
        if opts.known is not None and opts.known != known:
            raise DiscoveryError("pinn: the known PDE is given twice (known= and pinn={'known': ...}); give it once")
        opts = replace(opts, known=known)
    return opts


@dataclass
class PINNCandidate:
    """One completed PDE: equations, the hidden terms' formulas, and the number of additive terms."""

    equations: dict[str, sympy.Expr]
    hidden: dict[str, sympy.Expr]
    n_terms: int


def _monomials(names: Sequence[str], degree: int) -> list[sympy.Expr]:
    syms = [sympy.Symbol(n) for n in names]
    out: list[sympy.Expr] = [sympy.Integer(1)]
    for d in range(1, degree + 1):
        out += [sympy.Mul(*c) for c in itertools.combinations_with_replacement(syms, d)]
    return out


def sparse_formulas(X: np.ndarray, y: np.ndarray, names: Sequence[str], max_degree: int,
                    max_terms: int) -> list[sympy.Expr]:
    """One formula per size on the sparsity path of ``y ~ monomials(X)`` (fewest terms first)."""
    from discovery.fields.regression import sparsity_path

    basis = _monomials(names, max_degree)
    syms = [sympy.Symbol(n) for n in names]
    cols = [np.broadcast_to(np.asarray(sympy.lambdify(syms, b, "numpy")(*X.T), dtype=float), y.shape)
            for b in basis]
    theta = np.stack(cols, axis=1)
    out = []
    for fit in sparsity_path(theta, y, max_terms):
        out.append(sympy.Add(*[sympy.Float(float(fit.coefficients[j]), 8) * basis[j] for j in fit.support]))
    return out


def refit_constants(known: FieldKnown, forms: dict[str, sympy.Expr], values: np.ndarray,
                    rates: np.ndarray) -> dict[str, sympy.Expr] | None:
    """The hidden formulas with their additive terms' constants refitted so that the completed PDE matches the
    surrogate's time derivatives: least squares of ``rates`` ``(P, F)`` on the terms, evaluated at the derivative
    values ``values`` ``(P, S)`` (columns :attr:`FieldKnown.symbols`). ``None`` when the PDE is not linear in
    those constants or the fit is degenerate."""
    coefs: list[sympy.Symbol] = []
    shaped = {}
    for name, expr in forms.items():
        terms = []
        for term in sympy.Add.make_args(sympy.expand(expr)):
            c = sympy.Symbol(f"_c{len(coefs)}")
            coefs.append(c)
            terms.append(c * term.as_coeff_Mul()[1])
        shaped[name] = sympy.Add(*terms)
    if not coefs:
        return None
    equations = known.substitute(shaped)
    syms = [sympy.Symbol(n) for n in known.symbols]
    rows, targets = [], []
    for k, f in enumerate(known.fields):
        e = sympy.expand(equations[f])
        grads = [sympy.diff(e, c) for c in coefs]
        if any(g.free_symbols & set(coefs) for g in grads):
            return None
        base = e.xreplace({c: 0 for c in coefs})
        with np.errstate(all="ignore"):
            cols = [np.broadcast_to(np.asarray(sympy.lambdify(syms, g, "numpy")(*values.T), dtype=float),
                                    (values.shape[0],)) for g in grads]
            offset = np.broadcast_to(np.asarray(sympy.lambdify(syms, base, "numpy")(*values.T), dtype=float),
                                     (values.shape[0],))
        scale = max(float(np.sqrt(np.mean(rates[:, k] ** 2))), 1e-12)  # each field's equation weighs the same
        rows.append(np.stack(cols, axis=1) / scale)
        targets.append((rates[:, k] - offset) / scale)
    A, b = np.concatenate(rows), np.concatenate(targets)
    if not np.all(np.isfinite(A)) or np.linalg.matrix_rank(A) < len(coefs):
        return None
    sol = np.linalg.lstsq(A, b, rcond=None)[0]
    values_of = {c: sympy.Float(float(v), 8) for c, v in zip(coefs, sol)}
    return {name: e.xreplace(values_of) for name, e in shaped.items()}


def _data_rows(values: Sequence[np.ndarray], rate: np.ndarray, flags: Sequence[bool], n: int,
               rng: np.random.Generator, edge: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The derivative values ``(P, S)`` (from ``values``, each ``(Nt, *N)``) and time derivatives ``(P, F)`` (from
    ``rate``, ``(F, Nt, *N)``) of the (denoised) field itself at up to ``n`` grid points away from the ends in time
    and from non-periodic edges: the rows of the data refit of :func:`refit_constants`, which takes the constants
    from the data rather than from the surrogate."""
    shape = rate.shape[1:]
    inner = tuple([slice(edge, shape[0] - edge)] + [slice(None) if per else slice(edge, m - edge)
                                                    for per, m in zip(flags, shape[1:])])
    points = np.stack([v[inner].reshape(-1) for v in values], axis=1)
    rates = np.stack([r[inner].reshape(-1) for r in rate], axis=1)
    pick = rng.choice(points.shape[0], min(n, points.shape[0]), replace=False)
    return points[pick], rates[pick]


def _rms(a: np.ndarray) -> float:
    return max(float(np.sqrt(np.mean(np.square(a)))), 1e-12)


def _n_terms(equations: dict[str, sympy.Expr]) -> int:
    return sum(len(sympy.Add.make_args(sympy.expand(e))) for e in equations.values())


def pinn_candidates(field: Field, options: FieldPINNOptions, *, device: str = "auto", seed: int = 0,
                    progress: ProgressFn | None = None) -> tuple[list[PINNCandidate], dict[str, Any]]:
    """Train the field PINN on ``field`` and distill its hidden terms into candidate PDEs.

    Parameters
    ----------
    field:
        The field the surrogate fits (``discover_field`` passes the denoised field).
    options:
        :class:`FieldPINNOptions` with ``known`` set.
    device, seed, progress:
        Torch device (``"auto"`` = CUDA when present), seed, ``progress(message, fraction)`` callback.

    Returns
    -------
    tuple
        The candidates (fewest terms first) and training details (``known``, ``pinn_loss``, ``train_s``).
    """
    from discovery.fields.derivatives import partial
    from discovery.methods.distill import combine, distill
    from models.field_pinn import fit_field_pinn

    report = progress or (lambda message, fraction: None)
    known: FieldKnown = parse_field_known(options.known, field.names, field.axes)
    data = field.stack()  # (F, Nt, *N)
    derivs = known.derivatives()
    spacings = [field.spacing(a) for a in field.axes]
    flags = [field.periodic[a] for a in field.axes]
    space = tuple(range(1, data.ndim - 1))
    arg_values = [partial(data[f], orders, space, spacings, flags) for f, orders in derivs]  # (Nt, *N) each
    arg_scales = [_rms(a) for a in arg_values]
    rate = np.gradient(data, field.t, axis=1)
    hidden_scales = []
    for h in known.hidden:
        users = [k for k, f in enumerate(field.names) if h in {a.func.__name__ for a in
                 known.equations[f].atoms(sympy.Function)}]
        hidden_scales.append(float(np.mean([_rms(rate[k]) for k in users])))
    fit = fit_field_pinn(field.t, [field.coords[a] for a in field.axes], data, known.torch_rhs(), derivs,
                         known.hidden_indices(), arg_scales=arg_scales, hidden_scales=hidden_scales,
                         model_config=options.model, train_config=options.training, device=device, seed=seed,
                         progress=lambda m, f: report(m, 0.75 * f))

    rng = np.random.default_rng(seed)
    grids = np.meshgrid(field.t, *[field.coords[a] for a in field.axes], indexing="ij")
    points = np.stack([g.ravel() for g in grids], axis=1)
    points = points[rng.choice(points.shape[0], min(options.n_samples, points.shape[0]), replace=False)]
    values = fit.derivative_values(points)  # (P, S)
    choices = []
    for k, (name, args) in enumerate(known.hidden.items()):
        report(f"distilling {name}({', '.join(args)})", 0.75 + 0.2 * k / len(known.hidden))
        X = values[:, list(known.hidden_indices()[k])]
        y = fit.hidden(k, X)
        found = sparse_formulas(X, y, args, options.max_degree, options.max_terms)
        if options.sr_time_budget_s > 0:
            found += distill(X, y, args, n_formulas=options.n_formulas, backend=options.sr_backend,
                             max_complexity=options.max_complexity, time_budget_s=options.sr_time_budget_s,
                             seed=seed)
        unique: list[sympy.Expr] = []
        for e in found:
            if all(sympy.simplify(e - u) != 0 for u in unique):
                unique.append(e)
        if not unique:
            raise DiscoveryError(f"method 'pinn': no formula was found for {name}({', '.join(args)})")
        choices.append([(name, e) for e in unique])
    rates = fit.rates(points)  # (P, F)
    data_values, data_rates = _data_rows(arg_values, rate, flags, options.n_samples, rng)
    candidates = []
    for combo in combine(choices, options.max_candidates):
        for forms in (dict(combo), refit_constants(known, dict(combo), values, rates),
                      refit_constants(known, dict(combo), data_values, data_rates)):
            if forms is not None:
                equations = known.substitute(forms)
                candidates.append(PINNCandidate(equations, forms, _n_terms(equations)))
    last = fit.history[-1] if fit.history else {}
    info = {"known": {f: str(e) for f, e in known.equations.items()},
            "pinn_loss": {k: v for k, v in last.items() if k != "step"}, "train_s": round(fit.elapsed_s, 2)}
    return sorted(candidates, key=lambda c: c.n_terms), info


__all__ = ["FieldPINNOptions", "PINNCandidate", "pinn_candidates", "pinn_options", "sparse_formulas"]
