"""A small load test in the suite: 5 people at once on the test server, each uploading a
different subset of exam.csv, fitting, and opening Class effects. All must finish, each seeing
its own schools, with no exception or error message. The 30-session version with the latency
report is `python benchmarks/bench_load.py`."""

from __future__ import annotations

import time

from benchmarks.bench_load import make_datasets, run_load_in_thread, summary

SESSIONS = 5


def test_five_concurrent_sessions_complete_without_errors(app_url, tmp_path):
    # its own Chromium (async API, in a thread of its own), one context per session
    datasets = make_datasets(SESSIONS, tmp_path)
    t0 = time.perf_counter()
    results = run_load_in_thread(app_url, datasets, cap=150.0, step_timeout=120.0)
    wall = time.perf_counter() - t0
    report = summary(results)
    print(f"\n{report}\nwall time {wall:.1f} s")
    assert len(results) == SESSIONS
    assert all(r.ok for r in results), report
