"""HLM level equations (Raudenbush & Bryk notation) built from a fit: which level each predictor
belongs to, read from the data, and one equation per level (see `hlm_core.writeup` for why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd

from hlm_core.design import INTERCEPT, ModelFrame, RandomBlock, TermCoding, VariableInfo
from hlm_core.formatting import _tex_text, fmt, fmt_unit
from hlm_core.result import FitResult
from hlm_core.spec import quote_name

MAX_LEVELS = 3  # HLM notation (pi, beta, gamma) goes up to three levels

# Symbols per number of levels: coefficient letters from level 1 up, the random-effect letters
# from level 1 (the residual) up, and the subscripts of a unit at each level.
_COEF = {2: ("β", "γ"), 3: ("π", "β", "γ")}
_COEF_TEX = {2: (r"\beta", r"\gamma"), 3: (r"\pi", r"\beta", r"\gamma")}
_RAND = {2: ("r", "u"), 3: ("e", "r", "u")}
_SUBS = {2: ("ij", "j"), 3: ("ijk", "jk", "k")}
_EXTRA_SUBS = "lmnopqst"  # subscripts for crossed grouping factors outside the nesting chain


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
