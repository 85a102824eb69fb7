"""Progress of a long batch: a bar redrawn in place on a terminal, one line per step elsewhere
(a log file, CI), so logs stay readable and a terminal stays short."""

from __future__ import annotations

import sys

WIDTH = 30


class Progress:
    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.live = bool(getattr(stream, "isatty", lambda: False)())

    def step(self, text: str) -> None:
        """One more step done; ``text`` says what it was."""
        self.done += 1
        if self.live:
            filled = WIDTH * self.done // max(1, self.total)
            line = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total} {text}"
            self.stream.write("\r\033[K" + line[:160])
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {text}\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        """A line of its own (after the bar, when one is drawn)."""
        if self.live and 0 < self.done < self.total:
            self.stream.write("\n")
        self.stream.write(text + "\n")
        self.stream.flush()
