"""Numbers as a reader sees them in the write-up: APA rounding (two decimals, no leading zero
for statistics that cannot exceed 1, p < .001), degrees of freedom, counts, and column names
inside LaTeX.
"""

from __future__ import annotations

import math

from scipy import stats

Z975 = float(stats.norm.ppf(0.975))


# --------------------------------------------------------------------------- formatting


def fmt(x: float | None, decimals: int = 2, *, se: float | None = None) -> str:
    """A number with APA's two decimals. A value that is not 0 but would print as 0.00 keeps
    two significant digits instead (0.0015), so a small variance is not reported as zero;
    never e-notation. With `se`, as many decimals as show the SE to two significant digits
    (b = 0.093 beside SE = 0.030, not 0.09)."""
    if x is None or not math.isfinite(x):
        return "–"
    decimals = se_decimals(se, decimals)
    text = f"{x:.{decimals}f}"
    if float(text) == 0:
        if x != 0:
            text = f"{x:.{min(12, 1 - math.floor(math.log10(abs(x))))}f}".rstrip("0")
        else:
            text = f"{0:.{decimals}f}"
    return text


def se_decimals(se: float | None, decimals: int = 2) -> int:
    """Decimals that show a standard error to two significant digits (at least `decimals`)."""
    if se is None or not math.isfinite(se) or se <= 0:
        return decimals
    return max(decimals, min(8, 1 - math.floor(math.log10(se))))


def fmt_unit(x: float | None, decimals: int = 2) -> str:
    """Statistics bounded by 1 (ICC, R², correlations): APA drops the leading zero (.39)."""
    if x is None or not math.isfinite(x):
        return "–"
    text = f"{x:.{decimals}f}"
    if float(text) == 0:
        text = f"{0:.{decimals}f}"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def fmt_p(p: float | None) -> str:
    """A p value as APA prints it after 'p': '< .001', '.023', '> .999' (three decimals)."""
    if p is None or not math.isfinite(p):
        return "–"
    if p < 0.001:
        return "< .001"
    if p >= 0.9995:
        return "> .999"
    return f"{p:.3f}"[1:]


def _p_clause(p: float) -> str:
    text = fmt_p(p)
    return f"p {text}" if text[0] in "<>" else f"p = {text}"


def fmt_df(df: float) -> str:
    """Satterthwaite df are not whole numbers; one decimal, as the pages show them."""
    if df is None or not math.isfinite(df):
        return "–"
    return f"{df:.1f}"


def _count(n: int) -> str:
    return f"{n:,}"


def _tex_text(name: str) -> str:
    r"""A column name inside LaTeX \text{}: escape what LaTeX/KaTeX would read as commands."""
    out = []
    for ch in name:
        if ch in "#$%&_{}":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch == "~":
            out.append(r"\textasciitilde{}")
        elif ch == "^":
            out.append(r"\textasciicircum{}")
        elif ch in "\n\r\t":
            out.append(" ")
        else:
            out.append(ch)
    return r"\text{" + "".join(out) + "}"
