"""Trajectories, the data eqdisco learns from, and their loading and validation (the data contract of DESIGN.md).

A :class:`Trajectory` is one time series ``t (N,)``, ``x (N, D)``; :class:`Trajectories` holds one or more of
them with shared variable names. :func:`load_trajectories` reads CSV, Parquet and NPZ files, pandas DataFrames,
dicts of arrays and ``(t, x)`` arrays, and raises :class:`~discovery.errors.DataError` naming the file, row and
column of the first problem, in one line that says what was expected, what was found and how to fix it.

CSV files are decoded and checked by this module itself (not by pandas' error messages), so that a bad cell is
reported at the line number a user sees in an editor. Well-formed files take a fast path through pandas' C
parser; only a file that fails it is scanned line by line to find the first bad cell.
"""

from __future__ import annotations

import csv
import io
import keyword
import math
import operator
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Union, overload

import numpy as np

from discovery.errors import DataError
from discovery.io import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "MAX_STATE_VARS",
    "RESERVED_NAMES",
    "SUPPORTED_EXTENSIONS",
    "Trajectories",
    "Trajectory",
    "load_trajectories",
]

MAX_STATE_VARS = 10
"""Most state variables a data set may have (the grammar and the PROSE tokenizer are sized for this)."""

RESERVED_NAMES = frozenset(
    {"t", "time", "trajectory", "pi", "E", "I", "inf", "nan", "oo"}
    | {"arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"}  # numpy spellings sympy reads as symbols
)
"""Names a state variable may not take: time names, constants, and numpy function spellings.

Besides these, the function names of the grammar (:func:`grammar.operators.function_names`: ``sin``, ``exp``,
``abs``, ...) and any name that ``sympy.sympify`` reads as something other than a plain symbol (``S``, ``N``,
``gamma``, ``beta``, ...) are refused, because result equations are strings that ``sympify`` parses back.
"""

SUPPORTED_EXTENSIONS = (".csv", ".parquet", ".pq", ".npz")
TIME_NAMES = ("t", "time")
UNIFORM_RTOL = 1e-3
"""A time grid is uniform when every step is within this relative tolerance of the median step."""

PathLike = Union[str, os.PathLike]
RowFn = Callable[[int], int]


