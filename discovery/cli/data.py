"""``eqdisco systems``, ``eqdisco simulate`` and ``eqdisco validate``: the zoo, synthetic data, data checks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from discovery.cli.common import EXIT_FAILED, EXIT_OK, CLIError, assignments, expand_folders, floats, user_errors
from discovery.errors import one_line


def cmd_systems(args: argparse.Namespace) -> int:
    from grammar.zoo import ZOO

    if args.json:
        payload = {
            name: {
                "title": s.title,
                "variables": list(s.variables),
                "equations": {v: str(e) for v, e in zip(s.variables, s.equations)},
                "params": s.params,
                "t_span": list(s.t_span),
                "family": s.family,
            }
            for name, s in ZOO.items()
        }
        print(json.dumps(payload, indent=2))
        return EXIT_OK
    width = max(len(n) for n in ZOO)
    for name, s in ZOO.items():
        print(f"{name:<{width}}  {len(s.variables)} vars ({', '.join(s.variables)})  {s.family:<7}  {s.description}")
    return EXIT_OK


def _simulate_field(args: argparse.Namespace) -> int:
    """``eqdisco simulate PDE --out FILE.npz``: a zoo PDE from its nominal (or seeded) initial field."""
    from discovery.fields import simulate_zoo
    from grammar.pde_zoo import get_pde

    system = get_pde(args.system)
    if args.x0 is not None or args.trajectories != 1 or args.dt is not None:
        raise CLIError(f"{system.name} is a PDE: --x0, --trajectories and --dt do not apply (use --grid Nt,Nx and "
                       "--seed for another initial field)")
    params = dict(system.params)
    if args.params:
        given = assignments(args.params, "--params")
        unknown = sorted(set(given) - set(params))
        if unknown:
            raise CLIError(f"--params: unknown parameter(s) {', '.join(unknown)} for {system.name}; "
                           f"known: {', '.join(params) or 'none'}")
        params.update(given)
    grid = None
    if args.grid:
        grid = tuple(int(v) for v in floats(args.grid, "--grid"))
        if len(grid) != 1 + system.dim or min(grid) < 2:
            raise CLIError(f"--grid needs {1 + system.dim} sizes >= 2 (Nt,Nx{',Ny' if system.dim == 2 else ''}) "
                           f"for {system.name}, got {args.grid}")
    t0, t1 = system.t_span
    t_span = (args.t0 if args.t0 is not None else t0, args.t1 if args.t1 is not None else t1)
    if not t_span[1] > t_span[0]:
        raise CLIError(f"need --t1 > --t0, got t0={t_span[0]}, t1={t_span[1]}")
    field = simulate_zoo(system, params=params, grid=grid, t_span=t_span, seed=args.seed if args.seed else None,
                         noise=args.noise, noise_seed=args.seed or 0)
    field = field.replace(source=Path(args.out).name)
    field.save(args.out)
    print(f"wrote {args.out}: {field.summary()}")
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from grammar.pde_zoo import PDE_ZOO

    if args.system in PDE_ZOO:
        return _simulate_field(args)

    from discovery.data import Trajectories
    from discovery.simulation import sample_initial_condition, simulate
    from grammar.zoo import get_system

    system = get_system(args.system)
    params = dict(system.params)
    if args.params:
        given = assignments(args.params, "--params")
        unknown = sorted(set(given) - set(params))
        if unknown:
            raise CLIError(f"--params: unknown parameter(s) {', '.join(unknown)} for {system.name}; "
                           f"known: {', '.join(params)}")
        params.update(given)
    t0, t1 = system.t_span
    t0 = args.t0 if args.t0 is not None else t0
    t1 = args.t1 if args.t1 is not None else t1
    dt = args.dt if args.dt is not None else system.dt
    if not (t1 > t0) or dt <= 0:
        raise CLIError(f"need --t1 > --t0 and --dt > 0, got t0={t0}, t1={t1}, dt={dt}")
    t = np.arange(t0, t1 + 0.5 * dt, dt)
    rng = np.random.default_rng(args.seed)
    trajectories = []
    for k in range(args.trajectories):
        if args.x0 is not None and k == 0:
            x0 = floats(args.x0, "--x0")
            if len(x0) != len(system.variables):
                raise CLIError(f"--x0 needs {len(system.variables)} values ({', '.join(system.variables)}), "
                               f"got {len(x0)}")
        elif k == 0:
            x0 = list(system.x0)
        else:
            x0 = list(sample_initial_condition(system, rng))
        seed = None if args.seed is None else args.seed + k
        trajectories.extend(simulate(system, params=params, x0=x0, t=t, noise=args.noise, seed=seed))
    data = Trajectories(system.variables, trajectories, source=Path(args.out).name)
    data.to_csv(args.out)
    print(f"wrote {args.out}: {data.summary()}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from discovery.data import load_trajectories

    files, errors = expand_folders(args.files)
    for line in errors:
        print(line, file=sys.stderr)
    failed = len(errors)
    for f in files:
        try:
            from discovery.fields import is_field, load_field

            data = load_field(f) if is_field(f) else load_trajectories(f)
            print(f"ok: {data.summary()}")
        except user_errors() as exc:
            failed += 1
            print(f"error: {one_line(exc)}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``simulate``, ``validate`` and ``systems``."""
    p = sub.add_parser("simulate", help="simulate a system of the zoo (ODE: CSV; PDE: a field file)")
    p.add_argument("system", help="a zoo name (see 'eqdisco systems'), or a PDE of grammar/pde_zoo.py (burgers, "
                                  "heat, kdv, ...)")
    p.add_argument("--params", metavar="A=1,B=2", help="parameter values (default: nominal)")
    p.add_argument("--x0", metavar="X,Y,...", help="initial condition (default: nominal)")
    p.add_argument("--t0", type=float)
    p.add_argument("--t1", type=float)
    p.add_argument("--dt", type=float)
    p.add_argument("--noise", type=float, default=0.0, help="relative noise, e.g. 0.01 for 1%% (default 0)")
    p.add_argument("--trajectories", type=int, default=1,
                   help="number of trajectories (random initial conditions after the first)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grid", metavar="NT,NX[,NY]", help="PDEs: grid sizes (default: the zoo entry's)")
    p.add_argument("--out", required=True, metavar="FILE.csv",
                   help="output file (PDEs: .npz, .nc/.h5 or .csv long table)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("validate", help="check data files against the data contract")
    p.add_argument("files", nargs="+", metavar="FILE", help="data files, or folders of them")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("systems", help="list the systems of the ODE zoo")
    p.add_argument("--json", action="store_true", help="print the zoo as JSON")
    p.set_defaults(func=cmd_systems)
