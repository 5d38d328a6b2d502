"""Our own reader and writer for lme4 model formulas: text in, `ModelSpec` out, and back.

Why hand-written: the formula box takes text a user typed, and column names that came from an
uploaded file. Handing that text to R, patsy or formulaic would run it as code (patsy and
formulaic evaluate terms as Python expressions), so a column called
`__import__('os').system(...)` could run a command. Here the text is only ever *read*: a small
tokenizer and a recursive-descent parser turn it into plain name strings, and nothing from the
text is executed, imported or looked up.

Why R's ordering rules: the term names must equal lme4's so that results can be checked against
R. R's `terms()` orders the variables by first appearance in the fixed part (outcome first),
writes each interaction's variables in that order, removes duplicate terms and then sorts terms
stably by order (main effects, then two-way, then three-way interactions). We do the same, and
do it again inside every random-effect bar, because lme4 builds each bar's columns with
`model.matrix(~ lhs)`.

Why the messages read the way they do: a `FormulaError` is shown to a teacher as-is. Each says
where the problem is ("Near character 14: ...", counted from 1 for people) and what to change;
`FormulaError.position` holds the same place as a 0-based offset for code that underlines it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from hlm_core.errors import FormulaError
from hlm_core.spec import R_RESERVED, ModelSpec, RandomEffect, Term, is_syntactic

__all__ = ["fixed_term_label", "format_formula", "parse_formula", "quote_formula_name"]

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


# --------------------------------------------------------------------------------------------
# Syntax tree. n-ary nodes keep recursion depth bounded by parenthesis depth, not formula length.


@dataclass
class _Name:
    name: str
    pos: int
    end: int


@dataclass
class _Num:
    text: str
    pos: int
    end: int


@dataclass
class _Paren:
    inner: _Node
    pos: int
    end: int


@dataclass
class _Sum:
    items: list[tuple[str, int, _Node]]  # (sign "+"/"-", position of the sign or -1, term)
    pos: int
    end: int


@dataclass
class _Prod:
    first: _Node
    rest: list[tuple[str, int, _Node]]  # ("STAR"/"SLASH", operator position, operand)
    pos: int
    end: int


@dataclass
class _Colon:
    items: list[_Node]
    pos: int
    end: int


@dataclass
class _Bar:
    double: bool
    lhs: _Node
    rhs: _Node
    pos: int  # the '|'
    end: int


_Node = _Name | _Num | _Paren | _Sum | _Prod | _Colon | _Bar


class _Parser:
    """Recursive descent with R's precedence: '|' < '+' '-' < '*' '/' < ':'."""

    def __init__(self, text: str, toks: list[_Tok]):
        self.text = text
        self.toks = toks  # toks[0] is the '~'
        self.i = 1
        self.depth = 0

    def fail(self, pos: int, message: str) -> FormulaError:
        return _error(self.text, pos, message)

    def peek(self) -> _Tok:
        t = self.toks[self.i]
        if t.kind == "ERROR":
            raise self.fail(t.pos, t.value)
        return t

    def take(self) -> _Tok:
        t = self.peek()
        self.i += 1
        return t

    def show(self, t: _Tok) -> str:
        return _short(self.text[t.pos : t.end])

    def parse(self) -> _Node:
        node = self.bar()
        t = self.peek()
        if t.kind != "EOF":
            raise self.unexpected(t, None)
        return node

    def bar(self) -> _Node:
        left = self.sum()
        while self.peek().kind in ("BAR", "DBAR"):
            op = self.take()
            right = self.sum()
            left = _Bar(op.kind == "DBAR", left, right, op.pos, right.end)
        return left

    def sum(self) -> _Node:
        start = self.peek().pos
        items: list[tuple[str, int, _Node]] = []
        sign, sign_pos = "+", -1
        if self.peek().kind == "MINUS":
            sign, sign_pos = "-", self.take().pos
        items.append((sign, sign_pos, self.prod()))
        while self.peek().kind in ("PLUS", "MINUS"):
            op = self.take()
            sign, sign_pos = ("+" if op.kind == "PLUS" else "-"), op.pos
            if op.kind == "PLUS" and self.peek().kind == "MINUS":  # `x + -1`
                sign, sign_pos = "-", self.take().pos
            items.append((sign, sign_pos, self.prod()))
        if len(items) == 1 and sign == "+":
            return items[0][2]
        return _Sum(items, start, items[-1][2].end)

    def prod(self) -> _Node:
        first = self.colon()
        rest: list[tuple[str, int, _Node]] = []
        while self.peek().kind in ("STAR", "SLASH"):
            op = self.take()
            rest.append((op.kind, op.pos, self.colon()))
        if not rest:
            return first
        return _Prod(first, rest, first.pos, rest[-1][2].end)

    def colon(self) -> _Node:
        items = [self.atom()]
        while self.peek().kind == "COLON":
            self.take()
            items.append(self.atom())
        if len(items) == 1:
            return items[0]
        return _Colon(items, items[0].pos, items[-1].end)

    def atom(self) -> _Node:
        t = self.peek()
        if t.kind in ("NAME", "NUMBER"):
            nxt = self.toks[self.i + 1]
            if nxt.kind == "LPAREN":
                raise self.function_call(t)
            self.i += 1
            if t.kind == "NAME":
                return _Name(t.value, t.pos, t.end)
            return _Num(t.value, t.pos, t.end)
        if t.kind == "LPAREN":
            if self.depth >= MAX_DEPTH:
                raise self.fail(
                    t.pos,
                    f"there are more than {MAX_DEPTH} parentheses inside "
                    "each other. Remove the extra parentheses.",
                )
            self.i += 1
            self.depth += 1
            if self.peek().kind == "RPAREN":
                raise self.fail(
                    t.pos,
                    "there is nothing inside these parentheses '()'. "
                    "Put a term inside them or remove them.",
                )
            inner = self.bar()
            close = self.peek()
            if close.kind != "RPAREN":
                raise self.unexpected(close, t)
            self.i += 1
            self.depth -= 1
            return _Paren(inner, t.pos, close.end)
        raise self.missing_operand(t)

    def function_call(self, t: _Tok) -> FormulaError:
        name = self.show(t)
        msg = (
            f"'{name}(' looks like a function. Functions such as log() are not supported in "
            "the formula; make a new column in your data instead."
        )
        if t.kind == "NAME" and t.value not in _KNOWN_FUNCTIONS:
            msg += f" If '{name}' is a column and a new term starts at '(', put '+' before the '('."
        elif t.kind == "NUMBER":
            msg = (
                f"the number '{name}' is followed by '('. Put '+' between terms, like "
                "1 + (1 | school)."
            )
        return self.fail(t.pos, msg)

    def missing_operand(self, t: _Tok) -> FormulaError:
        """A term was expected at `t` but something else is there: say what is missing."""
        prev = self.toks[self.i - 1]
        if t.kind == "TILDE":
            return self.two_tildes(t)
        if prev.kind == "TILDE":
            if t.kind == "EOF":
                return self.fail(
                    prev.pos,
                    "nothing comes after '~'. Add the predictors after "
                    "it, or 1 for a model without predictors, like "
                    "score ~ 1 + (1 | school).",
                )
            if t.kind in ("BAR", "DBAR"):
                return self.bar_needs_parens(t)
            return self.fail(
                t.pos,
                f"'{self.show(t)}' has nothing in front of it. Start the "
                "right side with a column name, like score ~ hours.",
            )
        if prev.kind in ("BAR", "DBAR"):
            return self.fail(
                prev.pos,
                f"nothing comes after '{prev.value}'. Put the column that "
                "defines the groups after it, like (1 | school).",
            )
        if t.kind in ("BAR", "DBAR"):
            if prev.kind == "LPAREN":
                return self.fail(
                    t.pos,
                    f"nothing comes before '{t.value}'. Write 1 for a random "
                    "intercept, like (1 | school), or name the slope, like "
                    "(hours | school).",
                )
            return self.fail(
                prev.pos,
                f"nothing comes between '{prev.value}' and "
                f"'{t.value}'. Add a term or remove the '{prev.value}'.",
            )
        if prev.kind in _OPERATORS:
            if t.kind == "EOF":
                return self.fail(
                    prev.pos,
                    f"the formula ends with '{prev.value}'. Add a term "
                    f"after it or remove the '{prev.value}'.",
                )
            if t.kind == "RPAREN":
                return self.fail(
                    prev.pos,
                    f"nothing comes between '{prev.value}' and ')'. Add "
                    f"a term or remove the '{prev.value}'.",
                )
            return self.fail(
                t.pos,
                f"'{prev.value}' is followed by '{self.show(t)}'. Put a "
                "column name between them, or remove one of them.",
            )
        if t.kind == "EOF":
            return self.fail(t.pos, "the formula ends too early. Finish the last term.")
        return self.fail(
            t.pos,
            f"'{self.show(t)}' has nothing in front of it. Put a column name "
            "before it, or remove it.",
        )

    def unexpected(self, t: _Tok, opened: _Tok | None) -> FormulaError:
        """A complete term ended and `t` cannot follow it (or a '(' is still open)."""
        if t.kind == "TILDE":
            return self.two_tildes(t)
        if t.kind == "EOF" and opened is not None:
            return self.fail(
                opened.pos, "this '(' is never closed. Add a ')' where the bracketed part ends."
            )
        if t.kind == "RPAREN":
            return self.fail(
                t.pos,
                "this ')' has no matching '('. Remove it or add a '(' "
                "where the bracketed part starts.",
            )
        if t.kind in ("NAME", "NUMBER", "LPAREN"):
            prev = self.toks[self.i - 1]
            return self.fail(
                t.pos,
                f"something is missing between '{self.show(prev)}' and "
                f"'{self.show(t)}'. Put '+' between terms, or ':' for an "
                "interaction.",
            )
        return self.fail(t.pos, f"'{self.show(t)}' cannot go here. {_BACKTICK_HINT}")

    def two_tildes(self, t: _Tok) -> FormulaError:
        return self.fail(
            t.pos,
            "the formula has a second '~'. Use exactly one '~', between the "
            f"outcome and the predictors, like {_EXAMPLE}.",
        )

    def bar_needs_parens(self, t: _Tok) -> FormulaError:
        return self.fail(
            t.pos,
            f"'{t.value}' must be inside parentheses together with its "
            "grouping column, like (1 | school) or (hours | school).",
        )


