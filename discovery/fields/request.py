"""What :func:`~discovery.fields.discover_field` is asked for, checked before any field is read, as one picklable
value (the batch runner sends it to its worker processes).

Examples
--------
>>> request = field_request("pinn", known=["u_t = h1(u, u_x) + 0.1*u_xx"], operators=("fno",),
...                         fno={"horizon": 0.5})
>>> request.method, request.operators
('pinn', ('fno',))
>>> field_request("sparse", known="h1(u) + u_xx")
Traceback (most recent call last):
...
discovery.errors.DiscoveryError: known= and pinn= are read by method 'pinn' only; use method='pinn' or 'auto'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from discovery.errors import DiscoveryError
from discovery.fields.api import METHODS, discover_field
from discovery.fields.result import FieldResult
from models.progress import ProgressFn


@dataclass(frozen=True)
class FieldRequest:
    """The options of one field discovery, as :func:`field_request` checked them (plain values, so it pickles).

    Attributes
    ----------
    method:
        ``"auto"``, ``"sparse"`` or ``"pinn"`` (:data:`discovery.fields.api.METHODS`).
    known:
        The partly known PDE as the user wrote it (see :mod:`discovery.fields.known`), or ``None``.
    operators:
        Neural operators that forecast the field: ``()`` or ``("fno",)``.
    fno, pinn:
        Options of the FNO forecast and of the ``pinn`` method as given (mappings of their fields), or ``None``.
    seed, device:
        Seed of the neural parts; torch device.
    """

    method: str = "auto"
    known: Any = None
    operators: tuple[str, ...] = ()
    fno: Mapping[str, Any] | None = None
    pinn: Mapping[str, Any] | None = None
    seed: int = 0
    device: str = "auto"

    def run(self, field: Any, progress: ProgressFn | None = None) -> FieldResult:
        """:func:`~discovery.fields.discover_field` on ``field`` (a path, a :class:`Field`, ...) with these options."""
        return discover_field(field, method=self.method, known=self.known, operators=self.operators or None,
                              fno=self.fno, pinn=self.pinn, seed=self.seed, device=self.device, progress=progress)


def _field_names(known: Any) -> tuple[str, ...]:
    """The fields a known PDE writes equations for (its left sides), or the fields its derivative names belong to
    when it is one formula without a left side."""
    from discovery.fields.known import _entries

    if isinstance(known, str) and "=" not in known:
        import re

        heads = dict.fromkeys(m.group(1) for m in re.finditer(r"\b([A-Za-z][A-Za-z0-9]*)_[xy]+\b", known))
        return tuple(heads) or ("u",)
    return tuple(dict.fromkeys(name for name, _ in _entries(known, ("u", "v"))))


def field_request(
    method: str = "auto",
    *,
    known: Any = None,
    operators: str | Sequence[str] | None = None,
    fno: Mapping[str, Any] | None = None,
    pinn: Mapping[str, Any] | None = None,
    seed: int = 0,
    device: str = "auto",
) -> FieldRequest:
    """Check a field discovery request without data (the rules of :func:`~discovery.fields.discover_field`: the
    method, the operators, the FNO and ``pinn`` options, and every formula of ``known`` against the fields it
    names and the axes ``x``, ``y``) and return it as a :class:`FieldRequest`.

    Raises
    ------
    DiscoveryError
        One line for the first problem found.
    """
    from discovery.fields.known import parse_field_known
    from discovery.fields.operator import check_operators, fno_options
    from discovery.fields.pinn import pinn_options
    from grammar.pde_zoo import AXES

    if method not in METHODS:
        raise DiscoveryError(f"unknown PDE method {str(method)[:60]!r}; valid: {', '.join(METHODS)}")
    ops = check_operators(operators)
    if fno is not None:
        fno_options(fno)
        if "fno" not in ops:
            raise DiscoveryError("fno options were given but no FNO forecast was asked for; add operators='fno'")
    if method == "sparse" and (known is not None or pinn is not None):
        raise DiscoveryError("known= and pinn= are read by method 'pinn' only; use method='pinn' or 'auto'")
    if method == "pinn" or known is not None or pinn is not None:
        opts = pinn_options(pinn, known)
        if not opts.known:
            raise DiscoveryError("method 'pinn' needs a partly known PDE, e.g. known='u_t = h1(u, u_x) + 0.1*u_xx'; "
                                 "none was given")
        parse_field_known(opts.known, _field_names(opts.known), AXES)  # each formula now; the data's fields later
    return FieldRequest(method=method, known=known, operators=ops, fno=None if fno is None else dict(fno),
                        pinn=None if pinn is None else dict(pinn), seed=seed, device=device)


__all__ = ["FieldRequest", "field_request"]
