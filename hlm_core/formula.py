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

from hlm_core.errors import FormulaError
from hlm_core.formula_builder import _Builder
from hlm_core.formula_parser import _Parser
from hlm_core.formula_text import fixed_term_label, format_formula, quote_formula_name
from hlm_core.formula_tokens import _EXAMPLE, MAX_DEPTH, MAX_TERMS, _error, _short, _Tok, _tokenize
from hlm_core.spec import ModelSpec

# The reader lives in formula_tokens / formula_parser / formula_builder, the writer in
# formula_text; callers import everything from here.
__all__ = [
    "MAX_DEPTH", "MAX_TERMS", "fixed_term_label", "format_formula", "parse_formula",
    "quote_formula_name",
]

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
    intercept, fixed, random, offset = _Builder(text, outcome).rhs(root)
    return ModelSpec(
        outcome=outcome, fixed=fixed, intercept=intercept, random=random, reml=reml, offset=offset
    )


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


