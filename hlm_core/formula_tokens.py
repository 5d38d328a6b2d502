"""The formula tokenizer: text in, a list of tokens out; bad characters become ERROR tokens so
the parser reports the left-most problem first. Also the limits and message helpers the parser
and builder share. Part of `hlm_core.formula` (see its docstring for why it is hand-written).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from hlm_core.errors import FormulaError
from hlm_core.spec import R_RESERVED

# Limits that keep hostile or garbage input cheap: deep parentheses would otherwise exhaust
# Python's recursion limit, and `a*b*c*...` doubles the number of terms with every factor.
MAX_DEPTH = 50
MAX_TERMS = 500

_R_RESERVED = R_RESERVED

# Names people often try to call; the message for these does not suggest a missing '+'.
_KNOWN_FUNCTIONS = frozenset(
    "log log10 log2 log1p exp sqrt abs I poly offset scale factor as.factor as.numeric "
    "as.integer as.character ordered ns bs cut round sin cos C relevel interaction c cbind "
    "sum mean".split()
)

_EXAMPLE = "score ~ hours + (1 | school)"
_BACKTICK_HINT = (
    "If it is part of a column name, put the whole name in backticks, like `my column`."
)


# --------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class _Tok:
    """One token. ERROR tokens carry their message and are raised only when the parser reaches
    them, so the user always hears about the left-most problem first."""

    kind: str  # NAME NUMBER TILDE PLUS MINUS STAR SLASH COLON LPAREN RPAREN BAR DBAR EOF ERROR
    pos: int
    end: int
    value: str = ""


_SINGLE = {
    "~": "TILDE",
    "+": "PLUS",
    "-": "MINUS",
    "*": "STAR",
    "/": "SLASH",
    ":": "COLON",
    "(": "LPAREN",
    ")": "RPAREN",
}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "COLON"}
_DIGITS = "0123456789"


def _is_name_start(c: str) -> bool:
    if c.isascii():
        return c.isalpha() or c in "._"
    return c.isalpha()


def _is_name_char(c: str) -> bool:
    if c.isascii():
        return c.isalnum() or c in "._"
    # Letters, digits and combining accents (names saved in decomposed Unicode form).
    return c.isalnum() or unicodedata.category(c).startswith("M")


def _short(s: str, limit: int = 40) -> str:
    """Keep quoted user text in messages readable."""
    s = s.replace("\n", " ").replace("\r", " ")
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _where(pos: int) -> str:
    return f"Near character {pos + 1}: "


def _error(text: str, pos: int, message: str) -> FormulaError:
    return FormulaError(_where(pos) + message, pos, text)


def _tokenize(text: str) -> list[_Tok]:
    """Split the text into tokens. Never raises: problems become ERROR tokens.

    One reader per kind of token, chosen by the first character; each appends its token (or
    an ERROR token) and returns where the next token starts.
    """
    toks: list[_Tok] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "`":
            i = _read_backtick_name(text, i, toks)
        elif c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
            i = _read_number(text, i, toks)
        elif _is_name_start(c):
            i = _read_name(text, i, toks)
        elif c in _SINGLE or c == "|":
            i = _read_operator(text, i, toks)
        else:
            i = _read_unsupported(text, i, toks)
    toks.append(_Tok("EOF", n, n))
    return toks


def _bad(toks: list[_Tok], start: int, end: int, message: str) -> None:
    toks.append(_Tok("ERROR", start, end, message))


def _read_backtick_name(text: str, i: int, toks: list[_Tok]) -> int:
    """`my column`: any text between two backticks is one name."""
    n = len(text)
    j = text.find("`", i + 1)
    if j < 0:
        _bad(
            toks,
            i,
            n,
            "this backtick (`) is never closed. Names in backticks need one at "
            "each end, like `my column`.",
        )
        return n
    name = text[i + 1 : j]
    if name == "":
        _bad(
            toks,
            i,
            j + 1,
            "there is an empty name (``). Put the column name between the "
            "backticks, like `my column`.",
        )
    else:
        toks.append(_Tok("NAME", i, j + 1, name))
    return j + 1


def _read_number(text: str, i: int, toks: list[_Tok]) -> int:
    """A number (`0`, `1`, `.5`); digits followed by letters are a name that needs backticks."""
    n = len(text)
    j = i
    while j < n and text[j] in _DIGITS:
        j += 1
    if j < n and text[j] == ".":
        j += 1
        while j < n and text[j] in _DIGITS:
            j += 1
    if j < n and _is_name_char(text[j]):
        k = j
        while k < n and _is_name_char(text[k]):
            k += 1
        word = _short(text[i:k])
        _bad(
            toks,
            i,
            k,
            f"a name cannot start with a digit ('{word}'). If this is a column, "
            f"put it in backticks: `{word}`.",
        )
        return k
    toks.append(_Tok("NUMBER", i, j, text[i:j]))
    return j


def _read_name(text: str, i: int, toks: list[_Tok]) -> int:
    """A bare name; '.' and R's reserved words are refused with what to write instead."""
    n = len(text)
    j = i + 1
    while j < n and _is_name_char(text[j]):
        j += 1
    word = text[i:j]
    if word == ".":
        _bad(
            toks,
            i,
            j,
            "'.' (meaning 'all other columns') is not supported. List the "
            "predictors by name, joined with '+'.",
        )
    elif word in _R_RESERVED or _is_dots(word):
        _bad(
            toks,
            i,
            j,
            f"'{_short(word)}' is a reserved word in R. If it is a column name, "
            f"put it in backticks: `{_short(word)}`.",
        )
    else:
        toks.append(_Tok("NAME", i, j, word))
    return j


