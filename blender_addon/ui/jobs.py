"""Heavy steps in the background: the ``revive`` command in a subprocess, with progress.

Building an avatar from photos, speaking a line or making a pyrender preview take seconds to
minutes and need the full Revive core (mediapipe, torch, espeak-ng), which Blender's Python
does not have. So the add-on runs the ``revive`` command line program and watches it: a
reader thread collects its output, ``Job.poll`` turns it into a fraction done and the latest
message (the CLI's "1/4 Fitting the face model" steps, "Revive: ..." lines, render frames as
``revive_formats.progress`` prints them), and ``Job.cancel`` stops it (Ctrl-C's SIGINT, which
Revive's commands answer by removing what they had half-written, then SIGKILL after a grace
period). Nothing here touches Blender data: the operators (``operators``) do that when a job is
done, from a modal timer, so Blender never freezes.

Classes
-------
Job         one running ``revive`` command
JobStatus   a snapshot: running or not, exit code, fraction done, message, output tail
"""
from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Sequence

from ..revive_formats.progress import FRAME, PREFIX, last_message

__all__ = ["Job", "JobStatus"]

_STEP = re.compile(r"(\d+)/(\d+)\s+([^\[\r\n]*?)\s*\[")  # tqdm: "2/4 Fitting the face model ["


@dataclass
class JobStatus:
    """What a job is doing: ``running``, its ``exit_code`` once done, ``fraction`` 0..1 (None
    when unknown), the latest ``message`` and the last lines of output."""

    running: bool
    exit_code: int | None
    fraction: float | None
    message: str
    tail: list[str] = field(default_factory=list)

    @property
    def error(self) -> str:
        """The command's own explanation of a failure ("Revive: ..." and its hint), if any."""
        if found := last_message(self.tail):
            return " ".join(found).strip()
        lines = [line for line in self.tail if line.strip()]
        return lines[-1] if lines else ""


class Job:
    """Run ``command`` (a list of arguments) in the background and follow its output.

    Parameters
    ----------
    command : sequence of str
        The program and its arguments, e.g. ``["revive", "say", AVATAR, "--text", ...]``.
    title : str
        What the job does, for the user ("Building the avatar").
    """

    def __init__(self, command: Sequence[str], title: str) -> None:
        self.command = list(command)
        self.title = title
        self._lines: collections.deque[str] = collections.deque(maxlen=200)
        self._fraction: float | None = None
        self._message = title
        self._lock = threading.Lock()
        self._cancelled = False
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._process = subprocess.Popen(
            self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        pending = b""
        while True:
            chunk = self._process.stdout.read1(4096)
            if not chunk:
                break
            pending += chunk
            parts = re.split(rb"[\r\n]", pending)  # tqdm redraws its line with \r
            pending = parts.pop()
            for part in parts:
                self._take(part.decode("utf-8", errors="replace"))
        if pending:
            self._take(pending.decode("utf-8", errors="replace"))

    def _take(self, line: str) -> None:
        line = line.rstrip()
        if not line:
            return
        with self._lock:
            self._lines.append(line)
            if match := FRAME.match(line):
                done, total = match.group(2), match.group(3)
                self._fraction = int(done) / max(int(total), 1)
                self._message = f"Rendering frame {done} of {total}"
            elif match := _STEP.search(line):
                done, total = int(match.group(1)), int(match.group(2))
                self._fraction = done / max(total, 1)
                self._message = match.group(3).strip() or self._message
            elif line.startswith(PREFIX):
                self._message = line[len(PREFIX):]

    def poll(self) -> JobStatus:
        """A snapshot of the job; ``running`` is False once the process and its output ended."""
        code = self._process.poll()
        if code is not None:
            self._reader.join(timeout=1.0)
        with self._lock:
            return JobStatus(running=code is None or self._reader.is_alive(), exit_code=code,
                             fraction=1.0 if code == 0 else self._fraction,
                             message="Stopped" if self._cancelled else self._message,
                             tail=list(self._lines)[-20:])

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self, grace_s: float = 5.0) -> None:
        """Stop the command (and what it started): SIGINT, then SIGKILL after ``grace_s``."""
        if self._process.poll() is not None:
            return
        self._cancelled = True
        self._stop(hard=False)
        deadline = time.monotonic() + grace_s
        while self._process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._process.poll() is None:
            self._stop(hard=True)
            self._process.wait()

    def wait(self, timeout: float | None = None) -> JobStatus:
        """Block until the command ends (for scripts and ``blender -b``); the final status."""
        self._process.wait(timeout=timeout)
        return self.poll()

    def _stop(self, *, hard: bool) -> None:
        if hasattr(os, "killpg"):  # POSIX: the command runs in its own session; stop it all
            try:
                os.killpg(self._process.pid, signal.SIGKILL if hard else signal.SIGINT)
                return
            except (ProcessLookupError, PermissionError):
                pass
        (self._process.kill if hard else self._process.terminate)()
