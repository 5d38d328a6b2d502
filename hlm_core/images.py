"""Figures as PNG or SVG files, drawn by kaleido with the system's Chromium (when there is one).
"""

from __future__ import annotations

import functools

IMAGE_FORMATS = ("png", "svg")
NO_BROWSER = (
    "PNG and SVG export needs Chrome or Chromium installed on the computer running the "
    "dashboard (on Debian/Ubuntu: apt-get install chromium). Meanwhile, the camera button in "
    "each chart's toolbar saves a PNG in your browser."
)


def find_browser() -> str | None:
    """The Chrome/Chromium kaleido would drive (BROWSER_PATH first), or None.

    A disk lookup, made once per process for each BROWSER_PATH (the Report page asks on
    every visit): a browser installed while the dashboard runs shows after a restart."""
    import os

    return _find_browser(os.environ.get("BROWSER_PATH") or None)


@functools.cache
def _find_browser(env: str | None) -> str | None:
    import os

    if env:
        return env if os.path.exists(env) else None
    try:
        from choreographer.browsers.chromium import Chromium

        return Chromium.find_browser(skip_local=False)
    except Exception:  # no kaleido/choreographer, or an odd system: say "none"
        return None


def image_export_available() -> bool:
    return find_browser() is not None


def export_style(fig, scale: float = 1.0):
    """A copy of `fig` styled for files: white background, fonts scaled by `scale`."""
    import plotly.graph_objects as go

    out = go.Figure(fig)
    out.update_layout(template="plotly_white", paper_bgcolor="white", plot_bgcolor="white")
    if scale != 1.0:
        from hlm_core.figures import scale_fonts

        scale_fonts(out, scale)
    return out


def figure_image(fig, fmt: str = "png", *, width: int = 1000, scale: float = 2.0) -> bytes:
    """The figure as PNG or SVG bytes, drawn by kaleido in a local Chrome/Chromium.

    Raises HLMError (saying what to install, and that the chart's camera button saves a PNG)
    when no browser is found. Takes about 2 s (a browser starts for each call).
    """
    from hlm_core.errors import HLMError

    fmt = fmt.lower()
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"fmt must be one of {IMAGE_FORMATS}")
    if find_browser() is None:  # the same search kaleido makes (BROWSER_PATH, then PATH)
        raise HLMError(NO_BROWSER)
    try:
        import kaleido  # noqa: F401  (plotly's to_image needs it)
    except ImportError as exc:
        raise HLMError(
            "PNG and SVG export needs the kaleido package (pip install kaleido==1.5.0). "
            "Meanwhile, the camera button in each chart's toolbar saves a PNG in your browser."
        ) from exc
    styled = export_style(fig)
    height = int(styled.layout.height or 500)
    try:
        return styled.to_image(format=fmt, width=width, height=height,
                               scale=scale if fmt == "png" else 1)
    except Exception as exc:
        name = type(exc).__name__
        if "ChromeNotFound" in name or "BrowserFailed" in name or "BrowserDeps" in name:
            raise HLMError(NO_BROWSER) from exc
        raise
