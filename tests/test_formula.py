"""The lme4 formula reader/writer: syntax, R's term order, round trips, helpful errors, and
the safety promise that formula text is only ever read, never run."""

from __future__ import annotations

import ast
import builtins
import random
import shutil
import string
import subprocess
from pathlib import Path

import pytest

import hlm_core.formula as formula_module
from hlm_core.errors import FormulaError, HLMError
from hlm_core.formula import fixed_term_label, format_formula, parse_formula, quote_formula_name
from hlm_core.spec import ModelSpec, RandomEffect, Term
from tests.refdata import CASES, load_reference


def T(*variables: str) -> Term:
    return Term(tuple(variables))


def labels(terms: tuple[Term, ...]) -> list[str]:
    return [fixed_term_label(t) for t in terms]


# ------------------------------------------------------------------------------------------
# The reference formulas (lme4 fits in tests/fixtures)


@pytest.mark.parametrize("case", CASES)
def test_reference_formulas_parse_and_round_trip(case):
    ref = load_reference(case)
    text = ref["formula"]
    spec = parse_formula(text)
    # The fixtures are written canonically, so writing the spec back gives the same text.
    assert format_formula(spec) == text
    assert parse_formula(format_formula(spec)) == spec
    reml = ref["reml"]
    # Grouping factors and random-effect term names are exactly lme4's.
    assert [r.grouping[0] for r in spec.random] == list(reml["ngroups"])
    for r, block in zip(spec.random, reml["ranef"], strict=True):
        assert block["group"] == r.grouping[0]
        names = ["(Intercept)"] * r.intercept + labels(r.slopes)
        assert names == block["terms"]
    # Numeric fixed terms carry lme4's names, in lme4's order (factors add a level suffix).
    ours = labels(spec.fixed)
    lme4 = [row["term"] for row in reml["fixed"] if row["term"] != "(Intercept)"]
    shared = [name for name in lme4 if name in ours]
    assert shared == [name for name in ours if name in shared]
    assert len(ours) <= len(lme4)


def test_hsb_random_slope_spec():
    spec = parse_formula(
        "mAch ~ meanses + sector + cses + meanses:cses + sector:cses + (cses | school)"
    )
    assert spec == ModelSpec(
        outcome="mAch",
        fixed=(T("meanses"), T("sector"), T("cses"), T("meanses", "cses"), T("sector", "cses")),
        intercept=True,
        random=(RandomEffect(("school",), "single", True, (T("cses"),), True),),
    )


def test_bdf_dotted_names():
    spec = parse_formula("langPOST ~ IQ.verb + sex + (IQ.verb | schoolNR)")
    assert spec.outcome == "langPOST"
    assert spec.fixed == (T("IQ.verb"), T("sex"))
    assert spec.random == (RandomEffect(("schoolNR",), slopes=(T("IQ.verb"),)),)


def test_reml_is_passed_through():
    assert parse_formula("y ~ x + (1 | g)").reml is True
    assert parse_formula("y ~ x + (1 | g)", reml=False).reml is False


# ------------------------------------------------------------------------------------------
# Syntax


def RE(*grouping: str, kind="single", intercept=True, slopes=(), correlated=True) -> RandomEffect:
    return RandomEffect(tuple(grouping), kind, intercept, tuple(slopes), correlated)


