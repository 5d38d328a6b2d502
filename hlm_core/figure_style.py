"""The look every figure shares: colours, fonts, the common layout, and the presenter view's
font scaling. Change a colour here and every figure (app, HTML report, PNG/SVG) follows.
"""

from __future__ import annotations

import plotly.graph_objects as go

ABOVE = "#1d4ed8"  # blue
BELOW = "#c2410c"  # orange
WITHIN = "#94a3b8"  # slate grey
LINE = "#2563eb"
QUALITATIVE = (
    "#2563eb",
    "#dc2626",
    "#16a34a",
    "#9333ea",
    "#ea580c",
    "#0891b2",
    "#ca8a04",
    "#db2777",
    "#4b5563",
    "#65a30d",
)

MODES = {"own": "Group's own value", "deviation": "Deviation from average"}
FONT = {"family": "sans-serif", "size": 13}



def _standard_layout(fig: go.Figure, height: int) -> None:
    """The layout the model-check and comparison figures share: legend on top, tight margins."""
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        hovermode="closest",
        font=FONT,
    )


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
