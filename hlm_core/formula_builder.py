"""From the formula's syntax tree to ModelSpec parts: expands `*`, `/` and `:` into terms in
R's order, reads random-effect bars and grouping, and says what may not go where. Part of
`hlm_core.formula`.
"""

from __future__ import annotations

from collections.abc import Iterable

from hlm_core.errors import FormulaError
from hlm_core.formula_parser import _Bar, _Colon, _Name, _Node, _Num, _Paren, _Prod, _Sum
from hlm_core.formula_tokens import MAX_TERMS, _error, _short
from hlm_core.spec import RandomEffect, Term
from hlm_core.transforms import is_derived, source_columns

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


def _is_offset(node: _Node) -> bool:
    return isinstance(node, _Name) and is_derived(node.name) and node.name.function == "offset"


def _items(node: _Node) -> list[tuple[str, int, _Node]]:
    return node.items if isinstance(node, _Sum) else [("+", -1, node)]


def _bar_in(node: _Node) -> _Bar | None:
    """The bar when `node` is `( ... | ... )`, possibly with redundant extra parentheses."""
    while isinstance(node, _Paren):
        node = node.inner
    return node if isinstance(node, _Bar) else None


def _dedupe(terms: list[frozenset[str]]) -> list[frozenset[str]]:
    return list(dict.fromkeys(terms))


class _BuilderChecks:
    """The builder's messages and limits: what may not go where, and how many terms are too
    many. Kept apart from the term expansion (`_Builder`)."""

    text: str
    outcome: str

    def fail(self, pos: int, message: str) -> FormulaError:
        return _error(self.text, pos, message)

    def snippet(self, node: _Node) -> str:
        return _short(self.text[node.pos : node.end], 60)

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

    def not_outcome(self, node: _Name) -> None:
        if node.name == self.outcome or (
            is_derived(node.name) and self.outcome in source_columns([node.name])
        ):
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


class _GroupingReader(_BuilderChecks):
    """Reads the grouping side of a bar: `school`, `school/class` (nested) or `school:class`,
    refusing anything else with a message."""

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


class _Builder(_GroupingReader):
    """Checks the meaning of the tree (what may go where) and builds the ModelSpec parts."""

    def __init__(self, text: str, outcome: str):
        self.text = text
        self.outcome = outcome

    def rhs(
        self, root: _Node
    ) -> tuple[bool, tuple[Term, ...], tuple[RandomEffect, ...], tuple[str, ...]]:
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
        offsets: list[str] = []
        for sign, sign_pos, item in _items(root):
            if _is_offset(item) and sign == "+":
                offsets.append(item.name)  # type: ignore[union-attr]
                continue
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
        return intercept, order.terms(found), tuple(random), tuple(offsets)

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
            if _is_offset(node):
                raise self.fail(
                    node.pos,
                    "offset() must be added on its own, outside random parts and "
                    "interactions, like y ~ x + offset(z) + (1 | g).",
                )
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