@pytest.mark.parametrize(
    "text, fixed, intercept, random",
    [
        ("y ~ 1", (), True, ()),
        ("y ~ 1 + (1 | g)", (), True, (RE("g"),)),
        ("y ~ 0", (), False, ()),
        ("y ~ x", (T("x"),), True, ()),
        ("y ~ 1 + x", (T("x"),), True, ()),
        ("y ~ 0 + x", (T("x"),), False, ()),
        ("y ~ x - 1", (T("x"),), False, ()),
        ("y ~ -1 + x", (T("x"),), False, ()),
        ("y ~ x + 0", (T("x"),), False, ()),
        ("y ~ x + -1", (T("x"),), False, ()),
        ("y ~ 0 + 1 + x", (T("x"),), True, ()),  # the last one written wins, as in R
        ("y ~ exam.prep.days + x_1", (T("exam.prep.days"), T("x_1")), True, ()),
        ("y ~ _private", (T("_private"),), True, ()),
        ("y ~ .hidden", (T(".hidden"),), True, ()),
        ("y ~ x:z", (T("x", "z"),), True, ()),
        ("y ~ x*z", (T("x"), T("z"), T("x", "z")), True, ()),
        (
            "y ~ a*b*c",
            (T("a"), T("b"), T("c"), T("a", "b"), T("a", "c"), T("b", "c"), T("a", "b", "c")),
            True,
            (),
        ),
        ("y ~ (a + b):c", (T("a", "c"), T("b", "c")), True, ()),
        ("y ~ (a + b)*c", (T("a"), T("b"), T("c"), T("a", "c"), T("b", "c")), True, ()),
        ("y ~ (a + b)", (T("a"), T("b")), True, ()),
        ("y ~ (x | g)", (), True, (RE("g", slopes=[T("x")]),)),
        ("y ~ (1 + x | g)", (), True, (RE("g", slopes=[T("x")]),)),
        ("y ~ (0 + x | g)", (), True, (RE("g", intercept=False, slopes=[T("x")]),)),
        ("y ~ (x - 1 | g)", (), True, (RE("g", intercept=False, slopes=[T("x")]),)),
        ("y ~ (x + z | g)", (), True, (RE("g", slopes=[T("x"), T("z")]),)),
        ("y ~ (x:z | g)", (), True, (RE("g", slopes=[T("x", "z")]),)),
        ("y ~ (x*z | g)", (), True, (RE("g", slopes=[T("x"), T("z"), T("x", "z")]),)),
        ("y ~ (x || g)", (), True, (RE("g", slopes=[T("x")], correlated=False),)),
        (
            "y ~ (0 + x || g)",
            (),
            True,
            (RE("g", intercept=False, slopes=[T("x")], correlated=False),),
        ),
        ("y ~ (1 || g)", (), True, (RE("g", correlated=False),)),
        ("y ~ (1 | school/class)", (), True, (RE("school", "class", kind="nested"),)),
        ("y ~ (1 | a/b/c)", (), True, (RE("a", "b", "c", kind="nested"),)),
        ("y ~ (1 | school:class)", (), True, (RE("school", "class", kind="interaction"),)),
        ("y ~ (1 | a) + (1 | b)", (), True, (RE("a"), RE("b"))),
        ("y ~ ((1 | g))", (), True, (RE("g"),)),
        ("y ~ (1 | g) + x", (T("x"),), True, (RE("g"),)),
        ("y ~ 0 + x + (1 | g)", (T("x"),), False, (RE("g"),)),
        ("y~x+(x|g)", (T("x"),), True, (RE("g", slopes=[T("x")]),)),
        ("  y \n ~\tx  +\n(  x  |  g  )  ", (T("x"),), True, (RE("g", slopes=[T("x")]),)),
        ("y ~ 1.0 + x", (T("x"),), True, ()),
    ],
)
def test_syntax(text, fixed, intercept, random):
    spec = parse_formula(text)
    assert spec == ModelSpec(outcome="y", fixed=fixed, intercept=intercept, random=random)


@pytest.mark.parametrize(
    "text, name",
    [
        ("y ~ `my column`", "my column"),
        ("y ~ `score (2019)`", "score (2019)"),
        ("y ~ `a+b`", "a+b"),
        ("y ~ `x|g`", "x|g"),
        ("y ~ `~`", "~"),
        ("y ~ `2nd score`", "2nd score"),
        ("y ~ `if`", "if"),
        ("y ~ `NA`", "NA"),
        ("y ~ `größe`", "größe"),
        ("y ~ `🏫 school`", "🏫 school"),
        ("y ~ ` padded `", " padded "),
        ("y ~ `x`", "x"),
        ("y ~ størrelse", "størrelse"),  # R accepts letters of any alphabet unquoted
    ],
)
def test_backticked_and_unicode_names(text, name):
    spec = parse_formula(text)
    assert spec.fixed == (T(name),)
    assert parse_formula(format_formula(spec)) == spec


def test_backticked_names_everywhere():
    spec = parse_formula("`my score` ~ `hours spent` + (`hours spent` | `school id`/`class id`)")
    assert spec.outcome == "my score"
    assert spec.fixed == (T("hours spent"),)
    assert spec.random == (RE("school id", "class id", kind="nested", slopes=[T("hours spent")]),)