# ----------------------------------------------------------------------------------------------- data types


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One sampled trajectory: times ``t`` of shape ``(N,)`` and states ``x`` of shape ``(N, D)``, float64.

    The constructor converts both to contiguous float64 arrays and checks their shapes. Trajectories made by
    :func:`load_trajectories` also have finite values and strictly increasing times.

    Examples
    --------
    >>> import numpy as np
    >>> tr = Trajectory(np.linspace(0, 1, 11), np.zeros((11, 2)))
    >>> tr.n_points, tr.duration
    (11, 1.0)
    """

    t: np.ndarray  # (N,)
    x: np.ndarray  # (N, D)

    def __post_init__(self) -> None:
        try:
            t = np.ascontiguousarray(self.t, dtype=np.float64)
            x = np.ascontiguousarray(self.x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"Trajectory expects numeric arrays t (N,) and x (N, D); conversion failed: {exc}"
            ) from None
        if t.ndim != 1 or t.shape[0] == 0:
            raise DataError(f"Trajectory.t must have shape (N,) with N >= 1; got shape {t.shape}")
        if x.ndim != 2 or x.shape[0] != t.shape[0] or x.shape[1] == 0:
            hint = " (use x[:, None] for a single variable)" if x.shape == t.shape else ""
            raise DataError(
                f"Trajectory.x must have shape (N, D) = ({t.shape[0]}, D) with D >= 1 to match t; "
                f"got shape {x.shape}{hint}"
            )
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "x", x)

    @property
    def n_points(self) -> int:
        """Number of time points ``N``."""
        return int(self.t.shape[0])

    @property
    def duration(self) -> float:
        """``t[-1] - t[0]``."""
        return float(self.t[-1] - self.t[0])

    def __repr__(self) -> str:
        return f"Trajectory(n_points={self.n_points}, n_vars={self.x.shape[1]}, t=[{self.t[0]:g}, {self.t[-1]:g}])"


def _step(t: np.ndarray) -> float | None:
    """The time step of an evenly spaced grid, or ``None`` when the grid is irregular or has one point."""
    if t.shape[0] < 2:
        return None
    diffs = np.diff(t)
    median = float(np.median(diffs))
    if median <= 0 or np.max(np.abs(diffs - median)) > UNIFORM_RTOL * median:
        return None
    return float((t[-1] - t[0]) / (t.shape[0] - 1))


class Trajectories(Sequence[Trajectory]):
    """One or more trajectories of the same state variables; behaves as a sequence of :class:`Trajectory`.

    Parameters
    ----------
    variables:
        State variable names, in the column order of every ``x``.
    trajectories:
        At least one trajectory, each with ``x.shape[1] == len(variables)``.
    source:
        Where the data came from (a file name), for messages and results.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 101)
    >>> data = Trajectories(["x", "y"], [Trajectory(t, np.c_[np.cos(t), np.sin(t)])], source="circle.csv")
    >>> data.summary()
    'circle.csv: 2 variables (x, y), 1 trajectory, 101 points, t in [0, 1], uniform dt=0.01'
    """

    __slots__ = ("_variables", "_trajectories", "_source")

    def __init__(
        self, variables: Sequence[str], trajectories: Sequence[Trajectory], source: str | None = None
    ) -> None:
        if isinstance(variables, str) or not all(isinstance(v, str) for v in variables):
            raise DataError(f"Trajectories expects variables as a sequence of names (str); got {variables!r}")
        names = tuple(variables)
        if not names:
            raise DataError("Trajectories expects at least one variable name; got none")
        if len(set(names)) != len(names):
            raise DataError(f"Trajectories expects unique variable names; got {list(names)}")
        items = tuple(trajectories)
        if not items:
            raise DataError("Trajectories expects at least one trajectory; got none")
        for k, tr in enumerate(items):
            if not isinstance(tr, Trajectory):
                raise DataError(f"Trajectories expects Trajectory objects; item {k} is a {type(tr).__name__}")
            if tr.x.shape[1] != len(names):
                raise DataError(
                    f"trajectory {k} has {tr.x.shape[1]} state columns; expected {len(names)}, "
                    f"one per variable ({', '.join(names)})"
                )
        self._variables = names
        self._trajectories = items
        self._source = source

    # -- sequence protocol
    def __len__(self) -> int:
        return len(self._trajectories)

    @overload
    def __getitem__(self, index: int) -> Trajectory: ...

    @overload
    def __getitem__(self, index: slice) -> "Trajectories": ...

    def __getitem__(self, index: int | slice) -> Trajectory | "Trajectories":
        """One trajectory, or a :class:`Trajectories` for a slice (which must keep at least one trajectory)."""
        if isinstance(index, slice):
            return Trajectories(self._variables, self._trajectories[index], self._source)
        return self._trajectories[index]

    def __iter__(self) -> Iterator[Trajectory]:
        return iter(self._trajectories)

    def __repr__(self) -> str:
        return f"Trajectories({self.summary()})"

    # -- description
    @property
    def variables(self) -> tuple[str, ...]:
        """State variable names, in column order."""
        return self._variables

    @property
    def n_vars(self) -> int:
        """Number of state variables ``D``."""
        return len(self._variables)

    @property
    def n_points(self) -> int:
        """Total number of time points over all trajectories."""
        return sum(tr.n_points for tr in self._trajectories)

    @property
    def source(self) -> str | None:
        """Where the data came from (usually the file name), or ``None``."""
        return self._source

    @property
    def is_uniform(self) -> bool:
        """Whether every trajectory's time grid is evenly spaced (within :data:`UNIFORM_RTOL`)."""
        return all(tr.n_points < 2 or _step(tr.t) is not None for tr in self._trajectories)

    @property
    def dt(self) -> float | None:
        """The time step shared by all trajectories, or ``None`` when grids are irregular or steps differ."""
        if not self.is_uniform:
            return None
        steps = [_step(tr.t) for tr in self._trajectories if tr.n_points >= 2]
        if not steps or max(steps) - min(steps) > UNIFORM_RTOL * max(steps):
            return None
        return float(np.mean(steps))

    @property
    def t_range(self) -> tuple[float, float]:
        """Earliest and latest time over all trajectories."""
        return (min(float(tr.t[0]) for tr in self), max(float(tr.t[-1]) for tr in self))

    @property
    def x_range(self) -> dict[str, tuple[float, float]]:
        """``{variable: (min, max)}`` over all trajectories."""
        lo = np.min([tr.x.min(axis=0) for tr in self], axis=0)  # (D,)
        hi = np.max([tr.x.max(axis=0) for tr in self], axis=0)  # (D,)
        return {v: (float(a), float(b)) for v, a, b in zip(self._variables, lo, hi)}

    def summary(self) -> str:
        """One line: source, variables, trajectories, points, time span and grid."""
        d, m = self.n_vars, len(self)
        t0, t1 = self.t_range
        steps = [d_t for d_t in (_step(tr.t) for tr in self) if d_t is not None]
        diffs = [np.diff(tr.t) for tr in self if tr.n_points >= 2]
        if not diffs:
            grid = "one time point per trajectory"
        elif self.dt is not None:
            grid = f"uniform dt={self.dt:.6g}"
        elif self.is_uniform:
            grid = f"uniform per trajectory, dt from {min(steps):.6g} to {max(steps):.6g}"
        else:
            lo, hi = min(float(x.min()) for x in diffs), max(float(x.max()) for x in diffs)
            grid = f"irregular dt from {lo:.6g} to {hi:.6g}"
        return (
            f"{self._source or 'data'}: {d} variable{'s' * (d != 1)} ({', '.join(self._variables)}), "
            f"{m} {'trajectory' if m == 1 else 'trajectories'}, {self.n_points} points, "
            f"t in [{t0:.6g}, {t1:.6g}], {grid}"
        )

    # -- conversion
    def to_frame(self) -> "pd.DataFrame":
        """A pandas DataFrame: columns ``t``, the variables, and ``trajectory`` (0, 1, ...) when there are several."""
        import pandas as pd

        frame = pd.DataFrame(np.concatenate([tr.x for tr in self]), columns=list(self._variables))  # (sum N, D)
        frame.insert(0, "t", np.concatenate([tr.t for tr in self]))
        if len(self) > 1:
            frame["trajectory"] = np.repeat(np.arange(len(self)), [tr.n_points for tr in self])
        return frame

    def to_csv(self, path: PathLike) -> Path:
        """Write :meth:`to_frame` to ``path`` as CSV, atomically; floats round-trip exactly. Returns the path."""
        with atomic_path(path) as tmp:
            self.to_frame().to_csv(tmp, index=False, lineterminator="\n")
        return Path(path)

    def subset(self, indices: Sequence[int]) -> "Trajectories":
        """The trajectories at ``indices`` (in that order), as a new :class:`Trajectories`."""
        picked = []
        for i in indices:
            if not -len(self) <= int(i) < len(self):
                raise IndexError(f"trajectory index {i} is out of range: there are {len(self)} trajectories")
            picked.append(self._trajectories[int(i)])
        return Trajectories(self._variables, picked, self._source)

    def with_noise(self, p: float, seed: int | None = 0) -> "Trajectories":
        """A copy with Gaussian noise of standard deviation ``p * std(x_v)`` added to each variable of each trajectory.

        Examples
        --------
        >>> import numpy as np
        >>> t = np.linspace(0, 1, 50)
        >>> clean = Trajectories(["x"], [Trajectory(t, np.sin(t)[:, None])])
        >>> noisy = clean.with_noise(0.01, seed=1)
        >>> bool(np.allclose(noisy[0].x, clean[0].x, atol=0.01))
        True
        """
        if not (isinstance(p, (int, float)) and math.isfinite(p) and p >= 0):
            raise ValueError(f"noise level p must be a finite number >= 0 (e.g. 0.01 for 1%); got {p!r}")
        rng = np.random.default_rng(seed)
        noisy = []
        for tr in self._trajectories:
            scale = p * tr.x.std(axis=0)  # (D,)
            noisy.append(Trajectory(tr.t, tr.x + rng.standard_normal(tr.x.shape) * scale))
        return Trajectories(self._variables, noisy, self._source)


