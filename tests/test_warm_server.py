"""ui.warm_server: the server imports the pages' modules as it starts and leaves what it then
holds out of the garbage collector's scans."""

import gc
import sys

from ui import warm_server


def test_every_app_module_is_listed_but_the_cli_and_the_fork_servers_warm_up():
    names = warm_server.app_modules()
    for wanted in ("hlm_core.figures", "hlm_core.figures_groups", "hlm_core.power",
                   "ui.widgets", "ui.fits"):
        assert wanted in names
    # hlm_core.__main__ is the command line; importing hlm_core.jobs_warm fits a model
    assert "hlm_core.__main__" not in names and "hlm_core.jobs_warm" not in names


def test_warm_imports_then_freezes(monkeypatch):
    monkeypatch.setattr(warm_server, "EXTRA_MODULES", ("colorsys",))
    sys.modules.pop("colorsys", None)
    try:
        frozen = warm_server.warm(["hlm_core.figure_margins", "no_such_module_here"])
        assert "colorsys" in sys.modules and "hlm_core.figure_margins" in sys.modules
        assert frozen == gc.get_freeze_count() > 1000
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    assert gc.get_freeze_count() == 0


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
