"""The formula parser: tokens in, a small syntax tree out, with R's operator precedence and a
plain-language message for every way the text can be malformed. Part of `hlm_core.formula`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hlm_core.errors import FormulaError
from hlm_core.formula_tokens import (
    _BACKTICK_HINT,
    _EXAMPLE,
    _KNOWN_FUNCTIONS,
    _OPERATORS,
    MAX_DEPTH,
    _error,
    _short,
    _Tok,
)
from hlm_core.transforms import CALLS, parse_call, unsupported_call_message

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


class _ParserMessages:
    """The parser's messages: for each way the text can be malformed, where and what to change.
    Kept apart from the grammar (`_Parser`) so the grammar reads in one screen."""

    text: str
    toks: list[_Tok]
    i: int

    def fail(self, pos: int, message: str) -> FormulaError:
        return _error(self.text, pos, message)

    def show(self, t: _Tok) -> str:
        return _short(self.text[t.pos : t.end])

    def function_call(self, t: _Tok) -> FormulaError:
        name = self.show(t)
        msg = unsupported_call_message(name)
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


class _Parser(_ParserMessages):
    """Recursive descent with R's precedence: '|' < '+' '-' < '*' '/' < ':'."""

    def __init__(self, text: str, toks: list[_Tok]):
        self.text = text
        self.toks = toks  # toks[0] is the '~'
        self.i = 1
        self.depth = 0

    def peek(self) -> _Tok:
        t = self.toks[self.i]
        if t.kind == "ERROR":
            raise self.fail(t.pos, t.value)
        return t

    def take(self) -> _Tok:
        t = self.peek()
        self.i += 1
        return t

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

    def call(self, t: _Tok, lparen: _Tok) -> _Node:
        """A transformation (`log(x)`, `poly(x, 2)` ...): read by hlm_core.transforms, never
        run; it stands in the tree as the name(s) of the column(s) it computes."""
        labels, end = parse_call(self.text, t.pos, lparen.pos)
        while self.toks[self.i].pos < end:  # skip the call's tokens (read above)
            self.i += 1
        names: list[_Node] = [_Name(label, t.pos, end) for label in labels]
        if len(names) == 1:
            return names[0]
        return _Sum([("+", -1, n) for n in names], t.pos, end)

    def atom(self) -> _Node:
        t = self.peek()
        if t.kind in ("NAME", "NUMBER"):
            nxt = self.toks[self.i + 1]
            if nxt.kind == "LPAREN" and t.kind == "NAME" and t.value in CALLS:
                return self.call(t, nxt)
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
