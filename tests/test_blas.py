"""hlm_core limits BLAS to one thread by default (small matrices: threads only fight), and an
administrator's HLM_BLAS_THREADS is honoured. Checked in a fresh interpreter each time, since the
limit is set when hlm_core is imported."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import numpy, hlm_core, json; from threadpoolctl import threadpool_info; "
    "print(json.dumps([i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']))"
)


def _threads(env_value: str | None) -> list[int]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HLM_BLAS_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    if env_value is not None:
        env["HLM_BLAS_THREADS"] = env_value
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    return json.loads(out.stdout)


def test_one_blas_thread_by_default_even_when_numpy_came_first():
    assert _threads(None) and set(_threads(None)) == {1}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores to allow two threads")
def test_administrator_can_allow_more_threads():
    assert set(_threads("2")) == {2}


RAYON_PROBE = (
    "import os, hlm_core; from hlm_core.fit import fit; from hlm_core.formula import "
    "parse_formula; from benchmarks.make_data import classes_dataset; "
    "before = len(os.listdir('/proc/self/task')); "
    "fit(classes_dataset(2000, 50), parse_formula('y ~ x + (x | class)')); "
    "print(len(os.listdir('/proc/self/task')) - before)"
)


def _rayon_threads(env_value: str | None) -> int:
    """Threads the first native fit starts (mixedlm's rayon pool), in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HLM_BLAS_THREADS", "RAYON_NUM_THREADS")}
    if env_value is not None:
        env["HLM_BLAS_THREADS"] = env_value
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", RAYON_PROBE], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts threads in /proc")
def test_mixedlm_native_core_gets_one_thread_by_default():
    assert _rayon_threads(None) == 1


@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not Path("/proc/self/task").exists(),
                    reason="needs two cores and /proc")
def test_administrator_can_allow_more_native_threads():
    assert _rayon_threads("2") == 2
