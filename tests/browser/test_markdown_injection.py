"""Names and values are text, never Markdown, HTML or LaTeX (issue 12.1, 17.2, 17.3).

A loopback "canary" server stands in for an outside host. The upload's file name, column names
and class IDs are Markdown images, links, autolinks, raw HTML, KaTeX `\\href` and `javascript:`
URLs pointing at it. The test uploads the file, fits a model that uses every hostile column,
and opens every page; the canary must record zero requests, and no page may hold a link, image,
iframe or script made from user text (no `href`/`src` naming the canary, no `javascript:` link,
no KaTeX macro). Screenshots of each page go to the artifacts folder.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.browser.test_walkthrough import (
    open_page,
    open_tab,
    screenshot,
    settle,
    show_effects_table,
    show_fair,
    show_report_figures,
)

PAGES = ["Data", "Model", "Results", "Class effects", "Slopes", "Compare", "Diagnostics",
         "Report & export"]


def hostile_upload(host: str) -> tuple[str, bytes, dict[str, str]]:
    """(file name, CSV bytes, {role: column name}) with every kind of injection."""
    names = {
        "outcome": f"![p](http://{host}/outcome.png)",
        "predictor": f"[Log in](http://{host}/predictor)",
        "covariate": f"<img src=http://{host}/html.png>",
        "group": f"$\\href{{http://{host}/katex}}{{x}}$",
    }
    ids = [
        f"![i](http://{host}/id.png)",
        f"<http://{host}/autolink>",
        f"http://{host}/bare",
        "[click](javascript:alert(1))",
        f"<a href=\"http://{host}/a\">a</a>",
        f"$\\href{{http://{host}/k}}{{k}}$",
        f"<script>fetch('http://{host}/script')</script>",
        ":red[**bold**] :material/home:",
    ]
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(len(ids)), 15)
    x = rng.normal(5, 2, len(g))
    frame = pd.DataFrame({
        names["outcome"]: np.round(50 + 2 * x + rng.normal(0, 3, len(ids))[g]
                                   + rng.normal(0, 2, len(g)), 2),
        names["predictor"]: np.round(x, 2),
        names["covariate"]: np.round(rng.normal(size=len(g)), 2),
        names["group"]: [ids[i] for i in g],
    })
    file_name = f"![n](http://{host}/file.png) <img src=http://{host}/f2.png>.csv"
    return file_name, frame.to_csv(index=False).encode(), names


LEAKS_JS = """(host) => {
  const bad = [];
  for (const el of document.querySelectorAll('a[href], img[src], iframe, script[src], source'))
  {
    const url = el.getAttribute('href') || el.getAttribute('src') || '';
    if (url.includes(host) || url.trim().toLowerCase().startsWith('javascript:'))
      bad.push(el.outerHTML.slice(0, 200));
  }
  for (const s of document.querySelectorAll('script:not([src])'))
    if (s.textContent.includes(host)) bad.push('inline script');
  // the app's own equations (st.latex) are KaTeX; a macro from user text shows as an error
  for (const k of document.querySelectorAll('.katex [mathcolor="#cc0000"], .katex-error'))
    bad.push('KaTeX from user text: ' + k.outerHTML.slice(0, 200));
  return bad;
}"""


def test_user_text_never_becomes_markup(browser, app_url, canary, canary_hits, artifacts):
    file_name, data, names = hostile_upload(canary)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.get_by_role("button", name="Use example data").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        files=[{"name": file_name, "mimeType": "text/csv", "buffer": data}])
    page.get_by_text("120 rows, 4 columns", exact=False).first.wait_for()
    settle(page)
    problems: dict[str, list[str]] = {}

    def check(where: str) -> None:
        settle(page, 1.0)
        bad = page.evaluate(LEAKS_JS, canary)
        if bad:
            problems[where] = bad
        screenshot(page, artifacts, f"injection-{where.lower().replace(' ', '-')}")

    check("Data upload")
    open_page(page, "Model")
    box = page.get_by_role("textbox", name="Formula")
    q = {k: f"`{v}`" for k, v in names.items()}
    box.fill(f"{q['outcome']} ~ {q['predictor']} + {q['covariate']} "
             f"+ ({q['predictor']} | {q['group']})")
    box.press("Enter")
    settle(page)
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for()
    for title in PAGES:
        open_page(page, title)
        check(title)
        if title == "Class effects":  # the views that wait behind a switch or in a tab, too
            show_fair(page)
            check("Class effects fair comparisons")
            show_effects_table(page)
            check("Class effects table")
        if title == "Diagnostics":
            for tab in ("Normal Q-Q plots", "Residual spread per group"):
                open_tab(page, tab)
                check(f"Diagnostics {tab}")
        if title == "Report & export":  # the figures' titles wait behind an expander
            show_report_figures(page)
            check("Report figures as images")
    context.close()
    for where, bad in problems.items():
        print(where, bad)
    assert not problems, problems
    assert canary_hits == [], f"requests reached the outside host: {canary_hits}"