# --------------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Options:
    variables: tuple[str, ...] | None
    time_column: str | None
    trajectory_column: str | None
    min_points: int
    source: str | None


def load_trajectories(
    data: Any,
    *,
    variables: Sequence[str] | None = None,
    time_column: str | None = None,
    trajectory_column: str | None = "trajectory",
    source: str | None = None,
    min_points: int = 10,
) -> Trajectories:
    """Load and validate trajectories from a file, a DataFrame, a dict of arrays or arrays.

    Parameters
    ----------
    data:
        One of: a path (``str`` or ``Path``) to a ``.csv``, ``.parquet`` or ``.npz`` file; an open binary or text
        file object (its ``name`` picks the format, CSV by default); a pandas DataFrame; a dict of 1-D arrays,
        one per column; a pair ``(t, x)`` with ``t (N,)`` and ``x (N, D)`` (or ``(N,)``), or a list of such
        pairs; or a :class:`Trajectories`, returned as is. An NPZ file holds either arrays ``t`` and ``x`` of
        shape ``(N, D)`` or ``(M, N, D)`` (``t`` of shape ``(N,)`` or ``(M, N)``) with optional ``variables``,
        or one 1-D array per column.
    variables:
        For tables: the state columns to load, in this order (default: every column but time and
        trajectory). For arrays: the names of the ``D`` columns of ``x`` (default ``x0, x1, ...``).
    time_column:
        Name of the time column; by default the column named ``t`` or ``time`` (any case).
    trajectory_column:
        Name of the optional integer column that splits a table into several trajectories; ``None`` for none.
    source:
        Label for messages and results; by default the file name.
    min_points:
        Fewest time points accepted in each trajectory.

    Returns
    -------
    Trajectories
        With finite values, strictly increasing times and valid variable names.

    Raises
    ------
    DataError
        On any input that breaks the data contract. ``file`` is the path as given; ``row`` is the 1-based line
        number for CSV files (the header is line 1), the 0-based row index for Parquet files, DataFrames and
        arrays; ``column`` is the column's name.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 2, 21)
    >>> data = load_trajectories({"t": t, "x": np.exp(-t), "y": np.cos(t)}, source="demo")
    >>> data.variables, data.n_points
    (('x', 'y'), 21)
    """
    if isinstance(min_points, bool) or not isinstance(min_points, (int, np.integer)) or min_points < 1:
        raise ValueError(f"min_points must be an integer >= 1; got {min_points!r}")
    if variables is not None:
        if isinstance(variables, str) or not all(isinstance(v, str) for v in variables):
            raise DataError(f"variables must be a sequence of column names (str); got {variables!r}")
        variables = tuple(v.strip() for v in variables)
        if len(set(variables)) != len(variables):
            raise DataError(f"variables must not repeat a name; got {list(variables)}")
    opts = _Options(variables, time_column, trajectory_column, int(min_points), source)

    if isinstance(data, Trajectories):
        return data if variables is None else _select(data, variables)
    if isinstance(data, (str, os.PathLike)):
        return _load_path(Path(data), str(data), opts)
    if hasattr(data, "read"):
        name = getattr(data, "name", None)
        name = name if isinstance(name, str) else None
        if name is not None and opts.source is None:
            opts = replace(opts, source=Path(name).name)
        return _load_content(data.read(), Path(name or "data.csv").suffix.lower(), name, opts)
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return _load_frame(data, opts.source, opts)
    if isinstance(data, Mapping):
        return _load_columns([str(k) for k in data], [data[k] for k in data], opts.source, opts, header_row=None)
    if isinstance(data, (tuple, list)):
        return _load_pairs(data, opts.source, opts)
    if isinstance(data, np.ndarray):
        raise DataError(
            f"a bare array of shape {data.shape} has no time axis; expected a pair (t, x) with t (N,) and x (N, D)",
            file=opts.source,
        )
    raise DataError(
        f"unsupported data of type {type(data).__name__}; expected a path (.csv, .parquet, .npz), a DataFrame, "
        "a dict of arrays, a pair (t, x), a list of such pairs, or Trajectories",
        file=opts.source,
    )