# ------------------------------------------------------------------------------------------
# R's terms() order


@pytest.mark.parametrize(
    "text, expected",
    [
        ("y ~ f:x + x", ["x", "f:x"]),  # f appears first, so the label is f:x
        ("y ~ x + f + f:x", ["x", "f", "x:f"]),  # x appears first, so the label is x:f
        ("y ~ c:a + a*b", ["a", "b", "c:a", "a:b"]),
        ("y ~ a:b + b:a + a", ["a", "a:b"]),  # duplicates removed
        ("y ~ x + x", ["x"]),
        ("y ~ b:a:c + a + c:b", ["a", "b:c", "b:a:c"]),
        ("y ~ (a + b)*(c + d)", ["a", "b", "c", "d", "a:c", "a:d", "b:c", "b:d"]),
        ("y ~ a*b + b*c", ["a", "b", "c", "a:b", "b:c"]),
        ("y ~ a:(a + b)", ["a", "a:b"]),
        ("y ~ z:x + x*z*w", ["x", "z", "w", "z:x", "x:w", "z:w", "z:x:w"]),
        ("y ~ a:a", ["a"]),
        # variables that appear only inside bars do not affect the fixed order (lme4's nobars)
        ("y ~ (f | g) + x:f + f", ["f", "x:f"]),
    ],
)
def test_fixed_term_order_follows_r(text, expected):
    assert labels(parse_formula(text).fixed) == expected


def test_slope_order_follows_r_within_each_bar():
    spec = parse_formula("y ~ x + z + (z:x + x | g) + (x:z + z | h)")
    assert labels(spec.fixed) == ["x", "z"]
    assert labels(spec.random[0].slopes) == ["x", "z:x"]
    assert labels(spec.random[1].slopes) == ["z", "x:z"]


def test_fixed_term_label():
    assert fixed_term_label(T("meanses", "cses")) == "meanses:cses"
    assert fixed_term_label(T("my var", "x")) == "my var:x"
    assert fixed_term_label(T("my var", "x"), backticks=True) == "`my var`:x"
    assert fixed_term_label(T("IQ.verb")) == "IQ.verb"


# ------------------------------------------------------------------------------------------
# Writing formulas


@pytest.mark.parametrize(
    "spec, text",
    [
        (
            ModelSpec("y", (T("x"), T("z"), T("x", "z")), random=(RE("g", slopes=[T("x")]),)),
            "y ~ x + z + x:z + (x | g)",
        ),
        (ModelSpec("y", random=(RE("g"),)), "y ~ 1 + (1 | g)"),
        (ModelSpec("y"), "y ~ 1"),
        (ModelSpec("y", intercept=False), "y ~ 0"),
        (ModelSpec("y", (T("x"),), intercept=False, random=(RE("g"),)), "y ~ 0 + x + (1 | g)"),
        (
            ModelSpec("y", random=(RE("g", intercept=False, slopes=[T("x")]),)),
            "y ~ 1 + (0 + x | g)",
        ),
        (ModelSpec("y", random=(RE("g", slopes=[T("x")], correlated=False),)), "y ~ 1 + (x || g)"),
        (
            ModelSpec("y", random=(RE("g", intercept=False, slopes=[T("x")], correlated=False),)),
            "y ~ 1 + (0 + x || g)",
        ),
        (
            ModelSpec("y", random=(RE("school", "class", kind="nested"),)),
            "y ~ 1 + (1 | school/class)",
        ),
        (
            ModelSpec("y", random=(RE("school", "class", kind="interaction"),)),
            "y ~ 1 + (1 | school:class)",
        ),
        (ModelSpec("y", random=(RE("a"), RE("b"))), "y ~ 1 + (1 | a) + (1 | b)"),
        (
            ModelSpec("my score", (T("hours spent"), T("if"), T("NA"), T("function"), T("_x"))),
            "`my score` ~ `hours spent` + `if` + `NA` + `function` + `_x`",
        ),
        (
            ModelSpec("y", (T("."), T("..."), T("..1"), T("2x"), T(".2x"))),
            "y ~ `.` + `...` + `..1` + `2x` + `.2x`",
        ),
        (ModelSpec("y", (T("IQ.verb"), T("x_1"), T(".ok"))), "y ~ IQ.verb + x_1 + .ok"),
    ],
)
def test_format(spec, text):
    assert format_formula(spec) == text
    assert parse_formula(text) == spec


