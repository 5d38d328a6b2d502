"""User text (names, IDs, file names, messages quoting them) shown as text in Streamlit.

Streamlit renders Markdown in st.markdown, st.caption, st.write, alerts, metric and widget
labels, help tooltips, expander and radio labels: GitHub links and images, autolinks, raw
HTML, KaTeX between dollar signs, emoji and `:material/…:` shortcodes, `:red[…]` colours. A
column named `![p](http://host/x.png)` made the browser fetch from that host on every page. So
every piece of user text that goes into Markdown passes through ONE helper:

- `md(text)`: every character Markdown could read as syntax backslash-escaped (Markdown shows
  it as the character; ordinary words, dots, quotes and snake_case stay as they are), control
  and zero-width characters made visible, an invisible word joiner after `http`, `www` and `@`
  (autolinks ignore backslashes), line breaks as spaces, long text cut short with "…"
  (`limit`). `plain` gives back what the reader sees.
- `md_code(text)`: text shown in a code span (formulas), with a fence longer than any run of
  backticks inside it, so nothing in it can end the span.

Widgets that never interpret text (st.dataframe, st.code, st.text, selectbox and multiselect
options, file names of downloads, plotly figures via hlm_core.plot_text) get the text as is.
"""

from __future__ import annotations

import re

from hlm_core.safe_text import visible

__all__ = ["MAX_CELL_SHOWN", "MAX_SHOWN", "md", "md_code", "plain", "preview"]

MAX_SHOWN = 200  # characters of one name or value shown in running text
_AUTOLINK = re.compile(r"(?i)(?:https?|ftp|mailto|xmpp|www)(?=[:.])|@")
# what Markdown (GitHub's, Streamlit's) can read as syntax anywhere in a line: escapes, code,
# emphasis and strike-through, links and images ([), HTML and autolinks (<), entities (&),
# KaTeX ($), tables (|); an underscore only outside a word (snake_case stays as it is)
_SYNTAX = re.compile(r"[\\`*~\[\]<>&$|]|(?<!\w)_|_(?!\w)")
# emoji and icon shortcodes (:smile:, :material/home:)
_SHORTCODE = re.compile(r":(?=[\w/+-]+:)")
# block syntax at the start of the text: headings, lists, quotes
_LINE_START = re.compile(r"^(\s*\d*)([#+-]|(?<=\d)[.)])")


def md(text: object, limit: int | None = MAX_SHOWN, breaks: bool = False) -> str:
    """`text` as literal Markdown: shows exactly the characters, renders nothing. Line breaks
    become spaces, or with `breaks` Markdown line breaks (each line escaped on its own)."""
    if breaks and "\n" in str(text):
        return "  \n".join(md(line, limit) for line in str(text).splitlines())
    s = visible(re.sub(r"[\r\n\t]+", " ", str(text)), limit)
    # GitHub's autolinks (http://…, www.…, name@host) are found in the text after escapes are
    # resolved, so backslashes can't stop them: an invisible word joiner breaks each one
    s = _AUTOLINK.sub("\\g<0>\u2060", s)
    s = _SYNTAX.sub(lambda m: "\\" + m.group(0), s)
    s = _SHORTCODE.sub(r"\\:", s)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), s)


def plain(markdown: str) -> str:
    """What a reader sees of text made by `md` (for tests and for plain-text copies)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


def md_code(text: object, limit: int | None = None) -> str:
    """`text` as an inline code span that nothing inside can close."""
    s = visible(text, limit)
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


MAX_CELL_SHOWN = 500  # characters of one cell in a table preview


def preview(frame, limit: int = MAX_CELL_SHOWN):
    """(a copy of `frame` with text cells longer than `limit` cut to `limit` characters and
    "…", the number of cells cut). A table preview never sends more than a page can show: a
    pasted essay in one cell once produced Streamlit's own "MessageSizeError" boxes."""
    import pandas as pd

    out = frame.copy()
    cut = 0
    for col in out.columns:
        s = out[col]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
            continue
        text = s.astype("str")
        long = text.str.len().gt(limit).fillna(False).to_numpy(dtype=bool)
        if long.any():
            cut += int(long.sum())
            values = s.astype(object).copy()
            values[long] = text[long].str.slice(0, limit) + "…"
            out[col] = values
    return out, cut
