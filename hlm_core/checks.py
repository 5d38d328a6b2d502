"""lme4's checks on a model's design, done as lme4 does them and told in plain words.

Why a module of its own: lme4 keeps or drops columns, refuses or warns, by a handful of exact
rules (`chkRank.drop.cols`, `checkScaleX`, `checkNlevels`, `checkZdims`, `checkConv`'s Hessian
test). An analyst who refits our model in R must meet the same model, so each rule is copied
here with lme4's tolerance, not approximated; the messages say what happened and what to do.
"""

from __future__ import annotations

import math

import numpy as np

RANK_TOL = 1e-7  # lme4's chkRank.drop.cols(tol = 1e-7), passed to R's qr()
SCALE_TOL = 1e3  # lme4's checkScaleX(tol = 1e3)
HESS_TOL = 1e-6  # lme4's check.conv.hess tolerance


def qr_keep(X: np.ndarray, tol: float = RANK_TOL) -> list[int]:
    """The columns R's `qr(X, tol, LAPACK = FALSE)` counts in its rank (`pivot[1:rank]`), which
    are the columns lme4 keeps.

    R's LINPACK routine (dqrdc2) is a Householder QR that works on the columns as they are (no
    centring, no scaling) and moves a column to the end as soon as what is left of it, after
    removing the columns before it, has a norm below `tol` times its original norm. So a year
    (2019-2021) is kept: after removing the intercept, its spread (~0.8 per row) is ~4e-4 of its
    size, far above 1e-7. The norms are down-dated as in dqrdc2 (recomputed when they fall by
    more than a factor 1e-3), so borderline columns go the way they go in R.
    """
    n, p = X.shape
    if p == 0:
        return []
    if _clearly_full_rank(X, tol):
        return list(range(p))
    if n > 4 * p:
        # The norms dqrdc2 compares don't change under an orthogonal transformation from the
        # left, so run it on R of a plain QR (p x p) instead of the n rows: same decisions,
        # and a second instead of several on a million rows.
        x = np.zeros((p + 1, p))
        x[:p] = np.linalg.qr(np.asarray(X, dtype=float), mode="r")
        n = p + 1  # a zero row keeps dqrdc2's "last row" rule from cutting in early
    else:
        x = np.array(X, dtype=float, copy=True, order="F")
    order = list(range(p))
    norms = np.sqrt((x**2).sum(axis=0))  # current norms of the reduced columns
    orig = norms.copy()
    orig[orig == 0] = 1.0
    k = p  # columns at k and beyond have been moved to the end as negligible
    for col in range(min(n, p)):
        while col < k and norms[col] < orig[col] * tol:
            perm = [*range(col), *range(col + 1, p), col]
            x, norms, orig = x[:, perm], norms[perm], orig[perm]
            order = [order[i] for i in perm]
            k -= 1
        if col == n - 1:
            continue
        v = x[col:, col]
        size = float(np.sqrt(v @ v))
        if size == 0.0:
            continue
        if v[0] != 0.0:
            size = math.copysign(size, v[0])
        v = v / size
        v[0] += 1.0
        x[col:, col] = v
        if col + 1 < p:
            rest = x[col:, col + 1 :]
            rest += np.outer(v, -(v @ rest) / v[0])
            ok = norms[col + 1 :] != 0.0
            with np.errstate(divide="ignore", invalid="ignore"):
                shrink = np.maximum(1.0 - (np.abs(rest[0]) / norms[col + 1 :]) ** 2, 0.0)
            for j in np.flatnonzero(ok):
                jj = col + 1 + j
                if shrink[j] >= 1e-6:
                    norms[jj] *= math.sqrt(shrink[j])
                else:
                    norms[jj] = float(np.sqrt(x[col + 1 :, jj] @ x[col + 1 :, jj]))
        x[col, col] = -size
    return order[: min(k, n)]


def _clearly_full_rank(X: np.ndarray, tol: float) -> bool:
    """The usual case, fast (a p x p Cholesky instead of a QR of n rows): every column keeps
    far more than `tol` of its norm after the columns before it are removed, so dqrdc2 moves
    none. Relative residual norms are the diagonal of the Cholesky factor of the Gram matrix of
    unit-norm columns, accurate to ~1e-15 in their squares, far below the (100 tol)^2 = 1e-10
    margin used here; anything closer goes through the exact emulation."""
    if X.shape[0] < X.shape[1]:
        return False
    gram = X.T @ X  # one pass over the rows (10,000,000 rows: 0.1 s, not 0.5 with copies)
    norms = np.sqrt(np.diag(gram))
    if (norms == 0).any():
        return False
    try:
        L = np.linalg.cholesky(gram / np.outer(norms, norms))
    except np.linalg.LinAlgError:
        return False
    return bool((np.diag(L) > 100 * tol).all())


def dropped_column_notes(X: np.ndarray, names: list[str], keep: list[int]) -> list[str]:
    """Why each dropped column was dropped, naming the kept columns it is made of."""
    notes: list[str] = []
    dropped = [i for i in range(len(names)) if i not in keep]
    if not dropped:
        return notes  # (and no copy of X's kept columns: 0.1 s per 3,000,000 rows)
    kept = X[:, keep]
    for j in dropped:
        col = X[:, j]
        if np.ptp(col) == 0:
            notes.append(
                f"'{names[j]}' has the same value in every row used, so it can't be estimated "
                "and was left out of the model (as lme4 does)."
            )
            continue
        coef = np.linalg.lstsq(kept, col, rcond=None)[0] if kept.shape[1] else np.empty(0)
        size = np.abs(coef) * np.sqrt((kept**2).sum(axis=0))
        parts = [names[keep[i]] for i in np.flatnonzero(size > 1e-6 * np.sqrt(col @ col))]
        made_of = _listing(["the intercept" if p == "(Intercept)" else f"'{p}'" for p in parts])
        notes.append(
            f"'{names[j]}' is an exact combination of {made_of or 'other predictors'} (for "
            "example a column that is another plus a constant), so it carries no new information "
            "and was left out of the model, as lme4 does."
        )
    return notes