@pytest.mark.parametrize(
    "text, written",
    [
        # R labels f:x by first appearance, so the text must keep f before x.
        ("y ~ f:x + x", "y ~ f:x + x"),
        ("y ~ x + f:x", "y ~ x + x:f"),
        ("y ~ x + (z:x + x | g)", "y ~ x + (z:x + x | g)"),
        # No plain sum gives a:c then b:c with b before c: the product is kept.
        ("y ~ (a + b):c", "y ~ (a + b):c"),
        ("y ~ (a + b):(c + d)", "y ~ (a + b):(c + d)"),
        ("y ~ (a + b):c + a", "y ~ a + (a + b):c"),
        ("y ~ (a:d + b:e):c", "y ~ (a:d + b:e):c"),
        ("y ~ c:(a + b)", "y ~ c:a + c:b"),
        ("y ~ (a + b)*c", "y ~ a + b + c + a:c + b:c"),
    ],
)
def test_format_keeps_r_labels(text, written):
    spec = parse_formula(text)
    assert format_formula(spec) == written
    assert parse_formula(written) == spec


def test_format_of_spec_no_text_can_give_is_stable():
    # a:b and b:a are one term to R; a:b, b:c, c:a would need a before b before c before a.
    for fixed in [(T("a", "b"), T("b", "a")), (T("a", "b"), T("b", "c"), T("c", "a"))]:
        written = format_formula(ModelSpec("y", fixed))
        assert format_formula(parse_formula(written)) == written


def test_three_sum_product_is_written_stably():
    # Known limit: written term by term in R's normal form (labels such as a:e:d).
    written = format_formula(parse_formula("y ~ (a + b):(c + d):(e + f)"))
    assert format_formula(parse_formula(written)) == written
    assert len(parse_formula(written).fixed) == 8


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec("y", (T("a`b"),)),
        ModelSpec("a`b"),
        ModelSpec(""),
        ModelSpec("y", random=(RE("g", intercept=False),)),
        ModelSpec("y", random=(RE(),)),
        ModelSpec("y", (Term(()),)),
    ],
)
def test_format_rejects_what_no_formula_can_say(spec):
    with pytest.raises(FormulaError):
        format_formula(spec)


def test_quote_formula_name():
    assert quote_formula_name("x") == "x"
    assert quote_formula_name("my x") == "`my x`"
    assert quote_formula_name("TRUE") == "`TRUE`"
    with pytest.raises(FormulaError, match="backtick"):
        quote_formula_name("a`b")


ROUND_TRIP_TEXTS = [
    "y ~ x",
    "y ~ a*b*c + (a*b || g)",
    "y ~ 0 + (a + b)*c + (0 + a | s/c/k) + (1 | s:c)",
    "y ~ f:x + x + (x + f:x | g)",
    "`a b` ~ `c d`:e + e + (`c d` | `g h`)",
    "y ~ x - 1 + (x - 1 || g)",
    "y ~ 1",
    "y ~ 0",
    "y ~ størrelse + _x + .y + (1 | `🏫`)",
]


@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_round_trip_from_text(text):
    spec = parse_formula(text)
    written = format_formula(spec)
    assert parse_formula(written) == spec
    assert format_formula(parse_formula(written)) == written


def test_round_trip_keeps_reml_when_passed():
    spec = parse_formula("y ~ x + (1 | g)", reml=False)
    assert parse_formula(format_formula(spec), reml=False) == spec


# ------------------------------------------------------------------------------------------
# Errors: where, and what to change


