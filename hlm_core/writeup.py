"""The write-up of a fitted model: HLM level equations, an APA paragraph and an APA table.

Why level equations: many school researchers learnt multilevel models from Raudenbush & Bryk
(HLM), where a model is a set of equations, one per level (students, then classes, then
schools), not one lme4 formula. Showing both, built from the same fit, lets a reader check that
the model is the one they meant, e.g. that a cross-level interaction is "the school mean of SES
moderates the SES slope" (it sits in the equation of the SES slope).

Why we classify predictors from the data: whether a predictor belongs to level 1 or level 2 is
not in the formula; it is a property of the data (a school mean is constant within each school).
We read it from the design the model actually used (after centring and dropping incomplete
rows), falling back on the original frame for variables that only enter through interactions.

Why the APA text is built here, not on a page: the paragraph and table are copied into reports,
so the numbers must be exactly those of the FitResult, rounded once by one set of rules (APA 7:
two decimals, no leading zero for statistics that cannot exceed 1, p < .001).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd
from scipy import stats

from hlm_core.design import INTERCEPT, ModelFrame, RandomBlock, TermCoding, VariableInfo
from hlm_core.result import FitResult
from hlm_core.spec import quote_name

__all__ = ["apa_paragraph", "apa_table", "fmt", "fmt_df", "fmt_p", "fmt_unit", "level_equations"]

Z975 = float(stats.norm.ppf(0.975))
MAX_LEVELS = 3  # HLM notation (pi, beta, gamma) goes up to three levels

# Symbols per number of levels: coefficient letters from level 1 up, the random-effect letters
# from level 1 (the residual) up, and the subscripts of a unit at each level.
_COEF = {2: ("β", "γ"), 3: ("π", "β", "γ")}
_COEF_TEX = {2: (r"\beta", r"\gamma"), 3: (r"\pi", r"\beta", r"\gamma")}
_RAND = {2: ("r", "u"), 3: ("e", "r", "u")}
_SUBS = {2: ("ij", "j"), 3: ("ijk", "jk", "k")}
_EXTRA_SUBS = "lmnopqst"  # subscripts for crossed grouping factors outside the nesting chain


# --------------------------------------------------------------------------- formatting


def fmt(x: float | None, decimals: int = 2) -> str:
    """A number with APA's two decimals. A value that is not 0 but would print as 0.00 keeps
    two significant digits instead (0.0015), so a small variance is not reported as zero."""
    if x is None or not math.isfinite(x):
        return "–"
    text = f"{x:.{decimals}f}"
    if float(text) == 0:
        if x != 0:
            text = f"{x:.2g}"
            if "e" in text:
                text = f"{x:.{decimals}e}"
        else:
            text = f"{0:.{decimals}f}"
    return text


def fmt_unit(x: float | None, decimals: int = 2) -> str:
    """Statistics bounded by 1 (ICC, R², correlations): APA drops the leading zero (.39)."""
    if x is None or not math.isfinite(x):
        return "–"
    text = f"{x:.{decimals}f}"
    if float(text) == 0:
        text = f"{0:.{decimals}f}"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def fmt_p(p: float | None) -> str:
    """A p value as APA prints it after 'p': '< .001', '.023', '> .999' (three decimals)."""
    if p is None or not math.isfinite(p):
        return "–"
    if p < 0.001:
        return "< .001"
    if p >= 0.9995:
        return "> .999"
    return f"{p:.3f}"[1:]


def _p_clause(p: float) -> str:
    text = fmt_p(p)
    return f"p {text}" if text[0] in "<>" else f"p = {text}"


def fmt_df(df: float) -> str:
    """Satterthwaite df are not whole numbers; two decimals, as lmerTest's summary rounds."""
    if df is None or not math.isfinite(df):
        return "–"
    return f"{df:.2f}"


def _count(n: int) -> str:
    return f"{n:,}"


def _plural(name: str) -> str:
    """'school' -> 'schools', 'class' -> 'classes'; other names -> "'schoolNR' groups"."""
    if re.fullmatch(r"[a-z]+", name):
        if name.endswith(("s", "x", "z", "ch", "sh")):
            return name + "es"
        if name.endswith("y") and name[-2:-1] not in "aeiou":
            return name[:-1] + "ies"
        return name + "s"
    return f"'{name}' groups"


