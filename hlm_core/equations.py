"""HLM level equations (Raudenbush & Bryk notation) built from a fit: which level each predictor
belongs to, read from the data, and one equation per level (see `hlm_core.writeup` for why).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from hlm_core.design import INTERCEPT, ModelFrame, RandomBlock
from hlm_core.formatting import _tex_text, fmt, fmt_unit
from hlm_core.levels import (
    _components,
    _split,
    _Structure,
    _structure,
)
from hlm_core.result import FitResult

# Symbols per number of levels: coefficient letters from level 1 up, the random-effect letters
# from level 1 (the residual) up, and the subscripts of a unit at each level.
_COEF = {2: ("β", "γ"), 3: ("π", "β", "γ")}
_COEF_TEX = {2: (r"\beta", r"\gamma"), 3: (r"\pi", r"\beta", r"\gamma")}
_RAND = {2: ("r", "u"), 3: ("e", "r", "u")}
_SUBS = {2: ("ij", "j"), 3: ("ijk", "jk", "k")}
_EXTRA_SUBS = "lmnopqst"  # subscripts for crossed grouping factors outside the nesting chain


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


_FixedCol = tuple[str, tuple, tuple[tuple, ...]]  # name, combo, split by level
_RandomTerm = tuple[RandomBlock, str, tuple, tuple[tuple, ...]]  # block, name, combo, key


@dataclass
class _Layout:
    """Where every coefficient of the fit sits in the level equations, and its symbol.

    P: the level-1 predictors (() = the intercept); Q[p]: the level-2 predictors of p's
    coefficient; S[(p, q)]: the level-3 predictors of that coefficient (three levels only);
    p_num / q_num / s_num: their subscripts.
    """

    L: int
    eq: _Eq
    st: _Structure
    fixed_cols: list[_FixedCol]
    random_terms: list[_RandomTerm]
    chain_index: dict[str, int]
    extra_index: dict[str, int]
    P: list[tuple] = field(default_factory=list)
    Q: dict[tuple, list[tuple]] = field(default_factory=dict)
    S: dict[tuple, list[tuple]] = field(default_factory=dict)
    p_num: dict = field(default_factory=dict)
    q_num: dict = field(default_factory=dict)
    s_num: dict = field(default_factory=dict)

    def gamma(self, split: tuple[tuple, ...]) -> tuple[str, str]:
        L, eq, p_num, q_num, s_num = self.L, self.eq, self.p_num, self.q_num, self.s_num
        p = split[0]
        if L == 2:
            return eq.sym(eq.coef[1], eq.coef_tex[1], (p_num[p], q_num[(p, split[1])]), 0)
        pq = (p, split[1])
        return eq.sym(eq.coef[2], eq.coef_tex[2], (p_num[p], q_num[pq], s_num[(pq, split[2])]), 0)

    def rand_sym(self, b: RandomBlock, key: tuple) -> tuple[str, str]:
        eq, p_num, q_num, chain_index = self.eq, self.p_num, self.q_num, self.chain_index
        p, q = key
        if b.group in chain_index:
            level = chain_index[b.group] + 2  # the level whose units the effect belongs to
            letter = eq.rand[level - 1]
            if level == 2:
                return eq.sym(letter, letter, (p_num[p],), 2)
            return eq.sym(letter, letter, (p_num[p], q_num[(p, q)]), 3)
        k = self.extra_index[b.group]
        sub = _EXTRA_SUBS[k % len(_EXTRA_SUBS)]
        i = _idx(p_num[p])
        return f"v{i}{sub}", f"v_{{{i}{sub}}}"


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
    lay = equation_layout(mf, frame)
    level1, latex1, resid, y = level1_lines(lay, result.spec.outcome)
    level2, latex2 = level2_lines(lay)
    level3, latex3 = level3_lines(lay)
    mixed, latex_mixed = mixed_line(lay, resid, y)
    variances, latex_var = variance_lines(lay, result, resid)
    out = {
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
        "levels": ["students", *(g.label for g in lay.st.chain)],
        "predictor_levels": dict(lay.st.var_level),
        "notes": equation_notes(lay.st, mf),
    }
    if result.is_glmm:  # the link on the left, no level-1 residual
        from hlm_core.equations_glmm import adjust_for_link

        return adjust_for_link(out, result, resid, y)
    return out


def equation_layout(mf: ModelFrame, frame: pd.DataFrame | None) -> _Layout:
    """The levels of the data, each fixed column and random term split by level, and the
    numbering of the coefficients at every level."""
    st = _structure(mf, frame)
    L = st.n_levels
    chain_index = {g.name: k for k, g in enumerate(st.chain)}
    extra_index = {g.name: k for k, g in enumerate(st.extra)}
    lay = _Layout(
        L, _Eq(L), st, fixed_columns(mf, st), random_terms(mf, st, chain_index),
        chain_index, extra_index,
    )
    _number_coefficients(lay)
    return lay


def fixed_columns(mf: ModelFrame, st: _Structure) -> list[_FixedCol]:
    """Each fixed column kept in the fit, with its parts split by level: (p, q[, s])."""
    L = st.n_levels
    # ---- fixed columns, split by level: (p, q[, s])
    fixed_cols: list[tuple[str, tuple, tuple[tuple, ...]]] = []  # name, combo, split
    if INTERCEPT in mf.fixed_names:
        fixed_cols.append((INTERCEPT, (), tuple(() for _ in range(L))))
    for t in mf.fixed_terms:
        for name, combo in _components(t, mf.variables):
            if name in mf.fixed_names:
                fixed_cols.append((name, combo, _split(combo, st.var_level, L)))
    return fixed_cols


def random_terms(
    mf: ModelFrame, st: _Structure, chain_index: dict[str, int]
) -> list[_RandomTerm]:
    """Each random term: its block, name, parts and key (level-1 part, higher-level parts)."""
    L = st.n_levels
    # ---- random terms: (block level, key parts by level, group)
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
    return random_terms


def _number_coefficients(lay: _Layout) -> None:
    """Fill in P, Q, S and their subscripts (see _Layout)."""
    L, fixed_cols, random_terms = lay.L, lay.fixed_cols, lay.random_terms
    chain_index = lay.chain_index
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
    lay.P, lay.Q, lay.S = P, Q, S
    lay.p_num, lay.q_num, lay.s_num = p_num, q_num, s_num


def level1_lines(
    lay: _Layout, outcome: str
) -> tuple[list[str], list[str], tuple[str, str], tuple[str, str]]:
    """The level-1 equation (plain, LaTeX), the residual's symbol and the outcome's symbol."""
    eq, P, p_num = lay.eq, lay.P, lay.p_num
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
    return level1, latex1, resid, (y_plain, y_tex)


def level2_lines(lay: _Layout) -> tuple[list[str], list[str]]:
    """One equation per level-1 coefficient (plain, LaTeX)."""
    L, eq, P, Q, p_num, q_num = lay.L, lay.eq, lay.P, lay.Q, lay.p_num, lay.q_num
    fixed_cols, random_terms = lay.fixed_cols, lay.random_terms
    chain_index, extra_index = lay.chain_index, lay.extra_index
    gamma, rand_sym = lay.gamma, lay.rand_sym
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
    return level2, latex2


def level3_lines(lay: _Layout) -> tuple[list[str], list[str]]:
    """One equation per level-2 coefficient (plain, LaTeX); empty for two levels."""
    L, eq, P, Q, S, p_num, q_num = lay.L, lay.eq, lay.P, lay.Q, lay.S, lay.p_num, lay.q_num
    random_terms, chain_index = lay.random_terms, lay.chain_index
    gamma, rand_sym = lay.gamma, lay.rand_sym
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
    return level3, latex3


def mixed_line(
    lay: _Layout, resid: tuple[str, str], y: tuple[str, str]
) -> tuple[str, str]:
    """Every equation substituted into level 1: one line (plain, LaTeX)."""
    L, eq, fixed_cols, random_terms = lay.L, lay.eq, lay.fixed_cols, lay.random_terms
    gamma, rand_sym = lay.gamma, lay.rand_sym
    y_plain, y_tex = y
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
    return mixed, latex_mixed


def variance_lines(
    lay: _Layout, result: FitResult, resid: tuple[str, str]
) -> tuple[list[str], list[str]]:
    """The estimated variance of each random term and correlation, from the fit."""
    random_terms, rand_sym = lay.random_terms, lay.rand_sym
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
    return variances, latex_var


def equation_notes(st: _Structure, mf: ModelFrame) -> list[str]:
    """What the reader needs to read the equations: the structure's notes, the predictors at
    each higher level, and how predictors were centred."""
    L = st.n_levels
    # ---- notes: what the reader needs to read the equations
    notes = list(st.notes)
    for lvl in range(2, L + 1):
        vs = [v for v, k in st.var_level.items() if k == lvl]
        if vs:
            where = st.chain[lvl - 2].label
            notes.append(
                f"Level-{lvl} predictors (the same for everyone in a {where}): "
                + ", ".join(vs) + "."
            )
    notes.extend(_centring_sentences(mf))
    for o in mf.spec.offset:  # offset(x): part of the outcome, its coefficient fixed at 1
        notes.append(f"{o} is added to the right-hand side with its coefficient fixed at 1 "
                     "(an offset); it is not written in the equations.")
    return notes


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