# --------------------------------------------------------------------------------------------
# From syntax tree to terms


class _VarOrder:
    """Variables in order of first appearance: R's ordering for the labels of interactions."""

    def __init__(self, first: str | None = None):
        self.index: dict[str, int] = {}
        if first is not None:
            self.add(first)

    def add(self, name: str) -> None:
        self.index.setdefault(name, len(self.index))

    def terms(self, found: Iterable[frozenset[str]]) -> tuple[Term, ...]:
        """R's `terms()`: drop repeats, sort stably by order, write variables in order."""
        unique = list(dict.fromkeys(found))
        unique.sort(key=len)
        return tuple(Term(tuple(sorted(s, key=self.index.__getitem__))) for s in unique)


def _items(node: _Node) -> list[tuple[str, int, _Node]]:
    return node.items if isinstance(node, _Sum) else [("+", -1, node)]


def _bar_in(node: _Node) -> _Bar | None:
    """The bar when `node` is `( ... | ... )`, possibly with redundant extra parentheses."""
    while isinstance(node, _Paren):
        node = node.inner
    return node if isinstance(node, _Bar) else None


def _dedupe(terms: list[frozenset[str]]) -> list[frozenset[str]]:
    return list(dict.fromkeys(terms))


class _Builder:
    """Checks the meaning of the tree (what may go where) and builds the ModelSpec parts."""

    def __init__(self, text: str, outcome: str):
        self.text = text
        self.outcome = outcome

    def fail(self, pos: int, message: str) -> FormulaError:
        return _error(self.text, pos, message)

    def snippet(self, node: _Node) -> str:
        return _short(self.text[node.pos : node.end], 60)

    def rhs(self, root: _Node) -> tuple[bool, tuple[Term, ...], tuple[RandomEffect, ...]]:
        if isinstance(root, _Bar):
            raise self.fail(
                root.pos,
                f"'{'||' if root.double else '|'}' must be inside "
                "parentheses together with its grouping column, like "
                "(1 | school) or (hours | school).",
            )
        intercept = True
        order = _VarOrder(self.outcome)
        found: dict[frozenset[str], None] = {}  # an ordered set: R keeps the first of repeats
        random: list[RandomEffect] = []
        for sign, sign_pos, item in _items(root):
            bar = _bar_in(item)
            if bar is not None:
                if sign == "-":
                    raise self.fail(
                        sign_pos,
                        "a random part cannot be removed with '-'. Add it "
                        "with '+', or leave it out.",
                    )
                random.append(self.random_effect(bar, item))
            elif isinstance(item, _Num):
                intercept = self.intercept(sign, sign_pos, item)
            elif sign == "-":
                raise self.minus(sign_pos)
            else:
                found.update(dict.fromkeys(self.expand(item, order, in_bar=False)))
                self.check_size(len(found), item.pos)
        return intercept, order.terms(found), tuple(random)

    def minus(self, pos: int) -> FormulaError:
        return self.fail(
            pos,
            "'-' can only be used as '- 1', to drop the intercept. To leave a "
            "predictor out, delete it from the formula.",
        )

    def check_size(self, n: int, pos: int) -> None:
        if n > MAX_TERMS:
            raise self.fail(
                pos,
                f"this formula expands to more than {MAX_TERMS} terms. Use "
                "fewer '*' and write the interactions you need with ':'.",
            )

    def intercept(self, sign: str, sign_pos: int, num: _Num) -> bool:
        """`1` keeps the intercept, `0` or `- 1` drops it; the last one written wins, as in R."""
        try:  # the token is digits with at most one '.', so this only converts a number
            value: float | None = float(num.text)
        except ValueError:  # pragma: no cover - the tokenizer only makes valid numbers
            value = None
        if value not in (0.0, 1.0):
            value = None
        if value is None:
            raise self.fail(
                num.pos,
                f"the number {_short(num.text)} cannot be used here. Only "
                "1 (keep the intercept) or 0 (drop it) may stand alone "
                "between '+' signs; for anything else make a new column.",
            )
        if sign == "-":
            if value == 0:
                raise self.fail(
                    sign_pos,
                    "'- 0' is not meaningful. Write '+ 1' to keep the "
                    "intercept or '+ 0' to drop it.",
                )
            return False
        return value == 1

    def expand(self, node: _Node, order: _VarOrder, in_bar: bool) -> list[frozenset[str]]:
        """The terms a fixed expression stands for, following R's rules for ':' and '*'."""
        if isinstance(node, _Name):
            self.not_outcome(node)
            order.add(node.name)
            return [frozenset((node.name,))]
        if isinstance(node, _Num):
            raise self.fail(
                node.pos,
                f"the number {_short(node.text)} cannot be part of a term. "
                "1 or 0 may only stand alone between '+' signs, to keep or "
                "drop the intercept.",
            )
        if isinstance(node, _Bar):
            raise self.bar_inside_bar(node) if in_bar else self.bar_misplaced(node)
        if isinstance(node, _Paren):
            bar = _bar_in(node)
            if bar is not None:
                raise self.bar_inside_bar(bar) if in_bar else self.bar_misplaced(bar)
            return self.expand(node.inner, order, in_bar)
        if isinstance(node, _Sum):
            result: list[frozenset[str]] = []
            for sign, sign_pos, item in node.items:
                if sign == "-":
                    raise self.minus(sign_pos)
                if isinstance(item, _Num):
                    raise self.fail(
                        item.pos,
                        f"the number {_short(item.text)} cannot go inside "
                        "parentheses with other terms. Write 1 or 0 on "
                        "its own, outside the parentheses.",
                    )
                result.extend(self.expand(item, order, in_bar))
            return _dedupe(result)
        if isinstance(node, _Colon):
            result = self.expand(node.items[0], order, in_bar)
            for item in node.items[1:]:
                right = self.expand(item, order, in_bar)
                self.check_size(len(result) * len(right), item.pos)
                result = _dedupe([a | b for a in result for b in right])
            return result
        if isinstance(node, _Prod):
            result = self.expand(node.first, order, in_bar)
            for op, op_pos, item in node.rest:
                if op == "SLASH":
                    raise self.fail(
                        op_pos,
                        "'/' (nesting) can only be used for the grouping, "
                        "after '|', like (1 | school/class). For fixed "
                        "effects write a + a:b instead of a/b.",
                    )
                right = self.expand(item, order, in_bar)
                self.check_size(len(result) + len(right) + len(result) * len(right), op_pos)
                result = _dedupe(result + right + [a | b for a in result for b in right])
            return result
        raise self.fail(node.pos, "this part of the formula could not be read.")  # pragma: no cover

    def not_outcome(self, node: _Name) -> None:
        if node.name == self.outcome:
            raise self.fail(
                node.pos,
                f"the outcome '{_short(node.name)}' also appears on the "
                "right side of '~'. A column cannot predict itself; "
                "remove it from the right side.",
            )

    def bar_misplaced(self, bar: _Bar) -> FormulaError:
        return self.fail(
            bar.pos,
            "a random part like (1 | school) cannot be combined with ':' "
            "or '*' or put inside other parentheses. Add it on its own "
            "with '+'.",
        )

    def bar_inside_bar(self, bar: _Bar) -> FormulaError:
        return self.fail(
            bar.pos,
            "there is a '|' inside another random part. Write each random "
            "part separately, joined with '+', like (1 | school) + "
            "(1 | class).",
        )

    def random_effect(self, bar: _Bar, outer: _Node) -> RandomEffect:
        """One `(lhs | grouping)` part; the lhs follows the same term rules as the fixed part."""
        if isinstance(bar.lhs, _Bar):
            raise self.bar_inside_bar(bar)
        intercept = True
        order = _VarOrder()
        found: dict[frozenset[str], None] = {}
        for sign, sign_pos, item in _items(bar.lhs):
            inner = _bar_in(item)
            if inner is not None:
                raise self.bar_inside_bar(inner)
            if isinstance(item, _Num):
                intercept = self.intercept(sign, sign_pos, item)
            elif sign == "-":
                raise self.minus(sign_pos)
            else:
                found.update(dict.fromkeys(self.expand(item, order, in_bar=True)))
                self.check_size(len(found), item.pos)
        slopes = order.terms(found)
        if not intercept and not slopes:
            raise self.fail(
                outer.pos,
                f"the random part {self.snippet(outer)} has neither an "
                "intercept nor a slope. Use 1 for a random intercept, "
                "like (1 | school).",
            )
        grouping, kind = self.grouping(bar.rhs)
        return RandomEffect(grouping, kind, intercept, slopes, correlated=not bar.double)

    def grouping(self, node: _Node) -> tuple[tuple[str, ...], str]:
        """What follows '|': one column, `a/b/c` (nested) or `a:b` (combinations)."""
        if isinstance(node, _Name):
            self.not_outcome(node)
            return (node.name,), "single"
        if isinstance(node, _Colon):
            return self.grouping_names(node.items, "':'"), "interaction"
        if isinstance(node, _Prod):
            for op, op_pos, _item in node.rest:
                if op == "STAR":
                    raise self.fail(
                        op_pos,
                        "'*' cannot be used after '|'. Use '/' for nested "
                        "groups, like (1 | school/class), or ':' for "
                        "combinations, like (1 | school:class).",
                    )
            items = [node.first] + [item for _op, _pos, item in node.rest]
            return self.grouping_names(items, "'/'"), "nested"
        if isinstance(node, _Sum):
            pos = next((p for _s, p, _i in node.items if p >= 0), node.pos)
            raise self.fail(
                pos,
                "after '|' put one grouping (a column, a/b for nested groups or "
                "a:b for combinations). For two separate groupings write two "
                "random parts: (1 | school) + (1 | class).",
            )
        if isinstance(node, _Paren):
            inner = _bar_in(node)
            if inner is not None:
                raise self.bar_inside_bar(inner)
            raise self.fail(
                node.pos,
                "parentheses are not needed after '|'. Write the grouping "
                "directly, like (1 | school) or (1 | school/class).",
            )
        if isinstance(node, _Bar):  # pragma: no cover - '|' is left-associative
            raise self.bar_inside_bar(node)
        raise self.fail(
            node.pos, "after '|' put the column that defines the groups, like (1 | school)."
        )

    def grouping_names(self, items: list[_Node], op: str) -> tuple[str, ...]:
        names: list[str] = []
        for item in items:
            if not isinstance(item, _Name):
                if isinstance(item, (_Colon, _Prod)):
                    msg = (
                        "mixing '/' and ':' in one grouping is not supported. Use a/b/c for "
                        "nested groups or a:b for combinations."
                    )
                else:
                    msg = f"only column names can be joined with {op} after '|'."
                raise self.fail(item.pos, msg)
            self.not_outcome(item)
            if item.name in names:
                raise self.fail(
                    item.pos,
                    f"'{_short(item.name)}' appears twice in the grouping. "
                    "Name each grouping column once.",
                )
            names.append(item.name)
        return tuple(names)