def _tex_text(name: str) -> str:
    r"""A column name inside LaTeX \text{}: escape what LaTeX/KaTeX would read as commands."""
    out = []
    for ch in name:
        if ch in "#$%&_{}":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch == "~":
            out.append(r"\textasciitilde{}")
        elif ch == "^":
            out.append(r"\textasciicircum{}")
        elif ch in "\n\r\t":
            out.append(" ")
        else:
            out.append(ch)
    return r"\text{" + "".join(out) + "}"


# --------------------------------------------------------------------------- structure


@dataclass
class _Group:
    """One grouping factor as the equations need it."""

    name: str  # lme4 group name ("class:school")
    label: str  # the inner column, for sentences ("class")
    codes: np.ndarray
    n_levels: int


@dataclass
class _Structure:
    """Levels (nesting chain, innermost group first), extra crossed factors, variable levels."""

    chain: list[_Group]
    extra: list[_Group]
    var_level: dict[str, int]
    notes: list[str] = field(default_factory=list)

    @property
    def n_levels(self) -> int:
        return len(self.chain) + 1


def _unique_groups(mf: ModelFrame) -> list[_Group]:
    seen: dict[str, _Group] = {}
    for b in mf.blocks:
        if b.group not in seen:
            label = b.columns[0] if b.columns else b.group
            seen[b.group] = _Group(b.group, label, b.codes, b.n_levels)
    return list(seen.values())