def _select(data: Trajectories, variables: tuple[str, ...]) -> Trajectories:
    missing = [v for v in variables if v not in data.variables]
    if missing:
        raise DataError(
            f"variable {missing[0]!r} not found; the data has {', '.join(data.variables)}", file=data.source
        )
    idx = [data.variables.index(v) for v in variables]
    return Trajectories(variables, [Trajectory(tr.t, tr.x[:, idx]) for tr in data], data.source)


def _load_path(path: Path, file: str, opts: _Options) -> Trajectories:
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise DataError(
            f"unsupported file type {ext or '(no extension)'!r}; expected one of {', '.join(SUPPORTED_EXTENSIONS)} "
            "(export spreadsheets as CSV)",
            file=file,
        )
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise DataError(
            f"file not found: the path {what}; expected a data file (working folder: {os.getcwd()})", file=file
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror or exc}; check its permissions", file=file) from None
    return _load_content(raw, ext, file, replace(opts, source=opts.source or path.name))


def _load_content(content: bytes | str, ext: str, file: str | None, opts: _Options) -> Trajectories:
    if ext in (".parquet", ".pq"):
        return _load_parquet(content, file, opts)
    if ext == ".npz":
        return _load_npz(content, file, opts)
    if ext not in ("", ".csv", ".txt"):
        raise DataError(f"unsupported file type {ext!r}; expected one of {', '.join(SUPPORTED_EXTENSIONS)}", file=file)
    if isinstance(content, str):
        return _load_csv_text(content, file, opts)
    return _load_csv_text(_decode(content, file), file, opts, raw=content)


def _one_line(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__


def _load_parquet(content: bytes | str, file: str | None, opts: _Options) -> Trajectories:
    import pandas as pd

    if isinstance(content, str):
        raise DataError("a Parquet file must be opened in binary mode ('rb'); got text", file=file)
    try:
        frame = pd.read_parquet(io.BytesIO(content))
    except ImportError:
        raise
    except Exception as exc:  # any reader failure means the file is not a readable Parquet file
        raise DataError(
            f"cannot read the Parquet file ({_one_line(exc)}); expected a valid Parquet file", file=file
        ) from None
    return _load_frame(frame, file, opts)


def _load_npz(content: bytes | str, file: str | None, opts: _Options) -> Trajectories:
    if isinstance(content, str):
        raise DataError("an NPZ file must be opened in binary mode ('rb'); got text", file=file)
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as exc:  # any reader failure means the file is not a readable NPZ archive
        raise DataError(
            f"cannot read the NPZ file ({_one_line(exc)}); expected an archive written by numpy.savez "
            "without Python objects",
            file=file,
        ) from None
    if not arrays:
        raise DataError("the NPZ archive holds no arrays; expected arrays t and x, or one array per column", file=file)
    x = arrays.get("x")
    if x is None or x.ndim < 2:  # one 1-D array per column
        columns = {k: v for k, v in arrays.items() if k != "variables"}
        return _load_columns(list(columns), list(columns.values()), file, opts, header_row=None)
    time_key = _find_time(list(arrays), opts.time_column, file, None)
    t = arrays[list(arrays)[time_key]]
    names = opts.variables
    if "variables" in arrays:
        listed = np.atleast_1d(arrays["variables"]).tolist()
        stored = tuple((v.decode() if isinstance(v, bytes) else str(v)).strip() for v in listed)
        names = names or stored
    if x.ndim == 2:
        pairs: list[tuple[Any, Any]] = [(t, x)]
    elif x.ndim == 3:
        if t.ndim == 1:
            pairs = [(t, xm) for xm in x]
        elif t.shape == x.shape[:2]:
            pairs = list(zip(t, x))
        else:
            raise DataError(
                f"NPZ array t has shape {t.shape}; expected ({x.shape[1]},) or {x.shape[:2]} to match x {x.shape}",
                file=file,
                column="t",
            )
    else:
        raise DataError(f"NPZ array x has shape {x.shape}; expected (N, D) or (M, N, D)", file=file, column="x")
    return _load_pairs(pairs, file, replace(opts, variables=names), force_list=True)


# ---------------------------------------------------------------------------------------------- names


@lru_cache(maxsize=256)
def _sympy_reads_as_symbol(name: str) -> bool:
    import sympy

    try:
        value = sympy.sympify(name)
    except (sympy.SympifyError, SyntaxError, TypeError, ValueError, AttributeError):
        return False
    return isinstance(value, sympy.Symbol) and value.name == name


def _suggest(name: str) -> str:
    cleaned = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_") or "x"
    if cleaned[0].isdigit():
        cleaned = "x" + cleaned
    if keyword.iskeyword(cleaned) or _is_reserved(cleaned):
        cleaned += "_"
    return cleaned


def _is_reserved(name: str) -> bool:
    from grammar.operators import function_names

    return name in RESERVED_NAMES or name in function_names() or not _sympy_reads_as_symbol(name)


def _check_variable_name(name: str, *, file: str | None, row: int | None) -> None:
    if name.isascii() and name.isidentifier() and not keyword.iskeyword(name) and not _is_reserved(name):
        return
    fix = f"rename it, e.g. to {_suggest(name)!r}"
    if not (name.isascii() and name.isidentifier()):
        reason = "expected ASCII letters, digits and underscores, not starting with a digit"
        raise DataError(f"{name!r} is not a valid variable name: {reason}; {fix}", file=file, row=row, column=name)
    if keyword.iskeyword(name):
        raise DataError(
            f"{name!r} is a Python keyword and cannot name a variable; {fix}", file=file, row=row, column=name
        )
    if _is_reserved(name):
        raise DataError(
            f"{name!r} is reserved: formulas read it as time, a function or a constant, not a variable; {fix}",
            file=file,
            row=row,
            column=name,
        )


def _check_header(names: Sequence[str], file: str | None, row: int | None) -> None:
    seen: dict[str, int] = {}
    for k, name in enumerate(names):
        if not name:
            raise DataError(
                f"column {k + 1} has an empty name; expected a name in every header field "
                "(a trailing comma adds an unnamed column)",
                file=file,
                row=row,
            )
        if name in seen:
            raise DataError(
                f"column name {name!r} appears twice (columns {seen[name] + 1} and {k + 1}); expected unique names",
                file=file,
                row=row,
                column=name,
            )
        seen[name] = k


def _find_time(names: Sequence[str], time_column: str | None, file: str | None, row: int | None) -> int:
    found = ", ".join(repr(n) for n in names)
    if time_column is not None:
        idx = _find_named(names, time_column)
        if idx is None:
            raise DataError(f"time column {time_column!r} not found; columns found: {found}", file=file, row=row)
        return idx
    hits = [k for k, n in enumerate(names) if n.lower() in TIME_NAMES]
    if len(hits) > 1:
        both = " and ".join(repr(names[k]) for k in hits)
        raise DataError(
            f"found {both}; expected a single time column; pass time_column=... to choose", file=file, row=row
        )
    if not hits:
        if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
            message = (f"expected comma-separated columns, found the single column {found}: the file looks "
                       "semicolon- or tab-separated; save it as comma-separated CSV")
        elif names and all(_is_number(n) for n in names):
            message = (f"expected a header row naming the columns, found numbers {found}: add a header row "
                       "such as 't,x,y' as the first line")
        else:
            message = (f"no time column: expected a column named 't' or 'time' (any case), found columns {found}; "
                       "rename the time column or pass time_column=...")
        raise DataError(message, file=file, row=row)
    return hits[0]


def _find_named(names: Sequence[str], wanted: str) -> int | None:
    wanted = wanted.strip()
    if wanted in names:
        return list(names).index(wanted)
    folded = [k for k, n in enumerate(names) if n.lower() == wanted.lower()]
    return folded[0] if len(folded) == 1 else None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class _Layout:
    """Positions of the time, state and trajectory columns of a table."""

    names: tuple[str, ...]
    time: int
    states: tuple[int, ...]
    trajectory: int | None

    @property
    def used(self) -> tuple[int, ...]:
        return (self.time, *self.states) + (() if self.trajectory is None else (self.trajectory,))

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.names[k] for k in self.states)


