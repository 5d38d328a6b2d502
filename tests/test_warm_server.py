"""ui.warm_server: the server imports the pages' modules as it starts and leaves what it then
holds out of the garbage collector's scans."""

import ast
import gc
import inspect
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import hlm_core
import hlm_core.engines
import ui
from ui import warm_server

ROOT = Path(__file__).resolve().parents[1]


def listed(function) -> set[str]:
    """The modules a function's `from package import (...)` statements name."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {f"{node.module}.{alias.name}" for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) for alias in node.names}


def test_the_written_out_lists_name_every_module():
    """A module added to hlm_core or ui without its name in the warm-up's lists fails here."""
    there = {f"hlm_core.{m.name}" for m in pkgutil.iter_modules(hlm_core.__path__)}
    there |= {f"hlm_core.engines.{m.name}" for m in pkgutil.iter_modules(hlm_core.engines.__path__)}
    there |= {f"ui.{m.name}" for m in pkgutil.iter_modules(ui.__path__)}
    # hlm_core.__main__ is the command line; importing hlm_core.jobs_warm fits a model in the
    # fork server; ui.warm_server is this module
    there -= {"hlm_core.__main__", "hlm_core.jobs_warm", "ui.warm_server"}
    named = (listed(warm_server._import_hlm_core) | listed(warm_server._import_engines)
             | listed(warm_server._import_ui))
    assert named == there


def test_importing_them_in_a_fresh_process_loads_the_figures_and_the_pages_helpers():
    code = ("import sys; from ui.warm_server import import_app_modules; import_app_modules(); "
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    for wanted in ("hlm_core.figures", "hlm_core.figures_groups", "hlm_core.power",
                   "hlm_core.engines.statsmodels_engine", "ui.widgets", "ui.fits",
                   "plotly.graph_objects", "scipy.stats"):
        assert wanted in out


def test_warm_builds_the_figures_then_freezes(monkeypatch):
    built = []
    monkeypatch.setattr(warm_server, "import_app_modules", lambda: None)
    monkeypatch.setattr(warm_server, "warm_figures", lambda: built.append(1))
    try:
        frozen = warm_server.warm()
        assert built == [1]
        assert frozen == gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    assert gc.get_freeze_count() == 0


def test_the_figures_are_built():
    """warm_figures runs through (a failure would only be logged by warm)."""
    warm_server.warm_figures()


def test_started_once_per_process(monkeypatch):
    calls = []
    monkeypatch.setattr(warm_server, "warm", lambda: calls.append(1) or 0)
    monkeypatch.setattr(warm_server, "_started", warm_server.threading.Event())
    assert warm_server.start_warm_up() is True
    assert warm_server.start_warm_up() is False
    for t in warm_server.threading.enumerate():
        if t.name == "hlm-warm-up":
            t.join(10)
    assert calls == [1]
