"""The server process made ready for its first clicks, once, in the background.

Two costs landed on a page's first visit after the server started, measured with py-spy on
the classroom example's result pages:
- importing what the page needs (plotly's figure classes, hlm_core.figures, the power and
  plan modules): ~0.1-0.2 s per page, once per server process;
- Python's full garbage collections: every few tens of thousands of new objects (an AST, a
  figure, a table) Python scans every object the process holds, and with pandas, plotly and
  the app's modules loaded a scan took 90-170 ms, three to five times per walk through the
  pages, each time inside some page's run.

So the server imports the pages' modules in a background thread as it starts (before anyone
uploads: 1.5-2 s of one core), builds each kind of result figure once from the bundled example
(a fixed 500-row file, never user data), then moves every object it holds to Python's permanent
generation (`gc.freeze`): the module objects live as long as the process anyway, and a full
collection now scans only what the sessions made since. Garbage is still found and freed as
before; objects alive at the freeze are only never scanned again.
"""

from __future__ import annotations

import gc
import importlib
import logging
import pkgutil
import threading

log = logging.getLogger("hlm_app")

_started = threading.Event()

# modules that the pages import inside functions (first use), besides every module of the
# app's own packages
EXTRA_MODULES = ("plotly.graph_objects", "plotly.io", "scipy.stats", "scipy.optimize")


def app_modules(packages: tuple[str, ...] = ("hlm_core", "ui")) -> list[str]:
    """Every module of the app's packages (hlm_core, ui), by name, without importing any
    of them beyond the packages themselves."""
    names: list[str] = []
    for pkg_name in packages:
        pkg = importlib.import_module(pkg_name)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg_name}."):
            if info.name.endswith(("__main__", ".jobs_warm")):  # a CLI; the fork server's own
                continue
            names.append(info.name)
    return names


def warm(modules: list[str] | None = None) -> int:
    """Import `modules` (default: the app's) and EXTRA_MODULES, build each kind of figure once
    (`warm_figures`), then freeze what the process holds out of the garbage collector's
    scans. Returns the number of objects frozen."""
    for name in [*(modules if modules is not None else app_modules()), *EXTRA_MODULES]:
        try:
            importlib.import_module(name)
        except Exception:  # an optional part missing only leaves its import to first use
            log.warning("warm-up could not import %s", name, exc_info=True)
    try:
        warm_figures()
    except Exception:
        log.warning("warm-up could not draw its figures", exc_info=True)
    gc.collect()  # what is garbage now is freed, not frozen
    gc.freeze()
    return gc.get_freeze_count()


def warm_figures() -> None:
    """Each kind of figure the result pages show, built once from the bundled example (500
    rows): plotly makes the checker of each property on its first use, and its first list of
    labels looks through every installed package's entry points (narwhals' plugins; ~25 ms
    of file reads, measured on the Slopes page's first visit). Also the package versions the
    Report page lists (importlib.metadata reads every installed package)."""
    import plotly.io as pio

    from hlm_core.diagnostics import fitted_and_residuals, qq_points, residual_spread
    from hlm_core.effects import group_ols_lines, pred_slope, ranef_table
    from hlm_core.examples import classroom
    from hlm_core.figure_margins import reserve_margins
    from hlm_core.figures import caterpillar, group_lines, qq_plot, residuals_vs_fitted, spread_plot
    from hlm_core.fit import fit
    from hlm_core.formula import parse_formula
    from hlm_core.report_html import package_versions

    package_versions()
    frame = classroom(seed=1)
    result = fit(frame, parse_formula("score ~ exam.prep.days + (exam.prep.days | class)"))
    table = ranef_table(result, "class")
    fr = fitted_and_residuals(result)
    lines = pred_slope(result, "exam.prep.days", None, None, n=2, group="class")
    figures = [
        caterpillar(table, "(Intercept)", "own"),
        group_lines(lines, "exam.prep.days", "score", "warm-up"),
        group_lines(group_ols_lines(frame, "score", "exam.prep.days", "class"),
                    "exam.prep.days", "score", "warm-up"),
        residuals_vs_fitted(fr, outcome="score", max_points=400),
        qq_plot(qq_points(fr["std_residual"].to_numpy()), "warm-up"),
        spread_plot(residual_spread(result), result.sigma),
    ]
    for fig in figures:
        pio.to_json(reserve_margins(fig), validate=False)


def start_warm_up() -> bool:
    """Run `warm` once per process in a daemon thread; False when it was started before."""
    if _started.is_set():
        return False
    _started.set()

    def run() -> None:
        try:
            frozen = warm()
            log.info("server warm-up done: %d objects left out of garbage collection", frozen)
        except Exception:  # a failed warm-up only leaves the first visits slower
            log.exception("server warm-up failed")

    threading.Thread(target=run, name="hlm-warm-up", daemon=True).start()
    return True