def _layout(names: Sequence[str], file: str | None, row: int | None, opts: _Options) -> _Layout:
    names = tuple(names)
    _check_header(names, file, row)
    time = _find_time(names, opts.time_column, file, row)
    traj = None
    if opts.trajectory_column is not None:
        traj = _find_named(names, opts.trajectory_column)
        if traj is None and opts.trajectory_column != "trajectory":
            found = ", ".join(repr(n) for n in names)
            raise DataError(f"trajectory column {opts.trajectory_column!r} not found; columns found: {found}",
                            file=file, row=row)
        if traj == time:
            raise DataError(f"column {names[time]!r} cannot be both the time and the trajectory column",
                            file=file, row=row)
    if opts.variables is None:
        states = tuple(k for k in range(len(names)) if k not in (time, traj))
    else:
        states_list = []
        for v in opts.variables:
            if v not in names or names.index(v) in (time, traj):
                others = ", ".join(repr(n) for k, n in enumerate(names) if k not in (time, traj))
                raise DataError(f"variable {v!r} not found among the state columns {others or '(none)'}",
                                file=file, row=row)
            states_list.append(names.index(v))
        states = tuple(states_list)
    extra = " and the trajectory column" if traj is not None else ""
    if not states:
        raise DataError(
            f"no state-variable columns; expected at least one numeric column besides time {names[time]!r}{extra}",
            file=file,
            row=row,
        )
    if len(states) > MAX_STATE_VARS:
        shown = ", ".join(names[k] for k in states)
        raise DataError(
            f"{len(states)} state variables found ({shown}); at most {MAX_STATE_VARS} are supported; "
            "pass variables=[...] to load some of them",
            file=file,
            row=row,
        )
    for k in states:
        _check_variable_name(names[k], file=file, row=row)
    return _Layout(names, time, states, traj)


# ------------------------------------------------------------------------------------------------- CSV


def _decode(raw: bytes, file: str | None) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError("file is UTF-16 text; expected UTF-8: re-save it as UTF-8 (in Excel: 'CSV UTF-8')", file=file)
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        line = raw.count(b"\n", 0, offset) + 1
        raise DataError(
            f"file is not UTF-8 text: byte 0x{raw[offset]:02X} at offset {offset} cannot be decoded; "
            "expected UTF-8: re-save the file with UTF-8 encoding",
            file=file,
            row=line,
        ) from None
    return text


