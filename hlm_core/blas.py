"""How many threads the BLAS library (OpenBLAS under numpy/scipy) and mixedlm's native core
(rayon) may use: one by default.

A mixed model's linear algebra is many small operations (a few columns, one small block per
group), where BLAS threads cost more in hand-offs than they win — and on a server running
several sessions (or a test run beside others) they fight for the same cores. Measured on the
exam data (`normexam ~ standLRT + (standLRT | school)`) on a busy 2-core machine: 280 ms a fit
with OpenBLAS's own threads, 37 ms with one. mixedlm's rayon pool is the same story: on
1,000,000 rows its two threads took 1.8 s of CPU for a fit that one thread does in 0.8 s (same
numbers; idle rayon workers spin), and the wall time was no shorter on the shared machine.
An administrator can allow more with the environment variable HLM_BLAS_THREADS (rayon reads
RAYON_NUM_THREADS once, when mixedlm first runs natively).
"""

from __future__ import annotations

import os

_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS")


def blas_threads() -> int:
    """The number of BLAS threads allowed (HLM_BLAS_THREADS, default 1)."""
    try:
        return max(1, int(os.environ.get("HLM_BLAS_THREADS", "1")))
    except ValueError:
        return 1


def limit_blas_threads() -> None:
    """Apply `blas_threads()`: through the environment for a BLAS library not loaded yet, and
    through threadpoolctl for one already loaded (the app's server imports numpy first)."""
    n = str(blas_threads())
    for var in _VARS:
        os.environ.setdefault(var, n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is pinned in requirements.txt
        return
    import numpy  # noqa: F401  (load OpenBLAS now, so the limit below reaches it)

    threadpool_limits(limits=int(n), user_api="blas")
