"""Where the server spends each page's first and second visit: cProfile of the page scripts.

Runs the app in Streamlit's AppTest (the same scripts a browser session runs): uploads the
STAR-like file (5,871 pupils, 325 classes, 79 schools; or `--data classroom`, or `1m`:
1,000,000 pupils in 20,000 classes) through the real
uploader, fits `math ~ cltype + ses + sx + (1 | sch/tch)` with Fit model, then opens every
result page twice. Each page run is profiled inside the script thread (the page's own code,
hlm_core and Streamlit's element building; not AppTest's own bookkeeping), and the summary
prints the run's CPU time and the functions that took most of it (cumulative time of this
project's functions, then the biggest self times anywhere).

Target (issue 11): nothing slower than ~0.2 s on every visit at classroom sizes: a page's
second visit reuses what its first computed (ui.fits.memo, per fit).

Run by hand: `python benchmarks/profile_pages.py [--data star|classroom|1m] [--pages ...]
[--top 8]`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ["results", "class_effects", "slopes", "compare", "diagnostics", "report"]
OURS = ("/pages/", "/ui/", "/hlm_core/")


class PageProfiler:
    """Wraps Streamlit's page run (st.navigation's page .run()) in cProfile, in the script
    thread; `take()` returns the last run's stats and its CPU seconds."""

    def __init__(self) -> None:
        from streamlit.navigation import page as page_module

        self.last: pstats.Stats | None = None
        original = page_module.StreamlitPage.run
        profiler = self

        def run(page_self) -> None:
            prof = cProfile.Profile(time.thread_time)
            prof.enable()
            try:
                original(page_self)
            finally:
                prof.disable()
                if profiler.last is None:
                    profiler.last = pstats.Stats(prof)
                else:  # a click that runs the page twice (st.rerun): both runs
                    profiler.last.add(prof)

        page_module.StreamlitPage.run = run

    def take(self) -> tuple[pstats.Stats, float]:
        """The page runs since the last `take` (one click's) and their CPU seconds."""
        assert self.last is not None, "no page run was profiled"
        out, self.last = self.last, None
        return out, out.total_tt


def summary(stats: pstats.Stats, top: int) -> list[str]:
    """This project's functions by cumulative time, then anything by self time."""
    rows = stats.stats  # {(file, line, name): (cc, nc, tt, ct, callers)}
    ours = sorted(((v[3], k) for k, v in rows.items() if any(o in k[0] for o in OURS)),
                  reverse=True)
    own = sorted(((v[2], k) for k, v in rows.items()), reverse=True)

    def name(k) -> str:
        file = k[0].split("/site-packages/")[-1].replace(str(ROOT) + "/", "")
        return f"{k[2]} ({file}:{k[1]})"

    lines = ["    cumulative, this project: " + "; ".join(
        f"{name(k)} {t:.3f} s" for t, k in ours[:top] if t >= 0.005)]
    lines.append("    self time, anywhere: " + "; ".join(
        f"{name(k)} {t:.3f} s" for t, k in own[:top] if t >= 0.005))
    return lines


def main() -> None:
    from streamlit.testing.v1 import AppTest

    from benchmarks.make_data import STAR_FORMULA, classes_dataset, star_like_dataset
    from hlm_core.examples import EXAMPLES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=["star", "classroom", "1m"], default="star")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--pages", nargs="+", default=PAGES, choices=PAGES)
    args = ap.parse_args()
    if args.data == "star":
        frame, formula = star_like_dataset(), STAR_FORMULA
    elif args.data == "1m":
        frame, formula = classes_dataset(1_000_000, 20_000, ids=True), "y ~ x + (x | class)"
    else:
        ex = EXAMPLES["classroom"]
        frame, formula = ex.make(), ex.formulas[-1]
    profiler = PageProfiler()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    at.switch_page("pages/data.py").run()
    profiler.take()
    print(f"{args.data}: {len(frame):,} rows, {formula}; CPU seconds of each page's script run "
          "(reading and fitting run in worker processes: not counted here)")
    uploader = next(w for w in at.file_uploader if w.label == "Upload data")
    steps = [  # the clicks before the result pages, each profiled like a page visit
        ("upload -> Data page", lambda: uploader.set_value(
            (f"{args.data}.csv", frame.to_csv(index=False).encode(), "text/csv")).run()),
        ("open Model page", lambda: at.switch_page("pages/model.py").run()),
        ("type the formula", lambda: next(
            w for w in at.text_input if w.label == "Formula").input(formula).run()),
        ("Fit model", lambda: next(b for b in at.button if b.label == "Fit model").click().run()),
    ]
    for what, click in steps:
        click()
        assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
        stats, cpu = profiler.take()
        print(f"  {what:<28} {cpu:6.3f} s")
        if cpu >= 0.05:
            print("\n".join(summary(stats, args.top)))
    for visit in ("first", "second"):
        for name in args.pages:
            at.switch_page(f"pages/{name}.py").run()
            assert not at.exception, [e.value for e in at.exception]
            stats, cpu = profiler.take()
            print(f"  {visit} visit: {name:<14} {cpu:6.3f} s")
            if cpu >= 0.05:
                print("\n".join(summary(stats, args.top)))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