def _blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


def _load_csv_text(text: str, file: str | None, opts: _Options, raw: bytes | None = None) -> Trajectories:
    """Validate and load CSV ``text``; ``raw`` (its undecoded bytes, when known) feeds the fast parser."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if raw is not None and raw.count(b"\r") != raw.count(b"\r\n"):  # lone CR line ends: parse the text
            raw = None
    if not text.strip():
        raise DataError("file is empty; expected a header row such as 't,x,y' followed by data rows", file=file)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next((rec for rec in reader if not _blank(rec)), None)
    except csv.Error as exc:
        raise DataError(f"cannot parse the CSV header ({exc}); expected comma-separated names", file=file,
                        row=reader.line_num) from None
    if header is None:
        raise DataError("no header row found; expected a header row such as 't,x,y' followed by data rows", file=file)
    header_line = reader.line_num
    layout = _layout([name.strip() for name in header], file, header_line, opts)
    body = text[_after_lines(text, "\n", header_line):]
    fast_input: Any = io.StringIO(body) if raw is None else io.BytesIO(raw[_after_lines(raw, b"\n", header_line):])

    values = _csv_fast(fast_input, layout)
    if values is not None:
        lines: list[int] | None = None

        def row_of(i: int) -> int:
            nonlocal lines
            if lines is None:
                lines = [line for line, _ in _csv_records(body, header_line, None)]
            return lines[i]
    else:
        values, line_list = _csv_scan(body, layout, header_line, file)
        row_of = line_list.__getitem__
    if values.shape[0] == 0:
        raise DataError(f"the header has no data rows below it; expected at least {opts.min_points} rows", file=file)
    return _from_table(values, layout, row_of, file, opts)


def _after_lines(text: Any, newline: Any, n: int) -> int:
    """Offset just past the ``n``-th newline of ``text`` (``str`` or ``bytes``), or its length."""
    start = 0
    for _ in range(n):
        found = text.find(newline, start)
        if found < 0:
            return len(text)
        start = found + 1
    return start


def _csv_fast(source: Any, layout: _Layout) -> np.ndarray | None:
    """Values of the used columns ``(R, U)`` via pandas' C parser, or ``None`` when anything looks wrong."""
    import pandas as pd

    ncols = len(layout.names)
    used = layout.used
    try:
        frame = pd.read_csv(
            source,
            header=None,
            names=list(range(ncols)),
            dtype={k: (np.float64 if k in used else object) for k in range(ncols)},
            engine="c",
            skip_blank_lines=True,
            encoding="utf-8",
        )
    except Exception:  # any parser complaint: the line-by-line scan finds and reports the exact cell
        return None
    if frame.shape[1] != ncols:
        return None
    unused = [k for k in range(ncols) if k not in used]
    if unused and frame[unused].isna().to_numpy().any():  # a short row or an empty unused cell: let the scan decide
        return None
    values = frame[list(used)].to_numpy(dtype=np.float64)  # (R, U)
    if _first_bad(values, layout.trajectory is not None) is not None:
        return None
    return values


def _first_bad(values: np.ndarray, integer_last: bool) -> tuple[int, int] | None:
    """Row-major position of the first non-finite cell of ``values (R, U)`` (or non-integer id in the last column)."""
    ok = np.isfinite(values)  # (R, U)
    if integer_last and values.shape[0]:
        ids = values[:, -1]
        ok[:, -1] &= np.equal(ids, np.round(np.where(ok[:, -1], ids, 0.0)))
    if ok.all():
        return None
    row, col = np.argwhere(~ok)[0]
    return int(row), int(col)


def _csv_records(body: str, header_line: int, file: str | None) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(body))
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"cannot parse this CSV line ({exc}); expected comma-separated values",
                            file=file, row=header_line + reader.line_num) from None
        if not _blank(record):
            yield header_line + reader.line_num, record


def _csv_scan(body: str, layout: _Layout, header_line: int, file: str | None) -> tuple[np.ndarray, list[int]]:
    """Scan the body line by line; raise at the first bad row or cell, else return values ``(R, U)`` and lines."""
    ncols, used, names = len(layout.names), layout.used, layout.names
    pick = operator.itemgetter(*used)  # used has at least two columns: time and one state
    cells: list[tuple[str, ...]] = []
    lines: list[int] = []
    for line, record in _csv_records(body, header_line, file):
        if len(record) != ncols:
            _convert_cells(cells, lines, layout, file)  # a bad cell in an earlier row is reported first
            raise DataError(
                f"expected {ncols} comma-separated fields ({', '.join(names)}), found {len(record)}; "
                "every row needs one value per header column",
                file=file,
                row=line,
            )
        cells.append(pick(record))
        lines.append(line)
    return _convert_cells(cells, lines, layout, file), lines