# --------------------------------------------------------------------------------------------
# Public API


def parse_formula(text: str, reml: bool = True) -> ModelSpec:
    """Read lme4 formula text such as `score ~ hours + (hours | school)` into a ModelSpec.

    The text is treated purely as data (see the module docstring for why). Any problem, for any
    input whatsoever, is reported as a `FormulaError` whose message tells the user where and
    what to change; `reml` is passed through because the text cannot express it.
    """
    try:
        return _parse(text, reml)
    except FormulaError:
        raise
    except Exception as exc:  # pragma: no cover - safety net; the tests fuzz _parse directly
        raise FormulaError(
            f"The formula could not be read. Check it for typing mistakes, like {_EXAMPLE}.",
            None,
            text if isinstance(text, str) else None,
        ) from exc


def _parse(text: str, reml: bool) -> ModelSpec:
    """parse_formula without its safety net, so tests can prove the net is never needed."""
    if not isinstance(text, str):
        raise FormulaError(f"The formula must be text, like {_EXAMPLE}.", 0, None)
    if not text.strip():
        raise FormulaError(f"The formula is empty. Write one like {_EXAMPLE}.", 0, text)
    toks = _tokenize(text)
    tilde = next((k for k, t in enumerate(toks) if t.kind == "TILDE"), None)
    if tilde is None:
        first_bad = next((t for t in toks if t.kind == "ERROR"), None)
        if first_bad is not None:
            raise _error(text, first_bad.pos, first_bad.value)
        raise FormulaError(
            "The formula has no '~'. Write the outcome, then '~', then the "
            f"predictors, like {_EXAMPLE}.",
            0,
            text,
        )
    outcome = _outcome(text, toks[:tilde], toks[tilde])
    root = _Parser(text, toks[tilde:]).parse()
    intercept, fixed, random = _Builder(text, outcome).rhs(root)
    return ModelSpec(outcome=outcome, fixed=fixed, intercept=intercept, random=random, reml=reml)


