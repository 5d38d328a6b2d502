"""What the R and Python scripts share: escaping names and text for R, and the model's
centring and description. See `hlm_core.codegen` for why the escaping is this careful.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePath

from hlm_core.design import group_mean_name
from hlm_core.formula import format_formula
from hlm_core.spec import ModelSpec, Term, is_syntactic

# Cell texts the app reads as missing (a subset of hlm_core.io's list that R can be given).
_R_NA_STRINGS = ["", "NA", "N/A", "n/a", "NULL", "null", "NaN", ".", "#N/A"]

_R_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


# --------------------------------------------------------------------------- R quoting


def _r_escape(text: str, quote: str) -> str:
    """Escape `text` for an R string (quote '"') or backtick name (quote '`').

    Backslash, the quote character and control characters are escaped; everything else,
    non-ASCII letters included, is kept as is so the code stays readable.
    """
    if "\x00" in text:
        raise ValueError("R strings cannot contain a NUL character.")
    out = []
    for ch in text:
        if ch in _R_ESCAPES and (ch != '"' or quote == '"'):
            out.append(_R_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def r_string(text: str) -> str:
    """`text` as a double-quoted R string literal that R reads back as exactly `text`."""
    return '"' + _r_escape(str(text), '"') + '"'


def r_backtick(name: str) -> str:
    """A column name as R code: bare when R accepts it, else in escaped backticks."""
    return name if is_syntactic(name) else "`" + _r_escape(name, "`") + "`"


def _r_formula(spec: ModelSpec) -> str:
    """format_formula's text with each backtick-quoted name re-escaped for R's parser.

    format_formula never puts a backtick inside a name (it refuses such names), so splitting
    on backticks separates formula syntax (even pieces) from names (odd pieces) exactly.
    """
    pieces = format_formula(spec).split("`")
    if len(pieces) % 2 != 1:
        raise ValueError("Unbalanced backticks in formula text.")
    return "".join(r_backtick(p) if k % 2 else p for k, p in enumerate(pieces))


def _r_col(name: str) -> str:
    """`d$ses` for a plain name, `d[["reading score"]]` otherwise (a string, never code)."""
    return f"d${name}" if is_syntactic(name) else f"d[[{r_string(name)}]]"


def _r_vector(values: list[str]) -> str:
    return "c(" + ", ".join(r_string(v) for v in values) + ")"


def _num(value: float) -> str:
    """A number both R and Python read back exactly."""
    v = float(value)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


# --------------------------------------------------------------------------- the model


def _centred(spec: ModelSpec) -> list[tuple[str, str]]:
    """(variable, 'grand'|'group') for the predictors hlm_core centres, in its order."""
    how = spec.centering_map
    grouping = {g for r in spec.random for g in r.grouping}
    in_terms = {v for t in spec.fixed for v in t.variables} | {
        v for r in spec.random for t in r.slopes for v in t.variables
    }
    out = []
    for v in spec.variables():
        if v == spec.outcome or (v in grouping and v not in in_terms):
            continue
        if how.get(v, "none") in ("grand", "group"):
            out.append((v, how[v]))
    return out


def _centring_columns(spec: ModelSpec) -> tuple[str, ...]:
    """The columns of the first grouping factor of the first random effect: the groups
    within which hlm_core centres ('group')."""
    return spec.random[0].group_factors()[0]


def spec_with_group_means(spec: ModelSpec) -> ModelSpec:
    """The spec as lme4 must be given it: each group-centred `x` followed by `x.mean` among
    the fixed terms (hlm_core adds it during design; R needs it written in the formula)."""
    fixed = list(spec.fixed)
    for v, how in _centred(spec):
        if how != "group":
            continue
        pos = next((i for i, t in enumerate(fixed) if t.variables == (v,)), None)
        if pos is not None:
            fixed.insert(pos + 1, Term((group_mean_name(v),)))
    return spec.with_(fixed=tuple(fixed), centering=())


def _describe(spec: ModelSpec) -> list[str]:
    """Comment lines stating the model in words, shared by both languages."""
    if spec.family != "gaussian":  # yes/no or count: glmer, always ML
        from hlm_core.codegen_glmm import describe_glmm

        lines = describe_glmm(spec)
    else:
        lines = [f"Model: {format_formula(spec)}"]
        lines.append(
            "Estimated by " + ("REML" if spec.reml else "maximum likelihood (ML)")
            + "; Satterthwaite df for the fixed effects (as lmerTest)."
        )
    group = ":".join(_centring_columns(spec)) if spec.random else ""
    for v, how in _centred(spec):
        if how == "grand":
            lines.append(f"{v} is centred at its mean.")
        else:
            lines.append(
                f"{v} is centred within {group}; {group_mean_name(v)} (the {group} mean of "
                f"{v}) is added as a predictor."
            )
    return [_one_line(ln) for ln in lines]


def _one_line(text: str) -> str:
    """Text safe inside a code comment: names can hold anything, and a line break in a name
    would end the comment and turn the rest of the name into code."""
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text
    )


def _suffix(file_name: str) -> str:
    return PurePath(str(file_name)).suffix.lower()