def _listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def scale_warning(X: np.ndarray, names: list[str]) -> str | None:
    """lme4's checkScaleX: among the columns that are not all 0/1, a standard deviation above
    1000 or below 1/1000, or two that differ by more than a factor 1000, gets lme4's warning
    "Some predictor variables are on very different scales: consider rescaling"."""
    cont = [j for j in range(X.shape[1]) if not np.isin(X[:, j], (0.0, 1.0)).all()]
    if not cont or X.shape[0] < 2:
        return None
    sd = X[:, cont].std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ls = np.log(sd)
        ratios = np.abs(ls[:, None] - ls[None, :])
    limit = math.log(SCALE_TOL)
    if not ((np.abs(ls) > limit).any() or (ratios > limit).any()):
        return None
    big, small = int(np.argmax(sd)), int(np.argmin(sd))
    spread = f"'{names[cont[big]]}' has a spread (SD) of {sd[big]:,.4g}"
    if big != small:
        spread += f" and '{names[cont[small]]}' of {sd[small]:.3g}"
    return (
        f"Some predictors are on very different scales ({spread}), which lme4 warns about too "
        "(\"Some predictor variables are on very different scales: consider rescaling\"). The "
        "estimates are still shown, but the fitting is less stable and the coefficients hard to "
        "read. Consider centring the predictor (the centring option of the model builder) or "
        "rescaling it in your data, for example income in thousands or days in years."
    )


def hessian_warnings(hessian: np.ndarray) -> list[str]:
    """lme4's checkHess on the criterion's Hessian in the variance parameters (lme4 runs it only
    for a non-singular fit). Negative or zero curvature ("degenerate Hessian", "numerically
    singular") and a very large eigenvalue or eigenvalue ratio all mean the same to a user:
    the data barely pin some random-effect parameters down ("nearly unidentifiable")."""
    try:
        ev = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    except np.linalg.LinAlgError:
        return []
    if not np.all(np.isfinite(ev)):
        return []
    fix = (
        "This happens when a predictor with a random slope has very large or very small "
        "values (rescale it, for example income in thousands, or centre it), or when random "
        "terms overlap, such as a random intercept next to every level of a category (write "
        "(0 + category | group) instead); or remove the random slope, and fit again."
    )
    negative = int((ev < -HESS_TOL).sum())
    if negative:
        return [
            "The fit's curvature check failed (lme4's words: \"degenerate Hessian with "
            f"{negative} negative eigenvalues\"): some random-effect variances are nearly "
            "unidentifiable, so the optimum found may not be the best one. " + fix
        ]
    if (np.abs(ev) < HESS_TOL).any():
        return [
            "Some random-effect variances are nearly unidentifiable (lme4's words: \"Hessian is "
            "numerically singular: parameters are not uniquely determined\"). " + fix
        ]
    if ev.max() * HESS_TOL > 1 or ev.min() / ev.max() < HESS_TOL:
        return [
            "The random-effect variances are nearly unidentifiable (lme4's words: \"Model is "
            "nearly unidentifiable\"): the data barely pin some of them down. " + fix
        ]
    return []


def duplicated_random_term(blocks) -> str | None:
    """A random term written twice for the same grouping (`(1 | g) + (1 | g)`, or `(1 | s)`
    next to `(1 | s/c)`, which already holds it). lme4 fits it without a word, splitting one
    variance into two at an arbitrary ratio; we refuse it and say what to remove."""
    seen: dict[tuple[str, str], int] = {}
    for b in blocks:
        for term in b.term_names:
            key = (b.group, term)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] == 2:
                what = "random intercept" if term == "(Intercept)" else f"random slope of {term}"
                return (
                    f"The {what} for '{b.group}' appears twice in the random part (written "
                    "twice, or also included by a nested grouping such as school/class). One "
                    "variance can't be split between two identical terms: remove one of them."
                )
    return None


def double_bar_notes(spec, frame) -> list[str]:
    """What `||` does with a category among the slopes, for the formula caption and the
    fit's notes. lme4 splits `(x + f || g)` into `(1 | g) + (0 + x | g) + (0 + f | g)`: the
    terms become uncorrelated, but the levels of the category f stay one block with their
    correlations (a known lme4 behaviour), and so do we."""
    from hlm_core.factors import is_factor
    from hlm_core.formula import format_formula

    notes = []
    for r in spec.random:
        if r.correlated:
            continue
        cats = [v for t in r.slopes for v in t.variables if v in frame.columns
                and is_factor(frame[v])]
        for v in dict.fromkeys(cats):
            bar = format_formula(spec.with_(fixed=(), random=(r,), offset=())).split(" + ", 1)[1]
            notes.append(
                f"In {bar}, '||' makes the terms uncorrelated but not the levels of the category "
                f"'{v}': as in lme4, all of its levels form one random-effect block with their "
                f"correlations, so (0 + {v} | {'/'.join(r.grouping)}) is fitted as one term. "
                f"For separate, uncorrelated levels, make a 0/1 column for each level of '{v}' "
                "in your data and list those columns instead."
            )
    return notes
