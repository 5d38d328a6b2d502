"""Transformations typed in a formula — `log(x)`, `I(x^2)`, `poly(x, 2)`, `scale(x)`,
`factor(x)`, `offset(x)` — read and computed by us, never evaluated as code.

Why our own: the formula box takes text from anyone, so `log(...)` can't be handed to R or
Python to run. A call is read by a tiny parser that knows only numbers, column names, the
operators + - * / ^, parentheses and a fixed list of functions; everything is computed with
numpy from that tree. The term it makes carries lme4's name for it (`log(x)`, `I(x^2)`,
`I(x * z)`, `poly(x, 2)1`, `factor(x)2`: R's deparse of the call), so tables line up with R's.

A transformed term is a `Derived` label: a str (so specs, terms and tables treat it like any
column name) that also carries its parsed call, which the design step computes into a column
of that name before the model frame is built (on all rows, as R's model.frame does).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hlm_core.errors import FormulaError, ModelError
from hlm_core.spec import Computed, is_syntactic

__all__ = [
    "CALLS",
    "Derived",
    "add_derived_columns",
    "is_derived",
    "parse_call",
    "source_columns",
]

MATH = ("log", "log10", "exp", "sqrt")
CALLS = frozenset({*MATH, "I", "scale", "factor", "poly", "offset"})
MAX_POLY = 10

HOW_IN_APP = (
    "For other changes make a new column in your data and use it (to treat a number such as "
    "a class code as a category, add it to 'Categorical columns' on the Data page)."
)


@dataclass(frozen=True)
class Expr:
    """One node: "num" (value = R's text of the number), "col" (value = column name),
    "neg", "paren", "bin" (value = operator) or "call" (value = function name)."""

    kind: str
    value: str = ""
    args: tuple[Expr, ...] = ()


class Derived(Computed):
    """A term label such as `log(hours)` that stands for a computed column (see module doc).
    `poly(x, 2)` makes two, `poly(x, 2)1` and `poly(x, 2)2` (piece 1 and 2), as R's names."""

    expr: Expr
    piece: int

    def __new__(cls, label: str, expr: Expr, piece: int = 0) -> Derived:
        obj = super().__new__(cls, label)
        obj.expr = expr
        obj.piece = piece
        return obj

    def __reduce__(self):  # keep the call through pickling (caches, process pools)
        return (Derived, (str(self), self.expr, self.piece))

    @property
    def function(self) -> str:
        return self.expr.value

    @property
    def call_text(self) -> str:
        """The call as written in a formula (`poly(x, 2)` for each of its pieces)."""
        return deparse(self.expr)


def is_derived(name: object) -> bool:
    return isinstance(name, Derived)


# --------------------------------------------------------------------------- reading


@dataclass
class _Tok:
    kind: str  # NUM NAME OP LP RP COMMA END
    value: str
    pos: int


def _tokens(text: str, start: int, end: int) -> list[_Tok]:
    out: list[_Tok] = []
    i = start
    while i < end:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "`":
            j = text.find("`", i + 1)
            if j < 0 or j >= end or j == i + 1:
                raise _err(text, i, "a name in backticks is not closed or is empty.")
            out.append(_Tok("NAME", text[i + 1 : j], i))
            i = j + 1
        elif c.isdigit() or (c == "." and i + 1 < end and text[i + 1].isdigit()):
            j = i
            while j < end and (text[j].isdigit() or text[j] == "."):
                j += 1
            if j < end and text[j] in "eE":
                k = j + 1
                if k < end and text[k] in "+-":
                    k += 1
                if k < end and text[k].isdigit():
                    j = k
                    while j < end and text[j].isdigit():
                        j += 1
            word = text[i:j]
            try:
                float(word)
            except ValueError:
                raise _err(text, i, f"'{word}' is not a number.") from None
            out.append(_Tok("NUM", word, i))
            i = j
        elif c.isalpha() or c == "." or c == "_":
            j = i + 1
            while j < end and (text[j].isalnum() or text[j] in "._"):
                j += 1
            out.append(_Tok("NAME", text[i:j], i))
            i = j
        elif c in "+-*/^":
            out.append(_Tok("OP", c, i))
            i += 1
        elif c in "(),":
            out.append(_Tok({"(": "LP", ")": "RP", ",": "COMMA"}[c], c, i))
            i += 1
        else:
            raise _err(text, i, f"'{c}' can't be used inside a function in the formula.")
    out.append(_Tok("END", "", end))
    return out


def _err(text: str, pos: int, message: str) -> FormulaError:
    return FormulaError(f"Near character {pos + 1}: {message}", pos, text)


class _Reader:
    """R's precedence: + - < * / < unary minus < ^ (right-associative)."""

    def __init__(self, text: str, toks: list[_Tok]):
        self.text, self.toks, self.i = text, toks, 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expect(self, kind: str, what: str) -> _Tok:
        t = self.peek()
        if t.kind != kind:
            raise _err(self.text, t.pos, f"expected {what} here.")
        return self.take()

    def sum(self) -> Expr:
        left = self.product()
        while self.peek().kind == "OP" and self.peek().value in "+-":
            op = self.take().value
            left = Expr("bin", op, (left, self.product()))
        return left

    def product(self) -> Expr:
        left = self.unary()
        while self.peek().kind == "OP" and self.peek().value in "*/":
            op = self.take().value
            left = Expr("bin", op, (left, self.unary()))
        return left

    def unary(self) -> Expr:
        if self.peek().kind == "OP" and self.peek().value == "-":
            self.take()
            return Expr("neg", "", (self.unary(),))
        return self.power()

    def power(self) -> Expr:
        base = self.atom()
        if self.peek().kind == "OP" and self.peek().value == "^":
            self.take()
            return Expr("bin", "^", (base, self.unary()))
        return base

    def atom(self) -> Expr:
        t = self.take()
        if t.kind == "NUM":
            return Expr("num", _r_number(float(t.value)))
        if t.kind == "LP":
            inner = self.sum()
            self.expect("RP", "')'")
            return Expr("paren", "", (inner,))
        if t.kind == "NAME" and self.peek().kind == "LP":
            if t.value not in MATH:
                raise _err(
                    self.text, t.pos,
                    f"'{t.value}()' can't be used inside another function; only "
                    f"{', '.join(MATH)} can. " + HOW_IN_APP,
                )
            self.take()
            inner = self.sum()
            self.expect("RP", "')'")
            return Expr("call", t.value, (inner,))
        if t.kind == "NAME":
            return Expr("col", t.value)
        raise _err(self.text, t.pos, "expected a column name or a number here.")


def _r_number(v: float) -> str:
    """A number as R's deparse writes it (15 significant digits, fixed unless scientific is
    shorter): 2 -> "2", 0.5 -> "0.5", 100000 -> "1e+05"."""
    if v == 0:
        return "0"
    sci = f"{v:.14e}"
    mant, exp = sci.split("e")
    mant = mant.rstrip("0").rstrip(".")
    sci = f"{mant}e{int(exp):+03d}"
    fixed = f"{v:.15g}" if "e" not in f"{v:.15g}" else f"{v:.{max(0, 14 - int(exp))}f}"
    if "." in fixed:
        fixed = fixed.rstrip("0").rstrip(".")
    return sci if len(fixed) > len(sci) else fixed


def deparse(e: Expr) -> str:
    """R's deparse of the expression: `x + 1`, `x^2`, `x * z`, `x/2`, `-x`, `(x + 1)^2`."""
    if e.kind == "num":
        return e.value
    if e.kind == "col":
        return e.value if is_syntactic(e.value) else f"`{e.value}`"
    if e.kind == "neg":
        return "-" + deparse(e.args[0])
    if e.kind == "paren":
        return f"({deparse(e.args[0])})"
    if e.kind == "bin":
        a, b = deparse(e.args[0]), deparse(e.args[1])
        return f"{a}{e.value}{b}" if e.value in "/^" else f"{a} {e.value} {b}"
    return f"{e.value}({', '.join(deparse(a) for a in e.args)})"


def parse_call(text: str, name_pos: int, open_pos: int) -> tuple[list[Derived], int]:
    """Read `name(...)` whose '(' is at `open_pos`; returns the Derived labels (one, or one per
    degree for poly) and the position just after the closing ')'. Raises FormulaError (with
    the place) for anything else."""
    name = text[name_pos:open_pos].strip()
    close = _closing(text, open_pos)
    toks = _tokens(text, open_pos + 1, close)
    reader = _Reader(text, toks)
    if toks[0].kind == "END":
        raise _err(text, open_pos, f"'{name}()' needs a column inside the parentheses.")
    if name == "poly":
        col = reader.expect("NAME", "a column name (poly(x, 2))")
        reader.expect("COMMA", "', ' and the degree, as in poly(x, 2)")
        deg = reader.expect("NUM", "the degree, a whole number (poly(x, 2))")
        k = float(deg.value)
        if k != int(k) or not 1 <= k <= MAX_POLY:
            raise _err(text, deg.pos, f"the degree of poly() must be a whole number 1-{MAX_POLY}.")
        expr = Expr("call", "poly", (Expr("col", col.value), Expr("num", str(int(k)))))
    elif name == "factor":
        col = reader.expect("NAME", "a column name, as in factor(grade)")
        expr = Expr("call", "factor", (Expr("col", col.value),))
    else:
        expr = Expr("call", name, (reader.sum(),))
    end = reader.peek()
    if end.kind != "END":
        raise _err(text, end.pos, f"'{text[end.pos]}' can't go here inside {name}().")
    label = deparse(expr)
    if name == "poly":
        k = int(expr.args[1].value)
        return [Derived(f"{label}{j}", expr, j) for j in range(1, k + 1)], close + 1
    return [Derived(label, expr)], close + 1


def _closing(text: str, open_pos: int) -> int:
    depth, i = 0, open_pos
    while i < len(text):
        c = text[i]
        if c == "`":
            j = text.find("`", i + 1)
            i = len(text) if j < 0 else j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _err(text, open_pos, "this '(' is never closed. Add a ')' where the call ends.")


# --------------------------------------------------------------------------- computing


def _columns(e: Expr) -> list[str]:
    if e.kind == "col":
        return [e.value]
    return [c for a in e.args for c in _columns(a)]


def source_columns(names) -> list[str]:
    """The data columns behind a list of names (a Derived stands for the columns it uses)."""
    out: dict[str, None] = {}
    for n in names:
        for c in _columns(n.expr) if is_derived(n) else [n]:
            out.setdefault(c, None)
    return list(out)


def _number_column(frame: pd.DataFrame, col: str, inside: str) -> np.ndarray:
    if col not in frame.columns:
        close = difflib.get_close_matches(col, [str(c) for c in frame.columns], n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ModelError(f"There is no column called '{col}' in the data (in {inside}).{hint}")
    s = frame[col]
    if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        raise ModelError(
            f"'{col}' holds text or categories, so {inside} can't be computed. Use a numeric "
            "column (a column of numbers read as categories: remove it from 'Categorical "
            "columns' on the Data page)."
        )
    return s.to_numpy(dtype=float, na_value=np.nan)


def _value(e: Expr, frame: pd.DataFrame, inside: str) -> np.ndarray:
    n = len(frame)
    if e.kind == "num":
        return np.full(n, float(e.value))
    if e.kind == "col":
        return _number_column(frame, e.value, inside)
    if e.kind == "paren":
        return _value(e.args[0], frame, inside)
    if e.kind == "neg":
        return -_value(e.args[0], frame, inside)
    if e.kind == "bin":
        a, b = (_value(x, frame, inside) for x in e.args)
        with np.errstate(all="ignore"):
            return {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
                    "^": np.power}[e.value](a, b)
    x = _value(e.args[0], frame, inside)
    with np.errstate(all="ignore"):
        return {"log": np.log, "log10": np.log10, "exp": np.exp, "sqrt": np.sqrt}[e.value](x)


def _poly(x: np.ndarray, degree: int, label: str) -> np.ndarray:
    """R's poly(x, degree): orthonormal polynomials from the QR of the centred Vandermonde
    matrix (sign fixed by R's convention of a positive diagonal of R)."""
    if np.isnan(x).any():
        raise ModelError(
            f"{label} can't be computed because the column has missing values (R's poly() "
            "refuses them too). Remove those rows first, or use I(x^2) terms instead."
        )
    if degree >= len(np.unique(x)):
        raise ModelError(
            f"{label}: the degree must be less than the number of different values "
            f"({len(np.unique(x))})."
        )
    xc = x - x.mean()
    V = np.vander(xc, degree + 1, increasing=True)
    Q, R = np.linalg.qr(V)
    Z = Q * np.diag(R)  # as R: raw <- qr.qy(QR, diag(diag(R)))
    norm2 = (Z**2).sum(axis=0)
    return (Z / np.sqrt(norm2))[:, 1:]


def _factor(frame: pd.DataFrame, col: str, label: str) -> pd.Series:
    from hlm_core.factors import factorize

    if col not in frame.columns:
        _number_column(frame, col, label)  # raises the no-such-column message
    codes, levels = factorize(frame[col])
    cat = pd.Categorical.from_codes(codes, categories=levels, ordered=True)
    return pd.Series(cat, index=frame.index)


def _math_note(label: str, bad: int) -> str:
    return (
        f"{label} is not defined for {bad:,} row{'s' if bad != 1 else ''} (for example the log "
        "or square root of a number below 0); they were left out, as R does."
    )


def add_derived_columns(frame: pd.DataFrame, names) -> tuple[pd.DataFrame, list[str]]:
    """`frame` plus one column per Derived in `names` (several for poly), computed on all rows
    as R's model.frame does, and notes for values that could not be computed."""
    derived = [n for n in dict.fromkeys(names) if is_derived(n)]
    if not derived:
        return frame, []
    out = frame.copy(deep=False)
    notes: list[str] = []
    polys: dict[str, np.ndarray] = {}
    for name in derived:
        if name in frame.columns:
            raise ModelError(
                f"The data already has a column called '{name}', the name of the computed "
                "term. Rename that column first."
            )
        fn, args = name.function, name.expr.args
        if fn == "factor":
            out[str(name)] = _factor(frame, args[0].value, name)
            continue
        if fn == "poly":
            call = name.call_text
            if call not in polys:
                polys[call] = _poly(_number_column(frame, args[0].value, call),
                                    int(args[1].value), call)
            out[str(name)] = polys[call][:, name.piece - 1]
            continue
        x = _value(args[0], frame, name)
        if fn == "scale":
            ok = ~np.isnan(x)
            x = (x - x[ok].mean()) / x[ok].std(ddof=1)
        elif fn in MATH:
            x = _value(name.expr, frame, name)
        source_missing = np.zeros(len(frame), dtype=bool)
        for c in _columns(name.expr):
            source_missing |= frame[c].isna().to_numpy()
        nan = np.isnan(x) & ~source_missing
        if nan.any():
            notes.append(_math_note(name, int(nan.sum())))
        if np.isinf(x).any():
            raise ModelError(
                f"{name} is infinite for {int(np.isinf(x).sum()):,} rows (for example the log "
                "of 0). Add a small number first, as in log(x + 1), or leave those rows out."
            )
        out[str(name)] = x
    return out, notes


def unsupported_call_message(name: str) -> str:
    """For a function we don't compute: what to do instead."""
    supported = "log, log10, exp, sqrt, I(x^2), I(x * z), scale, factor, poly(x, 2) and offset"
    return (
        f"'{name}()' is not one of the functions the formula can compute ({supported}). "
        + HOW_IN_APP
    )
