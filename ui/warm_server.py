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
import logging
import threading

log = logging.getLogger("hlm_app")

_started = threading.Event()


def import_app_modules() -> None:
    """Every module of hlm_core (but its command line and the fork server's own warm-up) and
    of ui, and the libraries the pages import inside functions. Written out, not looked up by
    name (the app imports nothing by a name it computes: tests/test_security.py);
    tests/test_warm_server.py checks that the lists name every module there is."""
    import plotly.graph_objects
    import plotly.io  # noqa: F401
    import scipy.optimize
    import scipy.stats  # noqa: F401

    _import_hlm_core()
    _import_engines()
    _import_ui()


def _import_hlm_core() -> None:
    from hlm_core import (  # noqa: F401, I001
        allocator, analysis_file, analysis_open, analysis_options, arrow_types, blas, bootstrap,
        bootstrap_glmm, checks, ci_output, cli_print, codegen, codegen_ci, codegen_glmm,
        codegen_python, codegen_r, codegen_shared, codegen_tutorial, coding, columns, compare,
        condvar, crosscheck, design, design_limits, diagnostics, diagnostics_glmm, effects,
        effects_glmm, engines, equations, equations_glmm, errors, examples, export,
        export_tables, factors, fairness, fairness_glmm, families, figure_intervals,
        figure_margins, figure_style, figures, figures_checks, figures_fair, figures_glmm,
        figures_groups, figures_plan, fit, formatting, formula, formula_builder, formula_parser,
        formula_text, formula_tokens, frame_checks, glmm, glossary, images, intervals,
        intervals_glmm, io, io_columns, io_common, io_dates, io_excel, io_guard, io_names,
        io_stats, io_text, jobs, jobs_background, levels, limits, missing_codes, plan_prefill,
        plan_views, plot_text, power, power_cli, power_sim, predictors, profile, reading_notes,
        report, report_glmm, report_html, result, safe_text, spec, structure, transforms,
        wording, writeup, xlsx_rows
    )


def _import_engines() -> None:
    from hlm_core.engines import (  # noqa: F401, I001
        compact, glmm_check, glmm_engine, glmm_scalar, glmm_scalar_start, lmm_optimize,
        mixedlm_df, mixedlm_engine, statsmodels_engine
    )


def _import_ui() -> None:
    from ui import (  # noqa: F401, I001
        analysis, builder, builder_glmm, data, fair, fits, glmm_views, guidance, headers,
        influence, intervals, jobs, model, nav, page_options, plan, state, text, uploads,
        widgets
    )


def warm() -> int:
    """Import the app's modules (`import_app_modules`), build each kind of figure once
    (`warm_figures`), then freeze what the process holds out of the garbage collector's
    scans. Returns the number of objects frozen."""
    try:
        import_app_modules()
    except Exception:  # a missing part only leaves its import to first use
        log.warning("warm-up could not import the app's modules", exc_info=True)
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
    # hlm_core's import sets the BLAS thread limit through threadpoolctl, which walks the
    # loaded libraries holding the dynamic loader's lock and calls back into Python there: in
    # the background thread it deadlocked the server (2 starts in 8) when the main thread
    # loaded a C extension at the same moment (it holds the GIL and waits for that lock). So
    # it is imported here, in the thread that loads app.py, before the background thread starts.
    import hlm_core  # noqa: F401

    def run() -> None:
        try:
            frozen = warm()
            log.info("server warm-up done: %d objects left out of garbage collection", frozen)
        except Exception:  # a failed warm-up only leaves the first visits slower
            log.exception("server warm-up failed")

    threading.Thread(target=run, name="hlm-warm-up", daemon=True).start()
    return True
