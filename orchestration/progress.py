"""Progress of the work inside a run's steps, for whoever listens in this process.

A step reports what it has done (files and rows of a source loaded, dbt models and tests done of
their total, checks run) with ``report``; the command line's console listens (``listening``) and
draws progress bars and one line per finished stage. Runs started from the UI, the sensor or the
schedule have no listener: a report then costs a function call. No Dagster here, and nothing a run
depends on: a listener's failure is not the run's.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Report:
    """``task`` advanced by ``advance`` units (of ``total``, when known); ``note`` says what was done
    so far in words; ``finished``: the task is over (the console prints its line)."""

    task: str
    advance: int = 0
    total: int | None = None
    note: str | None = None
    finished: bool = False


Listener = Callable[[Report], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def report(task: str, *, advance: int = 0, total: int | None = None, note: str | None = None,
           finished: bool = False) -> None:
    """Tell the listeners (none outside the command line) how ``task`` is going."""
    if not _listeners:
        return
    event = Report(task, advance, total, note, finished)
    with _lock:
        for listener in list(_listeners):
            try:
                listener(event)
            except Exception:  # a broken display must not fail the run
                pass


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """``listener`` receives every report made in this process while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
