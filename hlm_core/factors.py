"""Factor levels as R makes them: which columns are factors, their level labels and order, and
integer codes for a factor or an interaction of factors (`class:school`).

Kept apart from `design` because structure, effects and figures need the same labels without
building a model frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def is_factor(series: pd.Series) -> bool:
    """Text, categorical and logical columns are factors; numbers are covariates (as in R)."""
    dt = series.dtype
    return (
        isinstance(dt, pd.CategoricalDtype)
        or pd.api.types.is_bool_dtype(dt)
        or pd.api.types.is_object_dtype(dt)
        or pd.api.types.is_string_dtype(dt)
    )


def level_labels(series: pd.Series) -> pd.Series:
    """Labels as R prints factor levels: whole numbers without '.0', text as is; missing values
    None. Each distinct value is labelled once (a label per row took seconds for a million
    rows)."""
    s = series
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.map({True: "TRUE", False: "FALSE"})
    if s.dtype == object:  # one label per row: 1 and 1.0 are one value but two labels here
        return s.map(lambda v: None if pd.isna(v) else str(v))
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    labels = np.empty(len(uniques) + 1, dtype=object)  # the last one: missing (code -1)
    labels[:-1] = _unique_labels(pd.Series(uniques, dtype=s.dtype))
    return pd.Series(labels[codes], index=s.index, dtype=object)


def _unique_labels(u: pd.Series) -> np.ndarray:
    """level_labels of distinct values, none missing."""
    if pd.api.types.is_numeric_dtype(u.dtype) and not pd.api.types.is_bool_dtype(u.dtype):
        vals = u.to_numpy(dtype=float)
        if (np.isfinite(vals) & (vals == np.round(vals))).all():
            return vals.astype(np.int64).astype(str).astype(object)
        return np.array([format(v, "g") for v in u], dtype=object)
    if pd.api.types.is_string_dtype(u.dtype):  # text already
        return u.to_numpy(dtype=object)
    return np.array([str(v) for v in u], dtype=object)


def sorted_levels(series: pd.Series, labels: pd.Series) -> list[str]:
    """Level order R gives `factor()`: numeric order for numbers, the categories' own order for
    an ordered categorical, otherwise alphabetical (case-insensitive first, like R's locale)."""
    present = pd.unique(labels.dropna())
    if isinstance(series.dtype, pd.CategoricalDtype) and series.dtype.ordered:
        cats = [str(c) for c in series.dtype.categories]
        return [c for c in cats if c in set(present)]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return sorted(present, key=float)
    # (casefold, label) pairs sorted as tuples: the order of key=(s.casefold(), s), without a
    # Python call per label (200,000 class IDs: 0.1 s, not 0.4)
    return [s for _, s in sorted(zip(map(str.casefold, present), present, strict=True))]


def factorize(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 = missing) and sorted level labels; works on the unique values only,
    so it stays fast on a million rows."""
    uniq_codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if len(uniques) == 0:
        return np.full(len(series), -1, dtype=np.int64), []
    if isinstance(series.dtype, pd.CategoricalDtype):
        u = pd.Series(pd.Categorical(np.asarray(uniques), dtype=series.dtype))
    else:
        u = pd.Series(uniques, dtype=series.dtype)
    labels = level_labels(u)
    levels = sorted_levels(u, labels)
    lookup = {lv: i for i, lv in enumerate(levels)}
    remap = np.array([lookup[lab] for lab in labels.tolist()], dtype=np.int64)
    if uniq_codes.min() >= 0:  # no missing value: one gather (10,000,000 rows: 0.05 s, not 0.3)
        return remap[uniq_codes], levels
    codes = np.where(uniq_codes >= 0, remap[np.maximum(uniq_codes, 0)], -1)
    return codes.astype(np.int64), levels


def combine_factors(parts: list[tuple[np.ndarray, list[str]]]) -> tuple[np.ndarray, list[str]]:
    """Codes and labels for an interaction of factors (`class:school`), labels joined by ':'
    and ordered as R's interaction(): the later factor varies fastest."""
    codes = np.zeros(len(parts[0][0]), dtype=np.int64)
    for c, lv in parts:
        codes = codes * len(lv) + c
    used, inv = np.unique(codes, return_inverse=True)
    labels = []
    for k in used:
        pieces = []
        for _c, lv in reversed(parts):
            pieces.append(lv[k % len(lv)])
            k //= len(lv)
        labels.append(":".join(reversed(pieces)))
    return inv.astype(np.int64), labels
