"""A smaller design with the same cross-products, for the linear engine.

lme4's profiled criterion, its fixed effects, BLUPs, sigma and vcov depend on the data only
through Z'Z, Z'X, Z'y, X'X, X'y, y'y and the number of rows. Rows that share every grouping
level (a *cell*: a class, when classes are nested in schools) can therefore be replaced by at
most k pseudo-rows with the same cross-products, k being the number of distinct columns among
Z, X and y; zero rows keep the row count n. mixedlm's native evaluator costs time per row, so
10,000,000 pupils in 200,000 classes (y ~ x + (x | class): the distinct columns are 1, x and y)
become 600,000 pseudo-rows plus zero rows, and each of the fit's, the df's and the Hessian
check's deviance evaluations gets several times cheaper. The numbers agree with the full design
to rounding (tests/test_compact.py).

Each cell's pseudo-rows come from an eigendecomposition of its cross-product matrix, computed on
globally centred columns (when there is a column of ones) and with unit diagonal, then mapped
back exactly, so the rounding stays that of forming the cross-products themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlm_core.design import ModelFrame

MIN_SAVING = 3  # compact only when the pseudo-rows are at most a third of the rows
# The cross-products take k(k+1)/2 passes over the rows: with 300,000 rows in 6,000 classes,
# compacting saved a third of the fit's CPU time at k = 7, broke even at k = 13 and lost a
# fifth at k = 23, so beyond this many distinct columns the fit uses every row.
MAX_DISTINCT = 10
ZERO_EIGEN = 1e-13  # a cell's direction with (unit-diagonal) eigenvalue below this carries nothing


@dataclass
class CompactRows:
    """Pseudo-rows standing for the model frame's rows: same cross-products, same n."""

    y: np.ndarray  # (m,)
    X: np.ndarray  # (m, p)
    Z: list[np.ndarray]  # per random block, (m, q_b)
    codes: list[np.ndarray]  # per random block, the level of each pseudo-row
    nobs: int  # the rows they stand for (the design is padded with zero rows up to this)
    cell_n: np.ndarray | None = None  # per cell: its rows (None without a column of ones)
    cell_sums: np.ndarray | None = None  # per cell: the sums of Z's, X's and y's columns
    cell_levels: list[np.ndarray] | None = None  # per random block, the level of each cell


def _cells(mf: ModelFrame) -> tuple[np.ndarray, int] | None:
    """Each row's cell (its combination of grouping levels) and the number of cells; None
    when there are too many cells for compacting to pay."""
    first = mf.blocks[0]
    cell, count = first.codes, first.n_levels
    for b in mf.blocks[1:]:
        if b.codes is cell or _determined_by(cell, count, b.codes):
            continue  # nested in the cells so far (or the same factor): cells unchanged
        key = cell.astype(np.int64) * b.n_levels + b.codes
        uniq, cell = np.unique(key, return_inverse=True)
        count = len(uniq)
        if count * MIN_SAVING > mf.nobs:
            return None
    return cell, count


def _determined_by(cell: np.ndarray, count: int, codes: np.ndarray) -> bool:
    """True when every cell has one level of `codes` (e.g. classes within schools)."""
    level = np.zeros(count, dtype=codes.dtype)
    level[cell] = codes
    return bool(np.array_equal(level[cell], codes))


def _distinct(columns: list[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """The distinct columns (an intercept in Z and in X is one column) and, per column, its
    index among them."""
    base: list[np.ndarray] = []
    index: list[int] = []
    for c in columns:
        for j, u in enumerate(base):
            if c is u or (np.array_equal(c[:64], u[:64]) and np.array_equal(c, u)):
                index.append(j)
                break
        else:
            index.append(len(base))
            base.append(c)
    return base, index


def _cell_crossproducts(base: list[np.ndarray], cell: np.ndarray, count: int,
                        ones: int | None, centre: np.ndarray) -> np.ndarray:
    """Per cell, the cross-products of the (centred) distinct columns: count x k x k."""
    k = len(base)
    cols = [c if j == ones or centre[j] == 0 else c - centre[j] for j, c in enumerate(base)]
    M = np.empty((count, k, k))
    for a in range(k):
        for b in range(a, k):
            if a == ones and b == ones:
                w = None
            elif a == ones or b == ones:
                w = cols[b if a == ones else a]
            else:
                w = cols[a] * cols[b]
            v = np.bincount(cell, weights=w, minlength=count)
            M[:, a, b] = v
            M[:, b, a] = v
    return M


def _pseudo_rows(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows R_c with R_c'R_c = M_c for each cell c (eigendecomposition with unit diagonal);
    returns the rows (m x k) and each row's cell."""
    scale = np.sqrt(np.einsum("cii->ci", M))
    scale[scale == 0] = 1.0
    d, V = np.linalg.eigh(M / (scale[:, :, None] * scale[:, None, :]))
    keep = d > ZERO_EIGEN
    rows = np.sqrt(np.where(keep, d, 0.0))[:, :, None] * np.swapaxes(V, 1, 2)  # cell, row, col
    rows *= scale[:, None, :]
    which = np.nonzero(keep)
    return rows[which], which[0]


def compact_rows(mf: ModelFrame, X: np.ndarray) -> CompactRows | None:
    """Pseudo-rows for `mf` with fixed-effects design `X` (mf.X, or a reparametrisation of
    it), or None when compacting would not cut the rows at least MIN_SAVING times or the
    columns are too many for it to pay (MAX_DISTINCT)."""
    n = mf.nobs
    if not mf.blocks:
        return None
    columns = [z for b in mf.blocks for z in b.Z.T] + list(X.T) + [mf.y]
    base, index = _distinct(columns)
    if len(base) > MAX_DISTINCT:
        return None
    cells = _cells(mf)
    if cells is None or cells[1] * len(base) * MIN_SAVING > n:
        return None
    cell, count = cells
    ones = next((j for j, c in enumerate(base) if c[0] == 1.0 and np.all(c == 1.0)), None)
    centre = np.zeros(len(base))
    if ones is not None:  # centring keeps the cross-products' rounding small; mapped back below
        centre = np.array([0.0 if j == ones else float(c.mean()) for j, c in enumerate(base)])
    M = _cell_crossproducts(base, cell, count, ones, centre)
    rows, row_cell = _pseudo_rows(M)
    if len(rows) * MIN_SAVING > n:
        return None
    cell_n = sums = None
    if ones is not None:
        rows += rows[:, [ones]] * centre[None, :]
        cell_n = M[:, ones, ones]  # (the ones column is not centred: its products are counts)
        sums = (M[:, ones, :] + cell_n[:, None] * centre[None, :])[:, index]
    out = rows[:, index]  # every column of Z, X and y, from its distinct column
    levels = []
    for b in mf.blocks:
        level = np.zeros(count, dtype=np.int64)
        level[cell] = b.codes
        levels.append(level)
    q = np.cumsum([0] + [b.Z.shape[1] for b in mf.blocks])
    p = X.shape[1]
    return CompactRows(
        y=out[:, -1], X=out[:, q[-1]:q[-1] + p],
        Z=[out[:, q[i]:q[i + 1]] for i in range(len(mf.blocks))],
        codes=[level[row_cell] for level in levels], nobs=n,
        cell_n=cell_n, cell_sums=sums, cell_levels=levels,
    )
