"""How training shows its progress: a tqdm bar on a terminal, plain log lines in a batch job's log.

`train.progress_bar=auto` draws the bar when stderr is a terminal; otherwise (SLURM, `> log 2>&1`) a bar
would be one endless line of carriage-return frames, so a plain line goes to the log every
`train.progress_every_seconds` instead: step, epoch, loss, learning rate, examples/s, time left. `true`
draws the bar anyway, `false` shows neither; `TQDM_DISABLE` (tqdm's own switch) means `false`. Written by
hand because tqdm has no plain-line mode; log lines never share a line with the bar, as the loop runs
inside tqdm's `logging_redirect_tqdm`.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time

from tqdm.auto import tqdm

log = logging.getLogger("mrpc.train")


class Progress:
    def __init__(self, mode: str | bool, every_seconds: float, total: int, done: int, shown: bool) -> None:
        """`mode`: train.progress_bar; `shown`: whether this process reports (the main one alone does)."""
        if os.environ.get("TQDM_DISABLE") or not shown:
            mode = False
        bar = mode is True or (mode == "auto" and sys.stderr.isatty())
        self.bar = tqdm(total=total, initial=done) if bar else None
        self.lines = mode == "auto" and not bar
        self.every_seconds, self.total, self.done, self.resumed_at = every_seconds, total, done, done
        self.started = self.last_line = time.perf_counter()
        self.examples = 0  # trained on in this process
        self.description, self.loss, self.lr = "", math.nan, math.nan

    def epoch(self, epoch: int, epochs: int) -> None:
        self.description = f"epoch {epoch}/{epochs}"
        if self.bar is not None:
            self.bar.set_description(self.description)

    def step(self, examples: int) -> None:
        self.done += 1
        self.examples += examples
        if self.bar is not None:
            self.bar.update()
        elif self.lines and time.perf_counter() - self.last_line >= self.every_seconds:
            self._line()

    def loss_and_lr(self, loss: float, lr: float) -> None:
        self.loss, self.lr = loss, lr
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def _line(self) -> None:
        now = time.perf_counter()
        self.last_line = now
        seconds = now - self.started
        steps_per_second = (self.done - self.resumed_at) / seconds if seconds else 0.0
        left = (self.total - self.done) / steps_per_second if steps_per_second else math.nan
        known = not math.isnan(self.loss)  # the loop reports loss and lr every train.log_every_steps
        log.info(
            "%s, step %d/%d: loss %s, lr %s, %.1f examples/s, %s left",
            self.description,
            self.done,
            self.total,
            f"{self.loss:.4f}" if known else "?",
            f"{self.lr:.2e}" if known else "?",
            self.examples / seconds if seconds else 0.0,
            _duration(left),
        )


def _duration(seconds: float) -> str:
    if math.isnan(seconds):  # not known yet
        return "?"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"