def _outcome(text: str, lhs: list[_Tok], tilde: _Tok) -> str:
    """The left side of '~' must be exactly one column name."""
    if not lhs:
        raise _error(
            text,
            tilde.pos,
            "there is no outcome before '~'. Start with the column "
            f"you want to explain, like {_EXAMPLE}.",
        )
    first = lhs[0]
    if first.kind == "ERROR":
        raise _error(text, first.pos, first.value)
    if first.kind == "NAME" and len(lhs) > 1 and lhs[1].kind == "LPAREN":
        raise _error(
            text,
            first.pos,
            f"'{_short(text[first.pos : first.end])}(' looks like a "
            "function. Functions such as log() are not supported in "
            "the formula; make a new column in your data instead.",
        )
    if first.kind != "NAME":
        raise _error(
            text, first.pos, f"the outcome (left of '~') must be one column name, like {_EXAMPLE}."
        )
    if len(lhs) > 1:
        second = lhs[1]
        if second.kind == "ERROR":
            raise _error(text, second.pos, second.value)
        raise _error(
            text,
            second.pos,
            "only one outcome column can go before '~'. Fit one model per outcome.",
        )
    return first.value


def quote_formula_name(name: str) -> str:
    """A column name as it must be written in formula text: in backticks unless R accepts it
    bare. Raises FormulaError for names no formula can hold (empty, or containing a backtick),
    so the user learns to rename the column instead of getting a formula that reads wrongly."""
    if not isinstance(name, str) or name == "":
        raise FormulaError(
            "A column with an empty name cannot be used in a formula. Give the "
            "column a name in your data."
        )
    if "`" in name:
        raise FormulaError(
            f"The column name '{_short(name)}' contains a backtick (`), which "
            "cannot be written in a formula. Rename the column."
        )
    if name == "." or _is_dots(name) or not is_syntactic(name):
        return f"`{name}`"
    return name


