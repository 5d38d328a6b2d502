"""The look every figure shares: colours, fonts, the common layout, and the presenter view's
font scaling. Change a colour here and every figure (app, HTML report, PNG/SVG) follows.
"""

from __future__ import annotations

import plotly.graph_objects as go

ABOVE = "#1d4ed8"  # blue
BELOW = "#c2410c"  # orange
WITHIN = "#64748b"  # slate grey, 4.8:1 on white (marks need 3:1)
LINE = "#2563eb"
INK = "#1f2937"  # every text in a figure: 14.7:1 on white (WCAG AA asks 4.5:1)
# Okabe & Ito's colour-blind-safe colours, the three light ones (orange, sky blue, yellow:
# under 3:1 on white) replaced by a dark ochre; each line also gets its own dash pattern and a
# label at its end, so no group is told apart by colour alone.
QUALITATIVE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#8A5A00")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")

MODES = {"own": "Group's own value", "deviation": "Deviation from average"}
FONT = {"family": "sans-serif", "size": 13, "color": INK}


def translucent(colour: str, alpha: float) -> str:
    """`colour` ("#rrggbb") see-through as an rgba() fill. The same look as marker.opacity on
    markers without an outline, but plotly then styles each SVG point with a colour, not an
    opacity of its own, and the browser draws a 1,000-point scatter ~0.1 s (of CPU) faster."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:g})"


def ink(fig: go.Figure) -> None:
    """Dark text on every axis and legend, set on the axes themselves: a theme (Streamlit's
    grey #808495 ticks, 3.7:1) would otherwise override the figure-wide font colour."""
    # every axis the figure has (subplots too) in one update, as nested dicts: plotly parses
    # each "tickfont_color"-style key on every call, and update_xaxes/update_yaxes look the
    # axes up by pattern (together most of this function's time)
    axis = {"tickfont": {"color": INK}, "title": {"font": {"color": INK}}}
    names = {k for k in fig._layout if k.startswith(("xaxis", "yaxis"))} | {"xaxis", "yaxis"}
    fig.update_layout({name: axis for name in sorted(names)},
                      legend={"font": {"color": INK}}, title={"font": {"color": INK}})


def category_axis(names) -> dict:
    """Axis settings for a list of group IDs: a category axis (never left for the browser to
    guess: IDs 1-7 would become a number line in ID order, "007" would print as 7), in the
    given order, with every ID as a tick exactly as typed. Callers list groups by name only
    while their rows (24 px each) cannot overlap; above that they draw by rank."""
    names = [str(v) for v in names]
    return {"type": "category", "categoryorder": "array", "categoryarray": names,
            "tickmode": "array", "tickvals": names, "ticktext": names}


def sorted_group_axes(
    fig: go.Figure,
    names,
    ref: float,
    ref_label: str,
    *,
    by_name: bool,
    value_title: str,
    group_title: str,
    order_words: str,
    base_height: int,
) -> int:
    """The dashed reference line and the axis titles of a plot of groups sorted by value: the
    groups on a category axis while they are listed by name, a bare rank axis above that;
    returns the figure's height (24 px a named group)."""
    n = len(names)
    title = f"{value_title}  (dashed line: {ref_label})"
    line = {"color": "#334155", "dash": "dash", "width": 1.5}
    if by_name:  # (add_vline/add_hline's subplot look-ups cost more than the shape itself)
        fig.add_shape(type="line", x0=ref, x1=ref, xref="x", y0=0, y1=1, yref="y domain",
                      line=line)
        fig.update_yaxes(**category_axis(names), title=group_title, automargin=True)
        fig.update_xaxes(title=title, zeroline=False)
        return base_height + 24 * max(n, 3)
    fig.add_shape(type="line", x0=0, x1=1, xref="x domain", y0=ref, y1=ref, yref="y",
                  line=line)
    fig.update_xaxes(title=f"{group_title}, {order_words} ({n:,} groups)",
                     showticklabels=False, range=[0, n + 1])
    fig.update_yaxes(title=title, zeroline=False)
    return 520


def line_style(k: int) -> tuple[str, str]:
    """(colour, dash) of the k-th group's line: the first six differ in both; the next six
    reuse the colours with other dashes, so twelve groups have twelve distinct pairs."""
    n = len(QUALITATIVE)
    return QUALITATIVE[k % n], DASHES[(k + k // n) % len(DASHES)]


def _standard_layout(fig: go.Figure, height: int) -> None:
    """The layout the model-check and comparison figures share: legend on top, tight margins."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hovermode="closest",
        font=FONT,
    )
    ink(fig)


# ----------------------------------------------------------------------------- presenter view


def scale_fonts(fig: go.Figure, scale: float) -> go.Figure:
    """`fig` with every font scaled by `scale` (the presenter view; 1 leaves it as is): the base
    font (ticks, legend, axis titles inherit it), hover labels, the title and annotations."""
    if scale == 1:
        return fig
    base = fig.layout.font.size if fig.layout.font and fig.layout.font.size else FONT["size"]
    size = round(base * scale)
    fig.update_layout(font={"size": size}, hoverlabel={"font": {"size": size}})
    if fig.layout.title and fig.layout.title.text:
        fig.update_layout(title_font_size=round(size * 1.2))
    for ann in fig.layout.annotations or ():
        ann.font.size = round((ann.font.size or base) * scale)
    return fig
