"""The real `verbo` console on a pseudo-terminal: a window size, keys typed into the master
side, everything the program draws read back (escape sequences removed for assertions), and the
terminal's attributes to compare before and after."""
from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import threading
import time

# CSI sequences, OSC titles, charset and keypad switches: what prompt_toolkit draws with
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
                     r"|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
CURSOR_POSITION_REQUEST = b"\x1b[6n"


def plain(text: str) -> str:
    return ESCAPES.sub("", text).replace("\r", "")


class PtyConsole:
    """`python -m MODULE ARGS` with a pty as its controlling terminal (stdin, stdout, stderr)."""

    def __init__(self, module: str, args: list[str], env: dict, cwd, columns=60, rows=40):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.attributes_before = termios.tcgetattr(self.slave)
        self._raw = bytearray()
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args], stdin=self.slave, stdout=self.slave,
            stderr=self.slave, env=env, cwd=cwd, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))  # its controlling tty
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # the slave side closed: the program and its children are gone
                return
            if not data:
                return
            with self._lock:
                self._raw += data
            # prompt_toolkit asks where the cursor is; a terminal answers (row 1, column 1)
            for _ in range(data.count(CURSOR_POSITION_REQUEST)):
                os.write(self.master, b"\x1b[1;1R")

    @property
    def text(self) -> str:
        """Everything drawn so far, without escape sequences."""
        with self._lock:
            return plain(self._raw.decode("utf-8", "replace"))

    def printed_lines(self) -> list[str]:
        """The whole lines written as text, not drawn by moving the cursor: a run with no
        escape sequence in it, from its start or a line break to a line break. (What the console
        prints above its prompt comes so; the prompt and the bottom bar are drawn in pieces
        between cursor movements.)"""
        with self._lock:
            raw = self._raw.decode("utf-8", "replace")
        lines = []
        for run in ESCAPES.split(raw):
            if run is None:
                continue
            lines += [line.replace("\r", "") for line in run.split("\n")[:-1]]
        return lines

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, condition, seconds: float = 60.0, what: str = "") -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition(self.text):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        raise AssertionError(f"no apareció {what!r}; pantalla:\n{self.text[-1500:]}")

    def wait_for_text(self, needle: str, seconds: float = 60.0) -> None:
        self.wait_for(lambda text: needle in text, seconds, needle)

    def exit_code(self, seconds: float = 60.0) -> int:
        code = self.process.wait(timeout=seconds)
        self._reader.join(5)
        return code

    @property
    def attributes_after(self) -> list:
        return termios.tcgetattr(self.slave)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