@pytest.mark.parametrize(
    "text, position, words",
    [
        ("y ~ abs(x)", 4, ["'abs()' is not one of the functions", "new column", "Data page"]),
        ("y ~ as.factor(x)", 4, ["'as.factor()'", "'Categorical columns'"]),
        ("y ~ I(mean(x))", 6, ["'mean()' can't be used inside"]),
        ("y ~ poly(x)", 10, ["poly(x, 2)"]),
        ("y ~ poly(x, 1.5)", 12, ["whole number"]),
        ("y ~ x + offset(z):w", 8, ["offset() must be added on its own"]),
        ("y ~ log(x %in% g)", 10, ["'%'"]),
        ("log(y) ~ x", 0, ["Functions such as log()"]),
        ("y ~ x (1 | g)", 4, ["put '+' before the '('"]),
        ("y ~ x^2", 5, ["'^'"]),
        ("y ~ (a + b)^2", 11, ["'^'", "a + b + a:b"]),
        ("y ~ x %in% g", 6, ["'%in%'"]),
        ("y ~ x / z", 6, ["'/'", "after '|'"]),
        ("y ~ x - z", 6, ["'- 1'"]),
        ("y ~ x * 2", 8, ["number 2"]),
        ("y ~ x + 2", 8, ["number 2", "1 (keep the intercept) or 0"]),
        ("y ~ 1:x", 4, ["number 1"]),
        ("y ~ -0", 4, ["'- 0'"]),
        ("y ~ x & z", 6, ["'&'", "backticks"]),
        ("y ~ x + $z", 8, ["'$'"]),
        ("y = x", 2, ["'~', not '='"]),
        ("y ~ 'x'", 4, ["backticks"]),
        ("y ~ \u201cx\u201d", 4, ["quote marks"]),
        ("y ~ x +\u200b z", 7, ["invisible character (U+200B)"]),
        ("y ~ x, z", 5, ["commas"]),
        ("y ~ .", 4, ["'.'", "by name"]),
        ("y ~ if", 4, ["reserved word", "`if`"]),
        ("y ~ 2nd", 4, ["cannot start with a digit", "`2nd`"]),
        ("y ~ ``", 4, ["empty name"]),
        ("x + z", 0, ["no '~'"]),
        ("y", 0, ["no '~'"]),
        ("~ x", 0, ["no outcome"]),
        ("  ~ x + (1 | g)", 2, ["no outcome"]),
        ("y + z ~ x", 2, ["only one outcome"]),
        ("1 ~ x", 0, ["outcome", "column name"]),
        ("y ~", 2, ["nothing comes after '~'", "score ~ 1"]),
        ("y ~    ", 2, ["nothing comes after '~'"]),
        ("y ~ x +", 6, ["ends with '+'"]),
        ("y ~ x + (1 | g) + ", 16, ["ends with '+'"]),
        ("y ~ x + + z", 8, ["'+' is followed by '+'"]),
        ("y ~ + x", 4, ["nothing in front"]),
        ("y ~ x ~ z", 6, ["second '~'"]),
        ("y ~ ~ x", 4, ["second '~'"]),
        ("y ~ (x", 4, ["never closed"]),
        ("y ~ (1 | g", 4, ["never closed"]),
        ("y ~ x)", 5, ["no matching '('"]),
        ("y ~ ()", 4, ["nothing inside"]),
        ("y ~ `x + z", 4, ["backtick", "never closed"]),
        ("y ~ (1 | )", 7, ["nothing comes after '|'", "(1 | school)"]),
        ("y ~ (1 |)", 7, ["nothing comes after '|'"]),
        ("y ~ (x ||)", 7, ["nothing comes after '||'"]),
        ("y ~ ( | g)", 6, ["nothing comes before '|'", "(1 | school)"]),
        ("y ~ (x + | g)", 7, ["between '+' and '|'"]),
        ("y ~ (1 | (1 | g))", 12, ["inside another random part"]),
        ("y ~ ((1 | g) | h)", 8, ["inside another random part"]),
        ("y ~ (1 | g | h)", 11, ["inside another random part"]),
        ("y ~ x | g", 6, ["inside parentheses"]),
        ("y ~ | g", 4, ["inside parentheses"]),
        ("y ~ x + (1 | g):z", 11, ["cannot be combined"]),
        ("y ~ x*(1 | g)", 9, ["cannot be combined"]),
        ("y ~ - (1 | g)", 4, ["cannot be removed"]),
        ("y ~ (0 | g)", 4, ["neither an intercept nor a slope"]),
        ("y ~ (x - 1 - x | g)", 11, ["'- 1'"]),
        ("y ~ (1 | a*b)", 10, ["'*' cannot be used after '|'"]),
        ("y ~ (1 | a + b)", 11, ["(1 | school) + (1 | class)"]),
        ("y ~ (1 | a/b:c)", 11, ["mixing '/' and ':'"]),
        ("y ~ (1 | a/a)", 11, ["appears twice"]),
        ("y ~ (1 | 2)", 9, ["column that defines the groups"]),
        ("y ~ (1 | (g))", 9, ["parentheses are not needed"]),
        ("y ~ x z", 6, ["between 'x' and 'z'", "'+'"]),
        ("y ~ 1 (1 | g)", 4, ["Put '+' between terms"]),
        ("y ~ x + y", 8, ["outcome 'y' also appears"]),
        ("y ~ (y | g)", 5, ["outcome 'y' also appears"]),
        ("y ~ (1 | y)", 9, ["outcome 'y' also appears"]),
        ("y ~ (1 + x):z", 5, ["number 1"]),
        ("y ~ (x - z):w", 7, ["'- 1'"]),
        ("y ~ " + "(" * 60 + "x" + ")" * 60, 54, ["parentheses inside each other"]),
        ("y ~ " + "*".join("abcdefghijkl"), 19, ["more than 500 terms"]),
    ],
)
def test_errors_say_where_and_what(text, position, words):
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    err = info.value
    assert isinstance(err, HLMError)
    assert err.position == position
    assert err.text == text
    message = str(err)
    for word in words:
        assert word in message
    if text.strip() and "~" in text:
        assert message.startswith(f"Near character {position + 1}: ")
    assert message.endswith(".") or message.endswith(")")
    assert "Traceback" not in message and "Error" not in message


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text(text):
    with pytest.raises(FormulaError, match="empty") as info:
        parse_formula(text)
    assert info.value.position == 0


