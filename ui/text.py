"""Text from a file (names, values) or from a user, made safe for Streamlit's Markdown: shown
exactly as written, never as Markdown/HTML. No streamlit import and no other ui module, so every
ui module can use it (ui.widgets re-exports both functions for the pages)."""

from __future__ import annotations

import re

__all__ = ["md_code", "md_text"]

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$:])")
_MD_LINE_START = re.compile(r"^(\s*)([-+]|\d+[.)])", re.M)  # list markers


def md_text(text: object) -> str:
    """`text` for st.markdown/st.caption/st.error exactly as written: every Markdown character
    escaped (names and values from a file are text, never Markdown; a message that says
    "write it in backticks, as `Maths score`" shows its backticks)."""
    text = _MD_SPECIAL.sub(r"\\\1", str(text))
    text = _MD_LINE_START.sub(  # "- x" -> "\- x", "1. x" -> "1\. x"
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) in "-+"
                                else m.group(2)[:-1] + "\\" + m.group(2)[-1]), text)
    return text.replace("\n", "  \n")


def md_code(text: object) -> str:
    """`text` as an inline code span, backticks included as typed: the fence is one backtick
    longer than the longest run inside (`` y ~ `Maths score` ``), so nothing breaks."""
    text = " ".join(str(text).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"