def fixed_term_label(term: Term, backticks: bool = False) -> str:
    """The term's label, variables joined with ':' (`meanses:cses`), as lme4 names the term.

    Plain names by default. R itself writes non-syntactic names in backticks in its term labels
    (`` `my var`:x ``); pass `backticks=True` for that form, which is also valid formula text.
    """
    if backticks:
        return ":".join(quote_formula_name(v) for v in term.variables)
    return ":".join(term.variables)


def format_formula(spec: ModelSpec) -> str:
    """Write a spec as canonical lme4 text, e.g. `y ~ x + z + x:z + (x | g)`.

    This is the text the app shows and exports, and what R users paste into `lmer()`, so it
    must read back as the same model with the same term names:
    `parse_formula(format_formula(spec)) == spec` for specs that parse_formula produces
    (centering and REML are not part of formula text), and `format_formula(parse_formula(t))`
    is stable. '*' is written expanded; products of sums such as `(a + b):c` are kept where
    R's labels need them. Known limit: rarer nestings, such as a product of three sums
    `(a + b):(c + d):(e + f)`, are written term by term in R's normal form (stable text, but
    some interaction labels change order, e.g. `a:e:d`).
    """
    parts: list[str] = []
    terms = _terms_text(spec.fixed)
    if not spec.intercept:
        parts.append("0")
    elif not terms:
        parts.append("1")
    parts.extend(terms)
    parts.extend(_random_text(r) for r in spec.random)
    return f"{quote_formula_name(spec.outcome)} ~ {' + '.join(parts)}"