def _nested_in(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True when every level of `inner` lies within a single level of `outer`."""
    pairs = np.unique(np.column_stack([inner, outer]), axis=0)
    return len(pairs) == len(np.unique(inner))


def _constant_within(values: np.ndarray, codes: np.ndarray) -> bool:
    """True when each column of `values` takes one value inside every group."""
    if values.ndim == 1:
        values = values[:, None]
    n_groups = int(codes.max()) + 1 if codes.size else 0
    for j in range(values.shape[1]):
        x = values[:, j].astype(float)
        ok = np.isfinite(x)
        if not ok.any():
            continue
        lo = np.full(n_groups, np.inf)
        hi = np.full(n_groups, -np.inf)
        np.minimum.at(lo, codes[ok], x[ok])
        np.maximum.at(hi, codes[ok], x[ok])
        spread = np.where(np.isfinite(lo), hi - lo, 0.0)
        scale = max(1.0, float(np.nanmax(np.abs(x[ok]))))
        if float(spread.max()) > 1e-9 * scale:
            return False
    return True


def _design_values(mf: ModelFrame, variable: str, frame: pd.DataFrame | None) -> np.ndarray | None:
    """The values of one predictor on the rows the model used, as the fit saw them.

    Preferred source: the variable's own main-effect columns in X (after centring); then its
    random-slope columns in Z; then the original frame (for variables that only appear inside
    interactions). None when nothing says.
    """
    for t in mf.fixed_terms:
        if t.variables == (variable,):
            idx = [mf.fixed_names.index(n) for n in t.names if n in mf.fixed_names]
            if idx:
                return mf.X[:, idx]
    for b in mf.blocks:
        offset = 1 if b.intercept else 0
        for t in b.terms:
            if t.variables == (variable,):
                return b.Z[:, offset : offset + len(t.names)]
            offset += len(t.names)
    if frame is not None and variable in frame.columns and len(frame) == mf.rows_total:
        s = frame[variable].iloc[mf.rows]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            return s.to_numpy(dtype=float)
        codes, _ = pd.factorize(s, use_na_sentinel=True)
        return codes.astype(float)
    return None


def _structure(mf: ModelFrame, frame: pd.DataFrame | None) -> _Structure:
    groups = _unique_groups(mf)
    notes: list[str] = []
    # the innermost grouping factor: the one with most levels (lme4 puts it first)
    inner = max(groups, key=lambda g: g.n_levels)
    chain = [inner]
    extra: list[_Group] = []
    for g in sorted((g for g in groups if g is not inner), key=lambda g: -g.n_levels):
        if len(chain) < MAX_LEVELS - 1 and _nested_in(chain[-1].codes, g.codes):
            chain.append(g)
        else:
            extra.append(g)
    if extra:
        names = ", ".join(f"'{g.name}'" for g in extra)
        notes.append(
            f"The random effects of {names} are not nested in "
            f"'{chain[-1].name}'; they are shown as extra terms (v) in the level-2 equations."
        )
    var_level: dict[str, int] = {}
    for v in mf.variables:
        vals = _design_values(mf, v, frame)
        level = 1
        if vals is not None:
            for g in chain:
                if _constant_within(vals, g.codes):
                    level += 1
                else:
                    break
        var_level[v] = level
    return _Structure(chain, extra, var_level, notes)


def _components(t: TermCoding, variables: dict[str, VariableInfo]) -> list[tuple[str, tuple]]:
    """Each column of a term: its lme4 name and its per-variable parts for display,
    `sectorPublic:cses` -> (("sector", "sectorPublic"), ("cses", "cses")). Built in
    model.matrix's order, as design.py names them. A numeric variable is shown by its plain
    name (the parentheses of the equations delimit it); a factor level as in the tables."""
    parts = []
    for v, c in zip(t.variables, t.codings, strict=True):
        q = quote_name(v)
        if c == "numeric":
            parts.append([(v, q, v)])
        else:
            lv = variables[v].levels
            lv = lv[1:] if c == "contrast" else lv
            parts.append([(v, q + level, q + level) for level in lv])
    out = []
    for combo in product(*reversed(parts)):
        combo = tuple(reversed(combo))
        name = ":".join(lme4 for _, lme4, _ in combo)
        out.append((name, tuple((v, shown) for v, _, shown in combo)))
    return out


def _split(combo: tuple, var_level: dict[str, int], n_levels: int) -> tuple[tuple, ...]:
    """The parts of one column grouped by level: (level-1 parts, level-2 parts, ...)."""
    by = [[] for _ in range(n_levels)]
    for v, label in combo:
        by[min(var_level.get(v, 1), n_levels) - 1].append(label)
    return tuple(tuple(b) for b in by)


# --------------------------------------------------------------------------- equations


def _idx(*ks: int) -> str:
    return ("," if any(k >= 10 for k in ks) else "").join(str(k) for k in ks)


class _Eq:
    """Collects the pieces of the equations in plain text and LaTeX at the same time."""

    def __init__(self, n_levels: int):
        self.L = n_levels
        self.coef = _COEF[n_levels]
        self.coef_tex = _COEF_TEX[n_levels]
        self.rand = _RAND[n_levels]
        self.subs = _SUBS[n_levels]

    def sym(self, letter: str, tex: str, idx: tuple[int, ...], level: int) -> tuple[str, str]:
        """A coefficient symbol; `level` (1-based) picks the unit subscript (0: none)."""
        i = _idx(*idx)
        sub = self.subs[level - 1] if level else ""
        sep = "," if ("," in i and sub) else ""
        return f"{letter}{i}{sep}{sub}", f"{tex}_{{{i}{sep}{sub}}}"

    def var(self, parts: tuple[str, ...], level: int) -> tuple[str, str]:
        """A predictor (one or an interaction of several parts) at a level's subscript."""
        sub = self.subs[level - 1]
        plain = f"({':'.join(parts)})_{sub}"
        if len(parts) == 1:
            tex = f"{_tex_text(parts[0])}_{{{sub}}}"
        else:
            tex = "(" + r" \times ".join(_tex_text(p) for p in parts) + f")_{{{sub}}}"
        return plain, tex


def _join(items: list[tuple[str, str]]) -> tuple[str, str]:
    if not items:
        return "0", "0"
    plain = " + ".join(p for p, _ in items)
    tex = " + ".join(t for _, t in items)
    return plain, tex


def _times(a: tuple[str, str], b: tuple[str, str]) -> tuple[str, str]:
    return f"{a[0]}·{b[0]}", f"{a[1]}\\,{b[1]}"


def level_equations(result: FitResult, frame: pd.DataFrame | None = None) -> dict:
    """The model as HLM level equations (Raudenbush & Bryk) and as one mixed equation.

    Returns `level1`, `level2`, `level3` (lists of lines; `level3` empty for two levels),
    `mixed` (one line), the same under `latex_level1`, ..., `latex_mixed`, `variances` /
    `latex_variances` (the estimated variance of each random term), `levels` (the unit at
    each level, e.g. ["students", "school"]), `predictor_levels` ({variable: level}) and
    `notes`. Pass the frame the model was fitted to when a predictor enters only through an
    interaction: its level is then read from the data rather than assumed to be level 1.
    """
    mf = result.model_frame
    if mf is None:
        raise ValueError("This result has no design attached (model_frame); refit it.")
    st = _structure(mf, frame)
    L = st.n_levels
    eq = _Eq(L)
    outcome = result.spec.outcome

    # ---- fixed columns, split by level: (p, q[, s])
    fixed_cols: list[tuple[str, tuple, tuple[tuple, ...]]] = []  # name, combo, split
    if INTERCEPT in mf.fixed_names:
        fixed_cols.append((INTERCEPT, (), tuple(() for _ in range(L))))
    for t in mf.fixed_terms:
        for name, combo in _components(t, mf.variables):
            if name in mf.fixed_names:
                fixed_cols.append((name, combo, _split(combo, st.var_level, L)))

    # ---- random terms: (block level, key parts by level, group)
    chain_index = {g.name: k for k, g in enumerate(st.chain)}
    extra_index = {g.name: k for k, g in enumerate(st.extra)}
    random_terms: list[tuple[RandomBlock, str, tuple, tuple[tuple, ...]]] = []
    for b in mf.blocks:
        cols: list[tuple[str, tuple]] = [(INTERCEPT, ())] if b.intercept else []
        for t in b.terms:
            cols.extend(_components(t, mf.variables))
        for name, combo in cols:
            if b.group in chain_index and chain_index[b.group] == 1:
                split = _split(combo, st.var_level, L)
                key = (tuple(split[0]), tuple(p for lvl in split[1:] for p in lvl))
            else:  # level-2 or crossed random effect: it varies the level-1 coefficient
                key = (tuple(label for _, label in combo), ())
            random_terms.append((b, name, combo, key))

    # ---- level-1 predictors p (index 0 = intercept), level-2 predictors q per p
    P: list[tuple] = []
    if any(split[0] == () for _, _, split in fixed_cols) or any(
        key[0] == () for *_, key in random_terms
    ):
        P.append(())
    for _, _, split in fixed_cols:
        if split[0] not in P:
            P.append(split[0])
    for *_, key in random_terms:
        if key[0] not in P:
            P.append(key[0])
    p_num = {p: (k if () in P else k + 1) for k, p in enumerate(P)}

    Q: dict[tuple, list[tuple]] = {p: [] for p in P}
    for _, _, split in fixed_cols:
        if split[1] not in Q[split[0]]:
            Q[split[0]].append(split[1])
    for b, _, _, key in random_terms:
        if L == 3 and chain_index.get(b.group) == 1 and key[1] not in Q[key[0]]:
            Q[key[0]].append(key[1])
    for p in P:  # the q = () equation (the coefficient's own intercept) comes first
        if () in Q[p]:
            Q[p].remove(())
            Q[p].insert(0, ())
    q_num = {(p, q): (k if () in Q[p] else k + 1) for p in P for k, q in enumerate(Q[p])}

    S: dict[tuple, list[tuple]] = {}
    if L == 3:
        for _, _, split in fixed_cols:
            key = (split[0], split[1])
            S.setdefault(key, [])
            if split[2] not in S[key]:
                S[key].append(split[2])
        for key in S:
            if () in S[key]:
                S[key].remove(())
                S[key].insert(0, ())
    s_num = {
        (pq, s): (k if () in S[pq] else k + 1) for pq, ss in S.items() for k, s in enumerate(ss)
    }

    def gamma(split: tuple[tuple, ...]) -> tuple[str, str]:
        p = split[0]
        if L == 2:
            return eq.sym(eq.coef[1], eq.coef_tex[1], (p_num[p], q_num[(p, split[1])]), 0)
        pq = (p, split[1])
        return eq.sym(eq.coef[2], eq.coef_tex[2], (p_num[p], q_num[pq], s_num[(pq, split[2])]), 0)

    def rand_sym(b: RandomBlock, key: tuple) -> tuple[str, str]:
        p, q = key
        if b.group in chain_index:
            level = chain_index[b.group] + 2  # the level whose units the effect belongs to
            letter = eq.rand[level - 1]
            if level == 2:
                return eq.sym(letter, letter, (p_num[p],), 2)
            return eq.sym(letter, letter, (p_num[p], q_num[(p, q)]), 3)
        k = extra_index[b.group]
        sub = _EXTRA_SUBS[k % len(_EXTRA_SUBS)]
        i = _idx(p_num[p])
        return f"v{i}{sub}", f"v_{{{i}{sub}}}"

    # ---- level 1
    terms: list[tuple[str, str]] = []
    for p in P:
        # a level-1 coefficient varies over level-2 units: subscript j (jk for 3 levels)
        coef = eq.sym(eq.coef[0], eq.coef_tex[0], (p_num[p],), 2)
        terms.append(coef if p == () else _times(coef, eq.var(p, 1)))
    resid = f"{eq.rand[0]}_{eq.subs[0]}", f"{eq.rand[0]}_{{{eq.subs[0]}}}"
    y_plain = f"{outcome}_{eq.subs[0]}"
    y_tex = eq.var((outcome,), 1)[1]
    rhs = _join([*terms, resid])
    level1 = [f"{y_plain} = {rhs[0]}"]
    latex1 = [f"{y_tex} = {rhs[1]}"]

    # ---- level 2
    level2: list[str] = []
    latex2: list[str] = []
    for p in P:
        items: list[tuple[str, str]] = []
        for q in Q[p]:
            if L == 2:
                c = gamma((p, q))
                if not any(split == (p, q) for _, _, split in fixed_cols):
                    continue
            else:
                c = eq.sym(eq.coef[1], eq.coef_tex[1], (p_num[p], q_num[(p, q)]), 3)
            items.append(c if q == () else _times(c, eq.var(q, 2)))
        for b, _, _, key in random_terms:
            in_chain2 = b.group in chain_index and chain_index[b.group] == 0
            if key[0] == p and (in_chain2 or b.group in extra_index):
                items.append(rand_sym(b, key))
        lhs = eq.sym(eq.coef[0], eq.coef_tex[0], (p_num[p],), 2)
        rhs = _join(items)
        level2.append(f"{lhs[0]} = {rhs[0]}")
        latex2.append(f"{lhs[1]} = {rhs[1]}")

    # ---- level 3
    level3: list[str] = []
    latex3: list[str] = []
    if L == 3:
        for p in P:
            for q in Q[p]:
                items = []
                for s in S.get((p, q), []):
                    c = gamma((p, q, s))
                    items.append(c if s == () else _times(c, eq.var(s, 3)))
                for b, _, _, key in random_terms:
                    if chain_index.get(b.group) == 1 and key == (p, q):
                        items.append(rand_sym(b, key))
                lhs = eq.sym(eq.coef[1], eq.coef_tex[1], (p_num[p], q_num[(p, q)]), 3)
                rhs = _join(items)
                level3.append(f"{lhs[0]} = {rhs[0]}")
                latex3.append(f"{lhs[1]} = {rhs[1]}")

    # ---- mixed: substitute every equation into level 1
    mixed_items: list[tuple[str, str]] = []
    for _, _, split in fixed_cols:
        c = gamma(split)
        for lvl in range(L):
            if split[lvl]:
                c = _times(c, eq.var(split[lvl], lvl + 1))
        mixed_items.append(c)
    for b, _, _, key in random_terms:
        c = rand_sym(b, key)
        if key[0]:
            c = _times(c, eq.var(key[0], 1))
        if key[1]:
            c = _times(c, eq.var(key[1], 2))
        mixed_items.append(c)
    mixed_items.append(resid)
    rhs = _join(mixed_items)
    mixed = f"{y_plain} = {rhs[0]}"
    latex_mixed = f"{y_tex} = {rhs[1]}"

    # ---- variances of the random terms, from the fit
    variances: list[str] = []
    latex_var: list[str] = []
    vc = result.varcorr
    for b, name, _, key in random_terms:
        row = vc[(vc["group"] == b.vc_group) & (vc["term1"] == name) & (vc["term2"] == "")]
        if row.empty:
            continue
        s = rand_sym(b, key)
        v = float(row["vcov"].iloc[0])
        variances.append(f"Var({s[0]}) = {fmt(v)} ({b.group})")
        latex_var.append(rf"\operatorname{{Var}}({s[1]}) = {fmt(v)}")
    by_block: dict[str, list[tuple[str, tuple[str, str]]]] = {}
    for b, name, _, key in random_terms:
        by_block.setdefault(b.vc_group, []).append((name, rand_sym(b, key)))
    corr = vc[vc["term2"] != ""]
    for _, r in corr.iterrows():
        syms = dict(by_block.get(r["group"], []))
        if r["term1"] in syms and r["term2"] in syms:
            a, c = syms[r["term1"]], syms[r["term2"]]
            variances.append(f"Corr({a[0]}, {c[0]}) = {fmt_unit(r['sdcor'])}")
            latex_var.append(
                rf"\operatorname{{Corr}}({a[1]}, {c[1]}) = {fmt_unit(r['sdcor'])}"
            )
    sigma2 = result.sigma**2
    variances.append(f"Var({resid[0]}) = σ² = {fmt(sigma2)}")
    latex_var.append(rf"\operatorname{{Var}}({resid[1]}) = \sigma^2 = {fmt(sigma2)}")

    # ---- notes: what the reader needs to read the equations
    notes = list(st.notes)
    unit_names = ["students", *(g.label for g in st.chain)]
    for lvl in range(2, L + 1):
        vs = [v for v, k in st.var_level.items() if k == lvl]
        if vs:
            where = st.chain[lvl - 2].label
            notes.append(
                f"Level-{lvl} predictors (the same for everyone in a {where}): "
                + ", ".join(vs) + "."
            )
    notes.extend(_centring_sentences(mf))
    return {
        "level1": level1,
        "level2": level2,
        "level3": level3,
        "mixed": mixed,
        "latex_level1": latex1,
        "latex_level2": latex2,
        "latex_level3": latex3,
        "latex_mixed": latex_mixed,
        "variances": variances,
        "latex_variances": latex_var,
        "levels": unit_names,
        "predictor_levels": dict(st.var_level),
        "notes": notes,
    }


def _centring_sentences(mf: ModelFrame, past: bool = False) -> list[str]:
    """One sentence per centred predictor, so no reader mistakes a centred slope for a raw one."""
    from hlm_core.design import group_mean_name
    from hlm_core.effects import centring_group

    g = centring_group(mf.spec)
    verb = "was" if past else "is"
    out = []
    for v, info in mf.variables.items():
        if info.center == "grand":
            out.append(f"{v} {verb} centred at its overall mean ({fmt(info.raw_mean)}).")
        elif info.center == "group":
            m = group_mean_name(v)
            if past:
                out.append(
                    f"{v} was centred within {g} (each student's difference from the {g} "
                    f"mean), and the {g} mean of {v} ({m}) was added as a predictor."
                )
            else:
                out.append(
                    f"{v} is centred within {g} (each student's difference from the {g} "
                    f"mean); {m} is the {g} mean of {v}."
                )
    return out


# --------------------------------------------------------------------------- APA


def _term_label(term: str) -> str:
    return "intercept" if term == INTERCEPT else term


def _group_phrase(result: FitResult) -> str:
    """'N = 4,059 students in J = 65 schools' (or classes within schools, or crossed)."""
    mf = result.model_frame
    n = f"N = {_count(result.nobs)} students"
    if mf is None:
        groups = ", ".join(f"{_count(k)} {_plural(g)}" for g, k in result.ngroups.items())
        return f"{n} in {groups}"
    st = _structure(mf, None)
    chain = st.chain
    text = f"{n} in J = {_count(chain[0].n_levels)} {_plural(chain[0].label)}"
    for g in chain[1:]:
        text += f" within K = {_count(g.n_levels)} {_plural(g.label)}"
    if st.extra:
        text += " and " + ", ".join(
            f"{_count(g.n_levels)} {_plural(g.label)}" for g in st.extra
        ) + " (crossed)"
    return text


def _fixed_clause(row: pd.Series) -> str:
    ci = f"95% CI [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"
    return (
        f"b = {fmt(row['estimate'])}, SE = {fmt(row['std_error'])}, "
        f"t({fmt_df(row['df'])}) = {fmt(row['t_value'])}, {_p_clause(row['p_value'])}, {ci}"
    )


def apa_paragraph(result: FitResult, frame: pd.DataFrame | None = None) -> str:
    """An APA-style paragraph describing the fitted model, ready to paste into a report.

    States the sample (N students in J groups), the estimation (REML/ML, Satterthwaite df as
    in lmerTest), centring, the ICC, every fixed effect with b, SE, t(df), p and 95% CI, the
    SD of each random effect with the range in which 95% of the groups' intercepts and slopes
    are expected to lie, and Nakagawa's marginal and conditional R². `frame` is not needed;
    it is accepted for symmetry with `level_equations`.
    """
    del frame
    spec = result.spec
    mf = result.model_frame
    method = (
        "restricted maximum likelihood (REML)" if result.reml else "maximum likelihood (ML)"
    )
    parts: list[str] = []
    parts.append(
        f"We fitted a linear mixed model (multilevel model) for {spec.outcome} to data from "
        f"{_group_phrase(result)}, with the lme4 formula {result.formula}."
    )
    if mf is not None:
        parts.extend(_centring_sentences(mf, past=True))
    if result.rows_dropped:
        parts.append(
            f"{_count(result.rows_dropped)} of {_count(result.rows_total)} rows were excluded "
            "because of missing values."
        )
    parts.append(
        f"Parameters were estimated by {method}; degrees of freedom for the t tests and "
        "confidence intervals of the fixed effects use the Satterthwaite approximation "
        "(as in lmerTest)."
    )
    if result.icc is not None and math.isfinite(result.icc):
        if not result.icc_adjusted:
            by = result.extra.get("icc_by_group") or {}
            if len(by) > 1:
                detail = ", ".join(f"{fmt_unit(v)} for {g}" for g, v in by.items())
                parts.append(f"The intraclass correlations were {detail}.")
            else:
                where = _plural(mf.blocks[0].columns[0]) if mf is not None else "groups"
                parts.append(
                    f"The intraclass correlation was ICC = {fmt_unit(result.icc)}: "
                    f"{100 * result.icc:.0f}% of the variance in {spec.outcome} lies between "
                    f"{where}."
                )
        else:
            parts.append(
                f"The adjusted intraclass correlation (Nakagawa) was ICC = "
                f"{fmt_unit(result.icc)}."
            )

    fixed = result.fixed
    if len(fixed):
        clauses = [f"{_term_label(r['term'])}, {_fixed_clause(r)}" for _, r in fixed.iterrows()]
        parts.append("Fixed effects: " + "; ".join(clauses) + ".")

    parts.extend(_random_sentences(result))
    parts.append(
        f"The fixed effects explained R² = {fmt_unit(result.r2_marginal)} of the variance "
        f"(marginal R²); fixed and random effects together R² = "
        f"{fmt_unit(result.r2_conditional)} (conditional R², Nakagawa & Schielzeth)."
    )
    if result.singular:
        parts.append(
            "The fit was singular (a variance component was estimated at or near zero), so the "
            "random-effects structure may be simpler than specified."
        )
    if not result.converged:
        parts.append(
            "The estimation did not converge; the estimates should be treated with caution."
        )
    return " ".join(p.strip() for p in parts if p.strip())


def _random_sentences(result: FitResult) -> list[str]:
    vc = result.varcorr
    fixef = result.fixef()
    out: list[str] = []
    mf = result.model_frame
    labels = {}
    if mf is not None:
        for b in mf.blocks:
            labels[b.vc_group] = b.columns[0] if b.columns else b.group
    interacted = {
        t for t in fixef for other in fixef if other != t and t in other.split(":")
    }
    for grp in dict.fromkeys(vc.loc[vc["group"] != "Residual", "group"]):
        rows = vc[(vc["group"] == grp) & (vc["term2"] == "")]
        word = _plural(labels.get(grp, grp))
        pieces = []
        ranges = []
        for _, r in rows.iterrows():
            term = r["term1"]
            sd = float(r["sdcor"])
            what = "intercept" if term == INTERCEPT else f"slope of {term}"
            centre = fixef.get(term, 0.0)
            if not sd > 1e-8 * max(1.0, abs(centre)):
                pieces.append(f"the {what} (SD = {fmt(sd)}, estimated at zero)")
                continue
            pieces.append(f"the {what} (SD = {fmt(sd)})")
            lo, hi = centre - Z975 * sd, centre + Z975 * sd
            cond = " (where the other predictors are 0)" if term in interacted else ""
            if term == INTERCEPT:
                ranges.append(f"intercepts between {fmt(lo)} and {fmt(hi)}")
            else:
                ranges.append(f"slopes of {term} between {fmt(lo)} and {fmt(hi)}{cond}")
        if not pieces:
            continue
        sentence = f"Across {word}, " + _and(pieces) + " varied"
        corr = vc[(vc["group"] == grp) & (vc["term2"] != "")]
        if len(corr):
            cs = [
                f"r = {fmt_unit(float(c['sdcor']))} between the {_what(c['term1'])} and the "
                f"{_what(c['term2'])}"
                for _, c in corr.iterrows()
            ]
            sentence += " (" + "; ".join(cs) + ")"
        if ranges:
            sentence += f"; 95% of {word} are expected to have " + _and(ranges)
        sentence += "."
        out.append(sentence)
    out.append(f"The residual SD was {fmt(result.sigma)}.")
    return out


def _what(term: str) -> str:
    return "intercepts" if term == INTERCEPT else f"slopes of {term}"


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


APA_COLUMNS = ["Part", "Term", "Estimate", "SE", "df", "t", "p", "95% CI", "SD"]


def apa_table(result: FitResult) -> pd.DataFrame:
    """Fixed-effect rows, then random-effect rows, as formatted strings for a report.

    Fixed effects: b, SE, Satterthwaite df, t, p ('< .001') and 95% CI. Random effects: the
    variance of each term per grouping (Estimate) with its SD, the correlations (Estimate,
    no leading zero), and the residual. `df.attrs["note"]` holds the APA table note.
    """
    rows: list[dict[str, str]] = []
    for _, r in result.fixed.iterrows():
        rows.append({
            "Part": "Fixed effects",
            "Term": "Intercept" if r["term"] == INTERCEPT else r["term"],
            "Estimate": fmt(r["estimate"]),
            "SE": fmt(r["std_error"]),
            "df": fmt_df(r["df"]),
            "t": fmt(r["t_value"]),
            "p": fmt_p(r["p_value"]),
            "95% CI": f"[{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]",
            "SD": "",
        })
    blank = {"SE": "", "df": "", "t": "", "p": "", "95% CI": ""}
    for _, r in result.varcorr.iterrows():
        if r["group"] == "Residual":
            rows.append({"Part": "Random effects", "Term": "Residual",
                         "Estimate": fmt(r["vcov"]), **blank, "SD": fmt(r["sdcor"])})
        elif r["term2"] == "":
            t1 = "Intercept" if r["term1"] == INTERCEPT else r["term1"]
            rows.append({"Part": "Random effects", "Term": f"{t1} | {r['group']} (variance)",
                         "Estimate": fmt(r["vcov"]), **blank, "SD": fmt(r["sdcor"])})
        else:
            t1 = "Intercept" if r["term1"] == INTERCEPT else r["term1"]
            t2 = "Intercept" if r["term2"] == INTERCEPT else r["term2"]
            rows.append({"Part": "Random effects",
                         "Term": f"{t1}, {t2} | {r['group']} (correlation)",
                         "Estimate": fmt_unit(r["sdcor"]), **blank, "SD": ""})
    table = pd.DataFrame(rows, columns=APA_COLUMNS)
    groups = "; ".join(f"{g}: {_count(k)} groups" for g, k in result.ngroups.items())
    table.attrs["note"] = (
        f"Note. N = {_count(result.nobs)} ({groups}). Estimated by {result.method}; df by the "
        f"Satterthwaite approximation (lmerTest). Marginal R² = {fmt_unit(result.r2_marginal)}, "
        f"conditional R² = {fmt_unit(result.r2_conditional)}."
    )
    return table
