"""Response headers and leaving the page (issue 17.9, 17.10), on the real server.

- The app's HTML response (and its other HTTP responses) carry a Content-Security-Policy that
  allows images, scripts, frames and connections from the app's own origin only, and refuse
  framing by other sites (frame-ancestors, X-Frame-Options). In the browser the policy is
  enforced: an image, script, fetch or frame pointing at another origin (a loopback canary
  server on another port) is blocked and never reaches it, while the app itself, with its
  charts, still works.
- Once a model is fitted, reloading or closing the tab asks first (beforeunload); before any
  fit it doesn't, and moving between the app's pages never does.
"""

from __future__ import annotations

import urllib.request

from tests.browser.conftest import launch
from tests.browser.test_walkthrough import open_page, settle


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_the_html_response_forbids_outside_content_and_framing(app_url):
    for path in ("/", "/_stcore/health"):
        with urllib.request.urlopen(app_url + path, timeout=10) as response:
            headers = response.headers
            body = response.read()
        policy = directives(headers["Content-Security-Policy"])
        assert headers["X-Frame-Options"] == "SAMEORIGIN"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert policy["frame-ancestors"] == ["'self'"]
        assert policy["object-src"] == ["'none'"]
        for name in ("default-src", "img-src", "script-src", "frame-src", "connect-src",
                     "font-src", "style-src"):
            sources = policy[name]
            assert "'self'" in sources, name
            # no other host, no scheme-wide wildcard: nothing from outside
            assert not [s for s in sources if s not in {"'self'", "'unsafe-inline'",
                                                        "'unsafe-eval'", "data:", "blob:"}]
        if path == "/":
            assert b"<html" in body.lower()


BLOCKED_JS = """async (host) => {
  const violations = [];
  document.addEventListener('securitypolicyviolation', e => violations.push(e.violatedDirective));
  const img = new Image(); img.src = `http://${host}/csp-image.png`; document.body.append(img);
  const s = document.createElement('script'); s.src = `http://${host}/csp-script.js`;
  document.body.append(s);
  const f = document.createElement('iframe'); f.src = `http://${host}/csp-frame`;
  document.body.append(f);
  let fetched = true;
  try { await fetch(`http://${host}/csp-fetch`, {mode: 'no-cors'}); } catch (e) { fetched = false; }
  await new Promise(r => setTimeout(r, 1500));
  return {violations, fetched};
}"""


def test_the_browser_blocks_other_origins(page, canary, canary_hits):
    page.get_by_role("button", name="Use example data").click()
    settle(page)
    got = page.evaluate(BLOCKED_JS, canary)
    assert canary_hits == [], canary_hits
    assert not got["fetched"]
    assert {"img-src", "script-src-elem", "frame-src", "connect-src"} <= set(got["violations"])


def example_page(context, app_url: str):
    """A new tab with the example data loaded, and the list of dialogs it raises (each is
    dismissed: the user stays on the page)."""
    page = context.new_page()
    page.set_default_timeout(60_000)
    seen: list[str] = []

    def on_dialog(dialog):
        seen.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(app_url)
    page.get_by_role("button", name="Use example data").click()
    settle(page)
    return page, seen


def test_leaving_after_a_fit_asks_first(playwright_driver, app_url):
    # A browser of its own: Chromium can crash when a context whose page has just dismissed a
    # beforeunload dialog is closed, and the shared browser must not go down with it.
    browser = launch(playwright_driver)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page, seen = example_page(context, app_url)
    page.close(run_before_unload=True)  # no fit yet: closes without asking
    page.wait_for_event("close", timeout=5_000) if not page.is_closed() else None
    assert seen == [] and page.is_closed()

    page, seen = example_page(context, app_url)
    open_page(page, "Model")
    page.get_by_role("button", name="Fit model").click()
    page.get_by_text("Fitted in").wait_for()
    settle(page)
    open_page(page, "Results")  # moving between pages never asks
    open_page(page, "Class effects")
    assert seen == []
    with page.expect_event("dialog", timeout=15_000):  # a busy page answers a little later
        page.close(run_before_unload=True)  # reload/close after a fit: the browser asks
    assert seen == ["beforeunload"]
    assert not page.is_closed()  # dismissed: the work is still there
    page.close(run_before_unload=False)
    context.close()
    browser.close()