# A piece of written formula: one term, or a product of two sums `(a + b):(c + d)` that stands
# for the terms a:c, a:d, b:c, b:d in that order.
_Piece = Term | tuple[tuple[Term, ...], tuple[Term, ...]]
_MAX_CHUNK = 32


def _terms_text(terms: tuple[Term, ...]) -> list[str]:
    """Terms as formula pieces that read back as the same terms, in the same order."""
    plan = _plan(terms)
    if plan is None:
        # No text gives exactly these terms (a hand-built spec such as `a:b` with `b:a`): write
        # R's normal form of them, which reads back as itself, so the text is stable.
        plan = _plan(_normal_form(terms)) or list(_normal_form(terms))
    return [_piece_text(p) for p in plan]


def _normal_form(terms: tuple[Term, ...]) -> tuple[Term, ...]:
    """What R makes of the terms written one after another: its labels, order and no repeats."""
    order = _VarOrder()
    for t in terms:
        for v in t.variables:
            order.add(v)
    return order.terms(frozenset(t.variables) for t in terms)


def _plan(terms: tuple[Term, ...]) -> list[_Piece] | None:
    """An order in which to write the terms so that they read back unchanged, or None.

    R labels an interaction by the order in which its variables first appear in the text, so
    the terms of `y ~ f:x + x` are `x` and `f:x`; written as `y ~ x + f:x` they would read back
    as `x:f`. R sorts terms only by their order (stably), so a term may be written ahead of
    lower-order terms without changing the result. We keep the usual layout (main effects,
    then two-way, ...) and move a term forward only when one of its variables must appear
    earlier. Writing a term only adds seen variables, which never blocks another term, so this
    greedy choice finds a plain order whenever one exists. Terms such as those of
    `(a + b):c` (a:c before b:c, yet b before c) have no plain order; for them we write
    products of sums.
    """
    before: dict[str, set[str]] = {}
    for t in terms:
        if not t.variables:
            return None
        for k, v in enumerate(t.variables):
            before.setdefault(v, set()).update(set(t.variables[:k]) - {v})
    groups: dict[int, list[Term]] = {}
    for t in terms:
        groups.setdefault(t.order, []).append(t)
    next_in = dict.fromkeys(groups, 0)
    seen: set[str] = set()
    out: list[_Piece] = []

    def ready(written: Iterable[str]) -> bool:
        s = set(seen)
        for v in written:
            if v not in s:
                if not before[v] <= s:
                    return False
                s.add(v)
        return True

    while sum(next_in.values()) < len(terms):
        for order in sorted(groups):
            k = next_in[order]
            if k < len(groups[order]) and ready(groups[order][k].variables):
                out.append(groups[order][k])
                seen.update(groups[order][k].variables)
                next_in[order] = k + 1
                break
        else:
            for order in sorted(groups):
                k = next_in[order]
                chunk = _product_chunk(groups[order][k:], ready)
                if chunk is not None:
                    rows, cols = chunk
                    out.append(chunk)
                    for t in rows + cols:
                        seen.update(t.variables)
                    next_in[order] = k + len(rows) * len(cols)
                    break
            else:
                return None
    return out


