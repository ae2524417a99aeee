"""The progress of a run, drawn from the counters the sampler's threads
increment: a tqdm bar (``tqdm.auto``: a widget in notebooks, text in a
terminal) when tqdm is installed, else one line on stderr rewritten with
``\\r``."""

from __future__ import annotations

import sys


def _bar(total, unit: str, desc: str, enabled: bool):
    """(tqdm bar or None, whether to draw the plain line instead)."""
    if not enabled:
        return None, False
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None, True
    return tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True, leave=True), False


def _close(progress) -> None:
    if progress.bar is not None:
        progress.bar.close()
    elif progress.plain and progress.done:
        sys.stderr.write("\n")
        sys.stderr.flush()

class Progress:
    """One bar for the whole run: iterations of all chains, warmup included."""

    def __init__(self, total: int, chains: int, enabled: bool):
        self.total = total
        self.chains = chains
        self.done = 0
        self.bar, self.plain = _bar(total, "it", "warmup", enabled)

    def update(self, progress: tuple) -> None:
        """Moves the bar to the counters' values: (iterations per chain,
        draws, divergences, chains past warmup)."""
        iterations, _draws, divergences, sampling = progress
        done = sum(iterations)
        phase = "sampling" if sampling == self.chains else "warmup"
        if self.bar is not None:
            self.bar.update(done - self.done)
            self.bar.set_description(phase, refresh=False)
            if divergences:
                self.bar.set_postfix(divergent=divergences, refresh=False)
        elif self.plain and done != self.done:
            percent = 100 * done // max(self.total, 1)
            divergent = f", {divergences} divergent" if divergences else ""
            sys.stderr.write(f"\r{phase}: {done}/{self.total} iterations ({percent}%){divergent}  ")
            sys.stderr.flush()
        self.done = done

    def close(self) -> None:
        """Ends the bar (a tqdm bar stays on screen; the plain line ends)."""
        _close(self)


class FitProgress:
    """The progress of a batch: one bar over its fits (tqdm when installed,
    else one line on stderr), counting those skipped (complete from an
    earlier run) and those that failed."""

    def __init__(self, total, enabled: bool):
        self.total = total
        self.done = 0
        self.skipped = 0
        self.failed = 0
        self.bar, self.plain = _bar(total, "fit", "fits", enabled)

    def update(self, skipped: bool = False, failed: bool = False) -> None:
        """One more fit has ended."""
        self.done += 1
        self.skipped += bool(skipped)
        self.failed += bool(failed)
        notes = {}
        if self.skipped:
            notes["skipped"] = self.skipped
        if self.failed:
            notes["failed"] = self.failed
        if self.bar is not None:
            if notes:
                self.bar.set_postfix(notes, refresh=False)
            self.bar.update(1)
        elif self.plain:
            total = "?" if self.total is None else self.total
            extra = "".join(f", {n} {what}" for what, n in notes.items())
            sys.stderr.write(f"\rfits: {self.done}/{total}{extra}  ")
            sys.stderr.flush()

    def close(self) -> None:
        """Ends the bar (a tqdm bar stays on screen; the plain line ends)."""
        _close(self)