@pytest.mark.parametrize("value", [None, 3, b"y ~ x", ["y ~ x"]])
def test_non_text_input_is_a_formula_error(value):
    with pytest.raises(FormulaError, match="must be text"):
        parse_formula(value)


def test_left_most_problem_is_reported_first():
    # The function call at character 5 comes before the '%in%' and the '^'.
    with pytest.raises(FormulaError) as info:
        parse_formula("y ~ abs(x) %in% g ^ 2")
    assert info.value.position == 4


@pytest.mark.parametrize(
    "text, names",
    [  # lme4's names for each (R's deparse of the call), checked against lme4 in test_awkward
        ("y ~ log(x) + (1 | g)", ["log(x)"]),
        ("y ~ log (x) + log10(x) + exp(z) + sqrt(x) + (1 | g)",
         ["log(x)", "log10(x)", "exp(z)", "sqrt(x)"]),
        ("y ~ x + I(x^2) + I(x*z) + I((x+1)^2) + I(x/2) + (1 | g)",
         ["x", "I(x^2)", "I(x * z)", "I((x + 1)^2)", "I(x/2)"]),
        ("y ~ poly(x,2) + (1 | g)", ["poly(x, 2)1", "poly(x, 2)2"]),
        ("y ~ poly(x, 2) * z + (1 | g)",
         ["poly(x, 2)1", "poly(x, 2)2", "z", "poly(x, 2)1:z", "poly(x, 2)2:z"]),
        ("y ~ scale(x) + factor(k) + log(x + 1) + (1 | g)",
         ["scale(x)", "factor(k)", "log(x + 1)"]),
        ("y ~ sqrt(`my col`) + I(x^100000) + (1 | g)", ["sqrt(`my col`)", "I(x^1e+05)"]),
    ],
)
def test_transformations_get_lme4_names_and_read_back(text, names):
    spec = parse_formula(text)
    assert labels(spec.fixed) == names
    again = parse_formula(format_formula(spec))
    assert again == spec and format_formula(again) == format_formula(spec)


def test_offset_is_kept_apart_from_the_terms():
    spec = parse_formula("y ~ x + offset(log(n)) + (log(x) | g)")
    assert labels(spec.fixed) == ["x"] and spec.offset == ("offset(log(n))",)
    assert labels(spec.random[0].slopes) == ["log(x)"]
    assert format_formula(spec) == "y ~ x + offset(log(n)) + (log(x) | g)"


