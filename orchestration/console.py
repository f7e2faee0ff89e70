"""What a command shows while it works: one line per stage, progress bars, and the run's log file.

``RunConsole`` is a context manager for one command. While it is open, everything the libraries
write (Dagster's log lines, dbt's per-node lines, Python warnings) goes to a log file in the
warehouse folder, ``logs/<command>-<time>.log``, without colour codes (the newest ``KEPT_LOGS``
files are kept); with ``verbose`` it is also printed live. The console itself gets only the
stage lines the steps report (``orchestration.progress``), a progress bar per task while it runs
(on a terminal only, not with ``verbose``), and what the command prints at the end. Errors go to
standard error and to the log file.

What does not belong here: what a command does (``orchestration/commands.py``) and what the
summary says (``orchestration/summary.py``).
"""
from __future__ import annotations

import datetime as dt
import io
import sys
from contextlib import ExitStack, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from orchestration.progress import Report, listening

KEPT_LOGS = 200  # the newest log files kept in the warehouse folder's logs/ (a command every minute: ~3 hours)


class _Tee(io.TextIOBase):
    """A text stream writing to the log file and, when verbose, to the console as well."""

    def __init__(self, log: TextIO, console: TextIO | None):
        self._log, self._console = log, console

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:  # libraries asking whether to colour their output: no
        return False

    def write(self, text: str) -> int:
        self._log.write(text)
        if self._console is not None:
            self._console.write(text)
        return len(text)

    def flush(self) -> None:
        self._log.flush()
        if self._console is not None:
            self._console.flush()


@dataclass
class _Task:
    bar: object  # the rich task id
    done: int = 0
    total: int | None = None


class RunConsole:
    """The console and log file of one command (see the module docstring)."""

    def __init__(self, warehouse: Path, command: str, *, verbose: bool = False):
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.log_path = warehouse / "logs" / f"{command}-{stamp}.log"
        self.verbose = verbose
        self._tasks: dict[str, _Task] = {}
        self._stack = ExitStack()

    def __enter__(self) -> RunConsole:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._out, self._err = sys.stdout, sys.stderr
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        for old in sorted(self.log_path.parent.glob("*.log"), key=lambda p: p.stat().st_mtime)[:-KEPT_LOGS]:
            old.unlink(missing_ok=True)
        self._log = self._stack.enter_context(self.log_path.open("a", encoding="utf-8", buffering=1))
        self.console = Console(file=self._out, highlight=False, soft_wrap=True, markup=False)
        tee = _Tee(self._log, self._out if self.verbose else None)
        self._stack.enter_context(redirect_stdout(tee))
        self._stack.enter_context(redirect_stderr(tee))
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=self.console,
                                  transient=True, redirect_stdout=False, redirect_stderr=False,
                                  disable=self.verbose or not self.console.is_terminal)
        self._progress.start()
        self._stack.callback(self._progress.stop)
        self._stack.enter_context(listening(self._on_report))
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def line(self, text: str) -> None:
        """A line for the console (above the bars) and the log file."""
        self._log.write(text + "\n")
        if self.verbose:
            self._out.write(text + "\n")
            self._out.flush()
        else:
            self._progress.console.print(text)
            self._out.flush()

    def error(self, text: str) -> None:
        """A line for standard error and the log file."""
        self._log.write(text + "\n")
        self._err.write(text + "\n")
        self._err.flush()

    def _on_report(self, report: Report) -> None:
        task = self._tasks.get(report.task)
        if task is None:
            if report.finished and not report.advance and report.note is None:
                return  # nothing was reported for it: nothing to say
            task = self._tasks[report.task] = _Task(self._progress.add_task(report.task, total=None, note=""))
        task.done += report.advance
        if report.total is not None:
            task.total = report.total
        total = max(task.total, task.done) if task.total is not None else None
        self._progress.update(task.bar, completed=task.done, total=total, note=report.note or "")
        if report.finished:
            self._progress.remove_task(task.bar)
            del self._tasks[report.task]
            self.line(f"{report.task}: {report.note or f'{task.done} done'}")
