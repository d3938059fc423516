"""The progress bar every long command shows on a terminal (rich, on stderr).

A command names its steps as it goes (``step("reading cohort.csv")``).  On a terminal
(stderr a TTY, no ``--quiet``) the steps drive a live bar on stderr: a spinner that keeps
turning through a long step (measuring millions of offenders, matching, simulating,
drawing a report), the current step, the steps done and the time since the command
started; each finished step stays above the bar as a line with its time.  Anywhere else
(a pipe, a file, a CI log) the same steps are plain timestamped lines, and ``--quiet``
silences both.  Stdout is never touched: reports stay byte-identical.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["StepBar"]


class StepBar:
    """Steps shown as a live rich progress bar on ``console`` (stderr by default).

    Parameters
    ----------
    total
        The number of steps when known (a bar that fills); None: a pulsing bar.
    console
        A :class:`rich.console.Console`; default one on stderr.

    Examples
    --------
    >>> import io
    >>> from rich.console import Console
    >>> out = io.StringIO()
    >>> bar = StepBar(console=Console(file=out, force_terminal=True, width=60))
    >>> bar("reading"); bar("measuring"); bar.stop()
    >>> "measuring" in out.getvalue(), bar.steps
    (True, 2)
    """

    def __init__(self, total: int | None = None, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console if console is not None else Console(stderr=True)
        self.total = total
        self.steps = 0
        self.start = time.perf_counter()
        self._last = self.start
        self._message = ""
        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"),
                              BarColumn()]
        if total is not None:
            columns.append(MofNCompleteColumn())
        columns.append(TimeElapsedColumn())
        # stdout is left alone (no redirection): the command's report goes to stdout
        self._bar = Progress(*columns, console=self.console, transient=True,
                             redirect_stdout=False, redirect_stderr=False)
        self._task: Any = None

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task(message, total=self.total)
        else:
            self._done(now)
            self._bar.advance(self._task)
            self._bar.update(self._task, description=message)
        self.steps += 1
        self._message = message
        self._last = now

    def _done(self, now: float) -> None:
        self._bar.console.print(f"[dim]{now - self.start:6.1f}s[/dim] {self._message} "
                                f"[dim]({now - self._last:.1f}s)[/dim]", highlight=False)

    def stop(self) -> None:
        """End the bar (idempotent); the last step stays as a line."""
        if self._task is None:
            return
        self._done(time.perf_counter())
        self._bar.stop()
        self._task = None
