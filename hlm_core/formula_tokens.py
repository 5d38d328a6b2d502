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
    """Split the text into tokens. Never raises: problems become ERROR tokens."""
    toks: list[_Tok] = []
    n = len(text)
    i = 0

    def bad(start: int, end: int, message: str) -> None:
        toks.append(_Tok("ERROR", start, end, message))

    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                bad(
                    i,
                    n,
                    "this backtick (`) is never closed. Names in backticks need one at "
                    "each end, like `my column`.",
                )
                break
            name = text[i + 1 : j]
            if name == "":
                bad(
                    i,
                    j + 1,
                    "there is an empty name (``). Put the column name between the "
                    "backticks, like `my column`.",
                )
            else:
                toks.append(_Tok("NAME", i, j + 1, name))
            i = j + 1
            continue
        if c in _DIGITS or (c == "." and i + 1 < n and text[i + 1] in _DIGITS):
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
                bad(
                    i,
                    k,
                    f"a name cannot start with a digit ('{word}'). If this is a column, "
                    f"put it in backticks: `{word}`.",
                )
                i = k
            else:
                toks.append(_Tok("NUMBER", i, j, text[i:j]))
                i = j
            continue
        if _is_name_start(c):
            j = i + 1
            while j < n and _is_name_char(text[j]):
                j += 1
            word = text[i:j]
            if word == ".":
                bad(
                    i,
                    j,
                    "'.' (meaning 'all other columns') is not supported. List the "
                    "predictors by name, joined with '+'.",
                )
            elif word in _R_RESERVED or _is_dots(word):
                bad(
                    i,
                    j,
                    f"'{_short(word)}' is a reserved word in R. If it is a column name, "
                    f"put it in backticks: `{_short(word)}`.",
                )
            else:
                toks.append(_Tok("NAME", i, j, word))
            i = j
            continue
        if c in _SINGLE:
            toks.append(_Tok(_SINGLE[c], i, i + 1, c))
            i += 1
            continue
        if c == "|":
            if i + 1 < n and text[i + 1] == "|":
                toks.append(_Tok("DBAR", i, i + 2, "||"))
                i += 2
            else:
                toks.append(_Tok("BAR", i, i + 1, "|"))
                i += 1
            continue
        if c == "^":
            bad(
                i,
                i + 1,
                "'^' (powers, or 'all interactions up to') is not supported. Write the "
                "terms out, like a + b + a:b, or make a new column for a square.",
            )
        elif c == "%":
            j = text.find("%", i + 1)
            op = text[i : j + 1] if j >= 0 else "%"
            bad(
                i,
                i + len(op),
                f"'{_short(op)}' is not supported. Join terms with '+', use "
                "':' for an interaction, and put nesting after '|', "
                "like (1 | school/class).",
            )
            i = i + len(op)
            continue
        elif c == "=":
            bad(
                i,
                i + 1,
                "formulas use '~', not '=', between the outcome and the predictors, "
                f"like {_EXAMPLE}.",
            )
        elif c in "\"'\u2018\u2019\u201c\u201d":
            bad(
                i,
                i + 1,
                "quote marks are not used in formulas. Column names with spaces or "
                "symbols go in backticks, like `my column`.",
            )
        elif c == ",":
            bad(i, i + 1, "commas are not used in formulas. Join terms with '+'.")
        else:
            shown = f"'{c}'" if c.isprintable() else f"an invisible character (U+{ord(c):04X})"
            bad(i, i + 1, f"the character {shown} cannot be used here. {_BACKTICK_HINT}")
        i += 1
    toks.append(_Tok("EOF", n, n))
    return toks


def _is_dots(word: str) -> bool:
    """R's reserved `...`, `..1`, `..2`, ..."""
    return word == "..." or (word.startswith("..") and word[2:].isdigit() and word[2:].isascii())
