"""User text made visible and harmless for plain-text output (terminal, notes, messages).

A column name or class ID can hold anything a file can: ESC sequences that clear a terminal or
set its title, zero-width spaces that make `score\u200b` look exactly like `score`, direction
overrides that reverse what follows. `visible` writes such characters as escapes (`\x1b`,
`\u200b`) so people see that they are there, and cuts very long text short, saying so.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["INVISIBLE", "strip_invisible", "visible"]

# C0/C1 controls and DEL, plus Unicode "format" characters (zero-width spaces and joiners,
# direction marks and overrides, the byte-order mark, soft hyphens, tag characters)
INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def _escape(match: re.Match) -> str:
    c = match.group(0)
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else (
        f"\\U{code:08x}")


def visible(text: object, limit: int | None = None, keep: str = "") -> str:
    """`text` with invisible and control characters written as escapes (except those in
    `keep`, e.g. "\\n\\t" for our own line breaks), shortened to `limit` characters with '…'."""
    s = str(text)
    if limit is not None and len(s) > limit:
        s = s[:limit] + "…"
    if keep:
        return INVISIBLE.sub(lambda m: m.group(0) if m.group(0) in keep else _escape(m), s)
    return INVISIBLE.sub(_escape, s)


def strip_invisible(text: str) -> str:
    """`text` without zero-width and other format characters (Unicode category Cf) and
    controls; letters, digits, spaces and emoji stay."""
    out = INVISIBLE.sub("", text)
    if out.isascii():
        return out
    return "".join(c for c in out if unicodedata.category(c) != "Cf")