def _convert_cells(cells: list[tuple[str, ...]], lines: list[int], layout: _Layout, file: str | None,
                   block: int = 8192) -> np.ndarray:
    """Text cells ``(R, U)`` as floats; raise a DataError at the first bad cell in row-major order."""
    used, names = layout.used, layout.names
    parts = []
    for a in range(0, len(cells), block):
        chunk = cells[a : a + block]
        try:
            values = np.array(chunk, dtype=np.float64)  # (B, U); float() semantics per cell
        except ValueError:
            values = None
        if values is None or _first_bad(values, layout.trajectory is not None) is not None:
            for i, row in enumerate(chunk):  # the slow way, only within the failing block
                for pos, text in enumerate(row):
                    _cell(text, names[used[pos]], used[pos] == layout.trajectory, file, lines[a + i])
            values = np.array([[float(c) for c in row] for row in chunk], dtype=np.float64)
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty((0, len(used)))


def _cell(text: Any, column: str, integer: bool, file: str | None, row: int) -> float:
    """One cell as a float; raise the DataError that says what is wrong with it."""
    if text is None:
        text = ""
    if isinstance(text, str):
        stripped = text.strip()
        if not stripped:
            raise DataError("empty cell; expected a number (fill it in or delete the row)", file=file, row=row,
                            column=column)
        shown = stripped if len(stripped) <= 40 else stripped[:37] + "..."
    else:
        stripped, shown = text, str(text)
    try:
        value = float(stripped)
    except (TypeError, ValueError):
        value = None
    if integer and (value is None or not math.isfinite(value) or value != round(value)):
        raise DataError(f"trajectory id {shown!r} is not an integer; expected integer ids such as 0, 1, 2",
                        file=file, row=row, column=column)
    if value is None:
        raise DataError(f"non-numeric value {shown!r}; expected a number such as 1.5 or -2e-3",
                        file=file, row=row, column=column)
    if not math.isfinite(value):
        raise DataError(f"value {shown!r} is not finite; expected a finite number (no NaN or infinity)",
                        file=file, row=row, column=column)
    return value


# ----------------------------------------------------------------------------------- in-memory tables


def _load_frame(frame: Any, file: str | None, opts: _Options) -> Trajectories:
    names = [str(c).strip() for c in frame.columns]
    if frame.index.name is not None:  # time kept as the index (df.set_index("t")): use it as the time column
        index_name, wanted = str(frame.index.name).strip(), opts.time_column
        if wanted is None:
            is_time = index_name.lower() in TIME_NAMES and not any(n.lower() in TIME_NAMES for n in names)
        else:
            is_time = index_name == wanted.strip() and wanted.strip() not in names
        if is_time:
            frame = frame.reset_index()
            names = [str(c).strip() for c in frame.columns]
    return _load_columns(names, [frame.iloc[:, k].to_numpy() for k in range(frame.shape[1])], file, opts,
                         header_row=None)


def _load_columns(names: list[str], columns: list[Any], file: str | None, opts: _Options,
                  header_row: int | None) -> Trajectories:
    names = [n.strip() for n in names]
    layout = _layout(names, file, header_row, opts)
    arrays = [np.asarray(c) for c in columns]
    n_rows = None
    for k in layout.used:
        a = arrays[k]
        if a.dtype.kind in "mMc":
            kind = {"m": "durations", "M": "dates", "c": "complex numbers"}[a.dtype.kind]
            raise DataError(f"non-numeric values ({kind}, dtype {a.dtype}); expected real numbers, e.g. seconds",
                            file=file, row=0, column=names[k])
        if a.ndim != 1:
            raise DataError(f"column {names[k]!r} has shape {a.shape}; expected a 1-D array of values "
                            "(pass (t, x) for a 2-D state array)", file=file, column=names[k])
        if n_rows is None:
            n_rows, first = a.shape[0], names[k]
        elif a.shape[0] != n_rows:
            raise DataError(f"column {names[k]!r} has {a.shape[0]} values; expected {n_rows} like {first!r}",
                            file=file, column=names[k])
    if not n_rows:
        raise DataError(f"the table has no rows; expected at least {opts.min_points}", file=file)
    converted = []  # first bad cell in row-major order wins
    bad: list[tuple[int, int]] = []
    for pos, k in enumerate(layout.used):
        col, first_bad = _numeric_column(arrays[k], k == layout.trajectory)
        converted.append(col)
        if first_bad is not None:
            bad.append((first_bad, pos))
    if bad:
        row, pos = min(bad)
        k = layout.used[pos]
        _cell(arrays[k][row], names[k], k == layout.trajectory, file, row)  # raises with the precise reason
        raise DataError("invalid value; expected a finite number", file=file, row=row, column=names[k])
    values = np.stack(converted, axis=1)  # (R, U)
    return _from_table(values, layout, lambda i: i, file, opts)


def _numeric_column(a: np.ndarray, integer: bool) -> tuple[np.ndarray, int | None]:
    """``a`` as float64 and the index of its first bad cell (non-numeric, empty, non-finite), if any."""
    if a.dtype.kind in "iub":
        return a.astype(np.float64), None
    if a.dtype.kind == "f":
        col = a.astype(np.float64)
    else:  # strings or objects: the same conversion as a CSV cell
        col = np.array([_try_float(v) for v in a.tolist()], dtype=np.float64)
    ok = np.isfinite(col)
    if integer:
        ok &= np.equal(col, np.round(np.where(ok, col, 0.0)))
    if not ok.all():
        return col, int(np.argmin(ok))
    return col, None


def _try_float(v: Any) -> float:
    try:
        return float(v.strip() if isinstance(v, str) else v)
    except (TypeError, ValueError):
        return math.nan


# ------------------------------------------------------------------------------------------------ arrays