def test_transformation_of_the_outcome_on_the_right_is_refused():
    with pytest.raises(FormulaError, match="cannot predict itself"):
        parse_formula("y ~ log(y) + (1 | g)")


def test_functions_inside_backticks_are_just_names():
    spec = parse_formula("y ~ `log(x)` + `I(x^2)` + (1 | g)")
    assert labels(spec.fixed) == ["log(x)", "I(x^2)"]


# ------------------------------------------------------------------------------------------
# Safety: text is data, never code

HOSTILE_NAMES = [
    "__import__('os').system('echo pwned')",
    "eval('1+1')",
    'exec("import os")',
    "a; rm -rf /",
    "$(touch /tmp/x)",
    '=HYPERLINK("http://x")',
    "x) + (1 | g",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "name\nwith\nnewlines",
    "\\",
    "🏫 school",
    "学校",
    "' OR 1=1 --",
    "~ | + * : / ( )",
    "%in%",
]


def test_hostile_name_never_runs(tmp_path, monkeypatch):
    sentinel = tmp_path / "pwned"
    name = f"__import__('os').system('touch {sentinel}')"

    def forbidden(*args, **kwargs):
        raise AssertionError("formula text reached eval/exec")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    spec = parse_formula(f"y ~ `{name}` + (1 | g)")
    format_formula(spec)
    assert spec.fixed == (T(name),)
    assert not sentinel.exists()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_come_back_verbatim(name):
    spec = ModelSpec(
        outcome=name + " outcome",
        fixed=(T(name), T(name, "x")),
        random=(RE(name, "g", kind="nested", slopes=[T(name)]),),
    )
    text = format_formula(spec)
    again = parse_formula(text)
    assert again == spec
    assert again.fixed[0].variables[0] == name


def test_module_never_evaluates_or_imports_formula_machinery():
    # the reader and writer are split over formula.py and its formula_*.py siblings; the
    # calls typed in a formula (log(x), poly(x, 2) ...) are read and computed in transforms.py
    here = Path(formula_module.__file__)
    files = [here, *sorted(here.parent.glob("formula_*.py")), here.parent / "transforms.py"]
    assert len(files) >= 4
    tree = ast.Module(
        body=[ast.parse(f.read_text(encoding="utf-8")) for f in files], type_ignores=[]
    )
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not called & {"eval", "exec", "compile", "__import__", "getattr", "globals", "open"}
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"patsy", "formulaic", "ast", "importlib", "subprocess", "os", "pickle"}


# ------------------------------------------------------------------------------------------
# Garbage in: only FormulaError out


def _check_any(text: str) -> None:
    """Unguarded parse: a ModelSpec that round-trips, or a FormulaError with a sane position."""
    try:
        spec = formula_module._parse(text, True)
    except FormulaError as err:
        assert str(err)
        assert err.position is not None and 0 <= err.position <= len(text)
        assert err.text == text
        return
    written = format_formula(spec)
    assert parse_formula(written) == spec
    assert format_formula(parse_formula(written)) == written


def test_random_printable_garbage():
    rng = random.Random(20240611)
    for _ in range(4000):
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 40)))
        _check_any(text)


def test_random_token_soup():
    rng = random.Random(7)
    pieces = [
        *"yxzg~+-*/:()|`^%01.,_ ",
        " ",
        " + ",
        "||",
        "log(",
        "(1 | g)",
        "IQ.verb",
        "`a b`",
        "a/b",
        "0 + ",
        "- 1",
        "~ ",
        "é",
        "🏫",
        "\n",
        "if",
        "NA",
        "2x",
        "1.5",
    ]
    for _ in range(20000):
        _check_any("".join(rng.choice(pieces) for _ in range(rng.randint(0, 20))))


def test_mutated_valid_formulas():
    rng = random.Random(99)
    seeds = [
        *ROUND_TRIP_TEXTS,
        "mAch ~ meanses + sector + cses + meanses:cses + sector:cses + (cses | school)",
        "langPOST ~ IQ.verb + sex + (IQ.verb | schoolNR)",
    ]
    alphabet = "~+-*/:()|` 01xg^%."
    for _ in range(20000):
        text = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            k = rng.randrange(len(text) + 1)
            action = rng.random()
            if action < 0.4 and text:
                del text[min(k, len(text) - 1)]
            elif action < 0.8:
                text.insert(k, rng.choice(alphabet))
            elif text:
                text[min(k, len(text) - 1)] = rng.choice(alphabet)
        _check_any("".join(text))


