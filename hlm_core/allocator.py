"""The C allocator of a process that reads and fits (the command line, the app's job workers):
freed memory is kept for the next allocation instead of going back to the kernel.

A fit on millions of rows allocates arrays of tens of megabytes again and again (numpy's
temporaries, and every criterion evaluation of mixedlm's native core). glibc hands each array
over 32 MB its own fresh pages from the kernel and returns them when it is freed, so every
one of those allocations pays for page faults and for the kernel zeroing the pages; in this
virtual machine that was up to a third of a 10,000,000-row fit (fit + df 9.1 s of CPU against
5.9 s with the memory kept, measured in turns). Keeping freed memory makes the process's size
its peak until it ends, which is what a job worker (one job, then it exits) and the command
line (one command) want; the app's server process does not do this.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30  # arrays under 1 GB come from (and go back to) the process's heap
TRIM_THRESHOLD = 2 << 30  # free memory at the heap's top is given back beyond 2 GB
TOP_PAD = 64 << 20  # the heap grows 64 MB at a time


def keep_freed_memory() -> bool:
    """Set glibc's allocator as the module docstring says; False where there is no glibc
    (nothing changes there)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(p, v) == 1 for p, v in ((M_MMAP_THRESHOLD, MMAP_THRESHOLD),
                                                (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                                                (M_TOP_PAD, TOP_PAD)))