def _load_pairs(data: Sequence[Any], file: str | None, opts: _Options, force_list: bool = False) -> Trajectories:
    def is_pair(item: Any) -> bool:
        return isinstance(item, (tuple, list)) and len(item) == 2 and np.ndim(item[0]) >= 1

    if not force_list and not (len(data) > 0 and all(is_pair(item) for item in data)):
        if len(data) != 2:
            raise DataError(
                f"a sequence of {len(data)} items is not a pair (t, x); expected (t, x) with t (N,) and x (N, D), "
                "or a list of such pairs",
                file=file,
            )
        data = [tuple(data)]
    parsed = []
    for m, (t_raw, x_raw) in enumerate(data):
        where = f" of trajectory {m}" if len(data) > 1 else ""
        try:
            t = np.asarray(t_raw, dtype=np.float64)
            x = np.asarray(x_raw, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"arrays t and x{where} must be numeric; conversion failed ({exc})", file=file) from None
        if x.ndim == 1:
            x = x[:, None]
        if t.ndim != 1 or x.ndim != 2 or x.shape[0] != t.shape[0]:
            raise DataError(f"t{where} has shape {t.shape} and x has shape {x.shape}; expected t (N,) and x (N, D)",
                            file=file)
        parsed.append((t, x))
    d = parsed[0][1].shape[1]
    for m, (_, x) in enumerate(parsed):
        if x.shape[1] != d:
            raise DataError(f"trajectory {m} has {x.shape[1]} state columns; expected {d} like trajectory 0", file=file)
    names = opts.variables or tuple(f"x{k}" for k in range(d))
    if len(names) != d:
        raise DataError(f"{len(names)} variable names given ({', '.join(names)}) for {d} state columns; expected {d}",
                        file=file)
    if d > MAX_STATE_VARS:
        raise DataError(f"{d} state variables found; at most {MAX_STATE_VARS} are supported", file=file)
    for name in names:
        _check_variable_name(name, file=file, row=None)
    pieces = []
    for m, (t, x) in enumerate(parsed):
        bad = ~np.isfinite(np.column_stack([t, x]))  # (N, 1 + D)
        if bad.any():
            row, col = (int(v) for v in np.argwhere(bad)[0])
            where = f" in trajectory {m}" if len(parsed) > 1 else ""
            value = t[row] if col == 0 else x[row, col - 1]
            raise DataError(f"value {value} is not finite{where}; expected finite numbers (no NaN or infinity)",
                            file=file, row=row, column="t" if col == 0 else names[col - 1])
        pieces.append((t, x, (lambda i: i), f"trajectory {m}" if len(parsed) > 1 else None))
    return _assemble(names, pieces, "t", None, file, opts)


# -------------------------------------------------------------------------------------------- assembling


def _from_table(values: np.ndarray, layout: _Layout, row_of: RowFn, file: str | None, opts: _Options) -> Trajectories:
    """Split validated table values ``(R, U)`` (time, states, [trajectory]) into trajectories."""
    d = len(layout.states)
    t, x = values[:, 0], values[:, 1 : 1 + d]  # (R,), (R, D)
    if layout.trajectory is None:
        pieces = [(t, x, row_of, None)]
    else:
        ids = values[:, -1].astype(np.int64)  # (R,)
        order = np.argsort(ids, kind="stable")
        uniq, starts = np.unique(ids[order], return_index=True)
        bounds = list(starts[1:]) + [len(order)]
        pieces = []
        for uid, a, b in zip(uniq, starts, bounds):
            idx = order[a:b]
            pieces.append((t[idx], x[idx], (lambda i, idx=idx: row_of(int(idx[i]))), f"trajectory {uid}"))
    traj_name = None if layout.trajectory is None else layout.names[layout.trajectory]
    return _assemble(layout.variables, pieces, layout.names[layout.time], traj_name, file, opts)


def _assemble(
    variables: Sequence[str],
    pieces: list[tuple[np.ndarray, np.ndarray, RowFn, str | None]],
    time_name: str,
    traj_name: str | None,
    file: str | None,
    opts: _Options,
) -> Trajectories:
    """Check time order and length of each piece ``(t, x, row_of, label)``, then build :class:`Trajectories`."""
    several = len(pieces) > 1 or traj_name is not None
    trajectories = []
    for t, x, row_of, label in pieces:
        steps = np.diff(t)
        if (steps <= 0).any():
            k = int(np.argmax(steps <= 0)) + 1
            where = f" in {label}" if label and several else ""
            if t[k] == t[k - 1]:
                message = (f"time {t[k]:.10g} appears twice{where}; expected strictly increasing times "
                           "(remove the duplicate row)")
            else:
                hint = "" if traj_name else ", or add an integer 'trajectory' column if the file holds several"
                message = (f"time goes back from {t[k - 1]:.10g} to {t[k]:.10g}{where}; expected strictly "
                           f"increasing times (sort the rows by time{hint})")
            raise DataError(message, file=file, row=row_of(k), column=time_name)
        if t.shape[0] < opts.min_points:
            if label and several:
                raise DataError(f"{label} has only {t.shape[0]} points; expected at least {opts.min_points} "
                                "per trajectory (min_points)", file=file, row=row_of(0), column=traj_name)
            raise DataError(f"only {t.shape[0]} data rows; expected at least {opts.min_points} points (min_points)",
                            file=file)
        trajectories.append(Trajectory(t, x))
    return Trajectories(tuple(variables), trajectories, opts.source)
