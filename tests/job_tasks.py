"""Small jobs for tests/test_jobs.py: module-level, so a worker process can import them."""

from __future__ import annotations

import os
import time

from hlm_core.errors import FormulaError


def grab_memory(mb: int) -> int:
    """Hold `mb` megabytes (touched, so they are really used)."""
    block = bytearray(mb * 2**20)
    block[:: 4096] = b"x" * len(block[:: 4096])
    return len(block)


def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def refuse(text: str) -> None:
    raise FormulaError(f"'{text}' is not a formula", position=3, text=text)


def crash() -> None:
    raise ZeroDivisionError("an internal error")


def die() -> None:
    os._exit(3)


def pid() -> int:
    return os.getpid()


def setting(name: str) -> str | None:
    return os.environ.get(name)


def abort() -> None:
    """What native code (the engine's Rust core) does when an allocation fails."""
    os.abort()


def count_to(n: int, progress) -> int:
    """Reports its progress (hlm_core.jobs' `progress=True` jobs) n times, then ends."""
    for i in range(1, n + 1):
        time.sleep(0.05)
        progress(i / n)
    return n


def refuse_after(seconds: float, text: str) -> None:
    time.sleep(seconds)
    refuse(text)
