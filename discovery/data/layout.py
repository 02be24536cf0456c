"""The roles of a table's columns (time, states, trajectory id), read from its header and the load options."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from discovery.data.names import MAX_STATE_VARS, TIME_NAMES, check_variable_names
from discovery.data.options import LoadOptions
from discovery.errors import DataError, listed


@dataclass(frozen=True)
class Layout:
    """Positions of the time, state, input, parameter and trajectory columns of a table."""

    names: tuple[str, ...]
    time: int
    states: tuple[int, ...]
    trajectory: int | None
    inputs: tuple[int, ...] = ()
    parameters: tuple[int, ...] = ()

    @property
    def used(self) -> tuple[int, ...]:
        """The columns loaded, in value order: time, the states, the inputs, the parameters, then the trajectory
        id if any."""
        return ((self.time, *self.states, *self.inputs, *self.parameters)
                + (() if self.trajectory is None else (self.trajectory,)))

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.names[k] for k in self.states)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.names[k] for k in self.inputs)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.names[k] for k in self.parameters)


def table_layout(names: Sequence[str], file: str | None, row: int | None, opts: LoadOptions) -> Layout:
    """Check the header ``names`` and find each column's role; ``row`` is the header's row for messages."""
    names = tuple(names)
    _check_header(names, file, row)
    time = find_time(names, opts.time_column, file, row)
    traj = None
    if opts.trajectory_column is not None:
        traj = _find_named(names, opts.trajectory_column)
        if traj is None and opts.trajectory_column != "trajectory":
            raise DataError(
                f"trajectory column {opts.trajectory_column!r} not found; columns found: {_listed(names)}",
                file=file,
                row=row,
            )
        if traj == time:
            raise DataError(f"column {names[time]!r} cannot be both the time and the trajectory column",
                            file=file, row=row)
    roles = {}
    for label, wanted in (("input", opts.inputs), ("parameter", opts.parameters)):
        for v in wanted:
            k = _find_named(names, v)
            if k is None or k in (time, traj):
                others = ", ".join(repr(n) for j, n in enumerate(names) if j not in (time, traj))
                raise DataError(f"{label} {v!r} not found among the columns {others or '(none)'}; check the name "
                                f"given in {label}s", file=file, row=row)
            if k in roles:
                raise DataError(f"column {names[k]!r} is declared both an input and a parameter; declare it once",
                                file=file, row=row, column=names[k])
            roles[k] = label
    inputs = tuple(k for k, role in roles.items() if role == "input")
    parameters = tuple(k for k, role in roles.items() if role == "parameter")
    taken = (time, traj, *roles)
    if opts.variables is None:
        states = tuple(k for k in range(len(names)) if k not in taken)
    else:
        states_list = []
        for v in opts.variables:
            if v not in names or names.index(v) in taken:
                others = listed(n for k, n in enumerate(names) if k not in taken)
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
        shown = listed((names[k] for k in states), quote=False)
        raise DataError(
            f"{len(states)} state variables found ({shown}); at most {MAX_STATE_VARS} are supported; "
            "pass variables=[...] to load some of them",
            file=file,
            row=row,
        )
    check_variable_names((names[k] for k in (*states, *inputs, *parameters)), file=file, row=row)
    return Layout(names, time, states, traj, inputs, parameters)


def find_time(names: Sequence[str], time_column: str | None, file: str | None, row: int | None) -> int:
    """Index of the time column: ``time_column`` if given, else the one column named ``t`` or ``time`` (any case;
    where several are, the one written in lower case)."""
    if time_column is not None:
        idx = _find_named(names, time_column)
        if idx is None:
            raise DataError(f"time column {time_column!r} not found; columns found: {_listed(names)}",
                            file=file, row=row)
        return idx
    hits = [k for k, n in enumerate(names) if n.lower() in TIME_NAMES]
    exact = [k for k in hits if names[k] in TIME_NAMES]
    if len(hits) > 1 and len(exact) == 1:
        hits = exact  # 't' beside a temperature 'T': the lower-case one is time, 'T' a state
    if len(hits) > 1:
        both = " and ".join(repr(names[k]) for k in hits)
        raise DataError(
            f"found {both}; expected a single time column; pass time_column=... to choose", file=file, row=row
        )
    if not hits:
        found = _listed(names)
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


def _find_named(names: Sequence[str], wanted: str) -> int | None:
    """Index of the column ``wanted``: an exact match, else the only case-insensitive one."""
    wanted = wanted.strip()
    if wanted in names:
        return list(names).index(wanted)
    folded = [k for k, n in enumerate(names) if n.lower() == wanted.lower()]
    return folded[0] if len(folded) == 1 else None


def _listed(names: Sequence[str]) -> str:
    return listed(names)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