@pytest.mark.parametrize(
    "text",
    [
        "y ~ " + "(" * 10_000,
        "y ~ " + ")" * 10_000,
        "~" * 10_000,
        "y ~ " + "-" * 10_000 + "1",
        "y ~ " + " + ".join(f"x{i}" for i in range(400)),
        "y ~ " + ":".join(f"x{i}" for i in range(2000)),
        "y ~ " + "1" * 5000,
        "y ~ " + "`" * 10_001,
        "\x00~\x00",
        "y ~ \ud800",
    ],
)
def test_extreme_inputs(text):
    _check_any(text)


# ------------------------------------------------------------------------------------------
# Against R itself (when R and lme4 are installed)

_R_SCRIPT = r"""
suppressMessages(library(lme4))
for (line in readLines(commandArgs(TRUE)[1])) {
  fo <- as.formula(line)
  tt <- terms(nobars(fo))
  cat("F", attr(tt, "intercept"), paste(attr(tt, "term.labels"), collapse = ","), "\n")
  for (b in findbars(fo)) {
    tb <- terms(as.formula(call("~", b[[2]])))
    cat("B", attr(tb, "intercept"), paste(attr(tb, "term.labels"), collapse = ","),
        deparse(b[[3]]), "\n")
  }
  cat("E\n")
}
"""


def _random_fixed_expr(rng: random.Random, depth: int = 0) -> str:
    names = "abcd"
    kind = rng.random()
    if depth > 1 or kind < 0.4:
        return rng.choice(names)
    if kind < 0.6:
        return ":".join(rng.choice(names) for _ in range(rng.randint(2, 3)))
    if kind < 0.8:
        return f"{_random_fixed_expr(rng, depth + 1)}*{_random_fixed_expr(rng, depth + 1)}"
    inner = " + ".join(_random_fixed_expr(rng, depth + 1) for _ in range(rng.randint(2, 3)))
    return f"({inner}){rng.choice(':*')}{_random_fixed_expr(rng, depth + 1)}"


def _random_formula(rng: random.Random) -> str:
    parts = [_random_fixed_expr(rng) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.3:
        parts.insert(0, rng.choice(["0", "1"]))
    for _ in range(rng.randint(0, 2)):
        lhs = " + ".join(_random_fixed_expr(rng) for _ in range(rng.randint(1, 2)))
        if rng.random() < 0.3:
            lhs = "0 + " + lhs
        parts.append(f"({lhs} | {rng.choice(['g', 'h'])})")
    text = "y ~ " + " + ".join(parts)
    if rng.random() < 0.2:
        text += " - 1"
    return text


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_term_order_matches_r(tmp_path):
    rng = random.Random(3)
    texts = [_random_formula(rng) for _ in range(300)]
    (tmp_path / "f.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    (tmp_path / "check.R").write_text(_R_SCRIPT, encoding="utf-8")
    run = subprocess.run(
        ["Rscript", str(tmp_path / "check.R"), str(tmp_path / "f.txt")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if run.returncode != 0 and "lme4" in run.stderr:
        pytest.skip("lme4 is not installed")
    assert run.returncode == 0, run.stderr
    blocks = run.stdout.split("E\n")[:-1]
    assert len(blocks) == len(texts)
    for text, block in zip(texts, blocks, strict=True):
        spec = parse_formula(text)
        lines = [line.split() for line in block.strip().splitlines()]
        fixed = lines[0]
        assert fixed[1] == str(int(spec.intercept)), text
        assert (fixed[2].split(",") if len(fixed) > 2 else []) == labels(spec.fixed), text
        assert len(lines) - 1 == len(spec.random), text
        for bar, r in zip(lines[1:], spec.random, strict=True):
            assert bar[1] == str(int(r.intercept)), text
            assert (bar[2].split(",") if len(bar) > 3 else []) == labels(r.slopes), text
            assert bar[-1] == r.grouping[0], text