def _read_operator(text: str, i: int, toks: list[_Tok]) -> int:
    """One-character operators and parentheses, '|' and '||'."""
    c = text[i]
    if c in _SINGLE:
        toks.append(_Tok(_SINGLE[c], i, i + 1, c))
        return i + 1
    if i + 1 < len(text) and text[i + 1] == "|":
        toks.append(_Tok("DBAR", i, i + 2, "||"))
        return i + 2
    toks.append(_Tok("BAR", i, i + 1, "|"))
    return i + 1


def _read_unsupported(text: str, i: int, toks: list[_Tok]) -> int:
    """A character formulas don't use: say what to write instead."""
    c = text[i]
    if c == "^":
        _bad(
            toks,
            i,
            i + 1,
            "'^' (powers, or 'all interactions up to') is not supported. Write the "
            "terms out, like a + b + a:b, or make a new column for a square.",
        )
    elif c == "%":
        j = text.find("%", i + 1)
        op = text[i : j + 1] if j >= 0 else "%"
        _bad(
            toks,
            i,
            i + len(op),
            f"'{_short(op)}' is not supported. Join terms with '+', use "
            "':' for an interaction, and put nesting after '|', "
            "like (1 | school/class).",
        )
        return i + len(op)
    elif c == "=":
        _bad(
            toks,
            i,
            i + 1,
            "formulas use '~', not '=', between the outcome and the predictors, "
            f"like {_EXAMPLE}.",
        )
    elif c in "\"'\u2018\u2019\u201c\u201d":
        _bad(
            toks,
            i,
            i + 1,
            "quote marks are not used in formulas. Column names with spaces or "
            "symbols go in backticks, like `my column`.",
        )
    elif c == ",":
        _bad(toks, i, i + 1, "commas are not used in formulas. Join terms with '+'.")
    else:
        shown = f"'{c}'" if c.isprintable() else f"an invisible character (U+{ord(c):04X})"
        _bad(toks, i, i + 1, f"the character {shown} cannot be used here. {_BACKTICK_HINT}")
    return i + 1


def _is_dots(word: str) -> bool:
    """R's reserved `...`, `..1`, `..2`, ..."""
    return word == "..." or (word.startswith("..") and word[2:].isdigit() and word[2:].isascii())
