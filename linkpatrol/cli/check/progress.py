"""Progress of a check on stderr: a bar (tqdm) on a terminal, a plain line every few seconds in a CI
log, or nothing (``--progress auto|bar|plain|none``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import IO, Any, Protocol

from linkpatrol import durations

PROGRESS_MODES = ("auto", "bar", "plain", "none")
PLAIN_EVERY = 5.0  # seconds between two plain lines


@dataclass(frozen=True)
class Snapshot:
    pages: int  # parsed
    checked: int  # links checked
    found: int  # links found so far (checked or waiting)
    problems: int  # results the run fails on so far
    elapsed: float  # seconds since the check started


class Progress(Protocol):
    def note(self, message: str) -> None:
        """What is going on (shown unless --progress none)."""

    def warn(self, message: str) -> None:
        """Something went wrong that the run survives (always shown)."""

    def update(self, snap: Snapshot) -> None: ...
    def close(self) -> None: ...


def make_progress(mode: str, stream: IO[str]) -> Progress:
    if mode == "auto":
        mode = "bar" if stream.isatty() else "plain"
    if mode == "bar":
        return BarProgress(stream)
    if mode == "plain":
        return PlainProgress(stream)
    return NoProgress(stream)


class NoProgress:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def note(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        print(f"linkpatrol: {message}", file=self.stream, flush=True)

    def update(self, snap: Snapshot) -> None:
        pass

    def close(self) -> None:
        pass


class PlainProgress:
    """One line every ``PLAIN_EVERY`` seconds, and one at the end: what a CI log can keep."""

    def __init__(self, stream: IO[str], every: float = PLAIN_EVERY) -> None:
        self.stream, self.every = stream, every
        self.last_line = time.monotonic()  # the first line after ``every`` seconds: a quick check prints one
        self.last: Snapshot | None = None

    def note(self, message: str) -> None:
        print(f"linkpatrol: {message}", file=self.stream, flush=True)

    warn = note

    def update(self, snap: Snapshot) -> None:
        self.last = snap
        now = time.monotonic()
        if now - self.last_line >= self.every:
            self.last_line = now
            self._line(snap)

    def _line(self, snap: Snapshot) -> None:
        rate = snap.checked / snap.elapsed if snap.elapsed > 0 else 0.0
        self.note(f"{durations.describe(snap.elapsed)}: {snap.pages:,} pages, {snap.checked:,}/{snap.found:,} links "
                  f"checked, {snap.problems:,} problems, {rate:.0f} links/s")

    def close(self) -> None:
        if self.last is not None and time.monotonic() - self.last_line > 0.5:
            self._line(self.last)
        self.last = None


class BarProgress:
    """A tqdm bar of links checked out of links found, with pages and problems beside it."""

    def __init__(self, stream: IO[str]) -> None:
        from tqdm import tqdm  # only a terminal needs it

        self.stream = stream
        self.bar: Any = tqdm(total=0, file=stream, unit=" links", dynamic_ncols=True, leave=True,
                             bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}, {rate_fmt}{postfix}]",
                             desc="checking")

    def note(self, message: str) -> None:
        self.bar.write(f"linkpatrol: {message}", file=self.stream)

    warn = note

    def update(self, snap: Snapshot) -> None:
        self.bar.total = max(snap.found, snap.checked)
        self.bar.set_postfix_str(f"{snap.pages:,} pages, {snap.problems:,} problems", refresh=False)
        if snap.checked != self.bar.n:
            self.bar.update(snap.checked - self.bar.n)
        else:
            self.bar.refresh()

    def close(self) -> None:
        self.bar.close()  # a second call does nothing
