"""A discovery run in a background thread: progress, a cancel flag, and its outcome.

The page polls a :class:`DiscoveryJob` (it never blocks on it), so it stays responsive while the run works.
Stopping sets a flag that the progress callback checks: the next progress report raises :class:`RunCancelled`,
which unwinds the run. This module does not import streamlit.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from discovery.errors import one_line  # re-exported for the views

if TYPE_CHECKING:  # pragma: no cover
    from discovery.methods.base import ProgressFn

__all__ = ["DiscoveryJob", "ProgressEvent", "RunCancelled", "one_line"]


class RunCancelled(BaseException):
    """Raised inside a run's progress callback once the user pressed Stop.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that a method's ``except Exception`` cannot swallow it.
    """


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report: the message, the overall fraction in [0, 1], and seconds since the start."""

    message: str
    fraction: float
    elapsed_s: float

    @property
    def method(self) -> str:
        """The method a message like ``"sindy: fitting"`` is about, or ``""``."""
        head, sep, _ = self.message.partition(":")
        return head.strip() if sep and " " not in head.strip() else ""


@dataclass
class DiscoveryJob:
    """Run ``work(progress)`` in a daemon thread and record its progress and outcome.

    Parameters
    ----------
    work:
        Callable taking a progress callback ``progress(message, fraction)`` and returning the result.
    key:
        What the run is for (data hash and settings); the page uses it to tell a stale job from the current one.

    Examples
    --------
    >>> job = DiscoveryJob(lambda progress: (progress("sindy: fitting", 0.5), 42)[1], key="k").start()
    >>> job.wait(5.0)
    True
    >>> job.state, job.result
    ('done', 42)
    """

    work: Callable[[ProgressFn], Any]
    key: str = ""
    events: list[ProgressEvent] = field(default_factory=list)
    result: Any = None
    error: str | None = None
    error_type: str | None = None
    details: str | None = None
    started_at: float = 0.0
    finished_at: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- control -------------------------------------------------------------------------------------------
    def start(self) -> "DiscoveryJob":
        """Start the thread (once); returns ``self``."""
        if self._thread is not None:
            return self
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"eqdisco-run-{self.key[:8]}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the run to stop at its next progress report."""
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends or ``timeout`` seconds pass; whether it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished

    # --- what the page reads -----------------------------------------------------------------------------------
    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def state(self) -> str:
        """``"idle"``, ``"running"``, ``"stopping"``, ``"done"``, ``"failed"`` or ``"cancelled"``."""
        if self._thread is None:
            return "idle"
        if not self.finished:
            return "stopping" if self._cancel.is_set() else "running"
        if self.error_type == "cancelled":
            return "cancelled"
        return "failed" if self.error is not None else "done"

    @property
    def elapsed_s(self) -> float:
        if not self.started_at:
            return 0.0
        end = self.finished_at if self.finished_at is not None else time.monotonic()
        return end - self.started_at

    def latest(self) -> ProgressEvent | None:
        with self._lock:
            return self.events[-1] if self.events else None

    def per_method(self) -> dict[str, ProgressEvent]:
        """The latest event of each method named in the messages, in the order the methods started."""
        out: dict[str, ProgressEvent] = {}
        with self._lock:
            for ev in self.events:
                if ev.method:
                    out[ev.method] = ev
        return out

    # --- the thread ------------------------------------------------------------------------------------------
    def progress(self, message: str, fraction: float) -> None:
        """The callback handed to the work: records the event, raises :class:`RunCancelled` once stopped."""
        if self._cancel.is_set():
            raise RunCancelled("stopped by the user")
        ev = ProgressEvent(str(message), float(min(max(fraction, 0.0), 1.0)), time.monotonic() - self.started_at)
        with self._lock:
            self.events.append(ev)

    def _run(self) -> None:
        try:
            self.result = self.work(self.progress)
        except RunCancelled:
            self.error, self.error_type = "stopped by the user", "cancelled"
        except BaseException as exc:  # noqa: BLE001 -- any failure becomes one line on the page
            self.error, self.error_type = one_line(exc), type(exc).__name__
            self.details = traceback.format_exc(limit=20)
        finally:
            self.finished_at = time.monotonic()
