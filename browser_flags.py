"""How the browser tests and the benchmarks start Chromium: Debian's /usr/bin/chromium (or
$HLM_CHROMIUM), headless, with everything that would reach the network or need a GPU turned off.

One place, so the tests and the benchmarks always measure the same browser.
"""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("HLM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