def _product_chunk(rest: list[Term], ready) -> tuple[tuple[Term, ...], tuple[Term, ...]] | None:
    """The shortest run of the next terms that can be written as `(X1 + ...):(Y1 + ...)`."""
    for m in range(2, min(len(rest), _MAX_CHUNK) + 1):
        run = rest[:m]
        sets = [frozenset(t.variables) for t in run]
        for p in range(1, m + 1):
            if m % p:
                continue
            q = m // p
            grid = [sets[i * q : (i + 1) * q] for i in range(p)]
            found = _factor_grid(grid, p, q)
            if found is None:
                continue
            rows, cols = found
            # Each factor keeps the variable order of a term it is part of.
            row_terms = tuple(
                Term(tuple(v for v in run[i * q].variables if v in rows[i])) for i in range(p)
            )
            col_terms = tuple(
                Term(tuple(v for v in run[j].variables if v in cols[j])) for j in range(q)
            )
            written = [v for t in row_terms + col_terms for v in t.variables]
            if ready(written):
                return row_terms, col_terms
    return None


def _factor_grid(
    grid: list[list[frozenset[str]]], p: int, q: int
) -> tuple[list[frozenset[str]], list[frozenset[str]]] | None:
    """Row sets X and column sets Y with grid[i][j] == X[i] | Y[j] (disjoint), if any."""
    for rows_first in (True, False):
        if rows_first:
            rows = [frozenset.intersection(*grid[i]) for i in range(p)]
            cols = [
                frozenset.intersection(*(grid[i][j] - rows[i] for i in range(p))) for j in range(q)
            ]
        else:
            cols = [frozenset.intersection(*(grid[i][j] for i in range(p))) for j in range(q)]
            rows = [
                frozenset.intersection(*(grid[i][j] - cols[j] for j in range(q))) for i in range(p)
            ]
        if not all(rows) or not all(cols) or len(set(rows)) < p or len(set(cols)) < q:
            continue
        if all(
            grid[i][j] == rows[i] | cols[j] and not rows[i] & cols[j]
            for i in range(p)
            for j in range(q)
        ):
            return rows, cols
    return None


def _piece_text(piece: _Piece) -> str:
    if isinstance(piece, Term):
        return _term_text(piece)
    rows, cols = piece

    def side(ts: tuple[Term, ...]) -> str:
        text = " + ".join(_term_text(t) for t in ts)
        return f"({text})" if len(ts) > 1 else text

    return f"{side(rows)}:{side(cols)}"


def _term_text(term: Term) -> str:
    if not term.variables:
        raise FormulaError("A model term has no columns. Remove the empty term.")
    return fixed_term_label(term, backticks=True)


def _random_text(r: RandomEffect) -> str:
    slopes = _terms_text(r.slopes)
    if slopes:
        lhs = " + ".join(slopes) if r.intercept else "0 + " + " + ".join(slopes)
    elif r.intercept:
        lhs = "1"
    else:
        raise FormulaError(
            "A random part has neither an intercept nor a slope. Add a random "
            "intercept or a random slope."
        )
    if not r.grouping or (r.kind == "single" and len(r.grouping) != 1):
        raise FormulaError("A random part needs exactly one grouping column, like (1 | school).")
    joiner = "/" if r.kind == "nested" else ":"
    grouping = joiner.join(quote_formula_name(g) for g in r.grouping)
    return f"({lhs} {'|' if r.correlated else '||'} {grouping})"
