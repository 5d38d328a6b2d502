"""Views of the class effects, read from a FitResult (never refitting).

`ranef_table` is what the caterpillar plot draws; `pred_slope` is the seed's per-class
predicted line; `group_ols_lines` the raw-data per-class regression the seed drew with
`geom_smooth(method = "lm")`, so a user can see what the model adds (shrinkage).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from hlm_core.design import ModelFrame, RandomBlock, level_labels
from hlm_core.errors import ModelError
from hlm_core.result import FitResult

Z95 = 1.959963984540054


def ranef_table(result: FitResult, group: str) -> pd.DataFrame:
    """One row per group level and random term: the BLUP, its conditional SD, and the group's
    own coefficient (fixed effect + BLUP), each with a 95% interval."""
    if group not in result.ranef:
        raise ModelError(f"'{group}' is not a grouping level of this model.")
    re_ = result.ranef[group]
    co = result.coef[group]
    out = pd.DataFrame(
        {
            "level": re_["level"].to_numpy(),
            "n": re_["n"].to_numpy(),
            "term": re_["term"].to_numpy(),
            "ranef": re_["value"].to_numpy(),
            "cond_sd": re_["cond_sd"].to_numpy(),
        }
    )
    out["ranef_low"] = out["ranef"] - Z95 * out["cond_sd"]
    out["ranef_high"] = out["ranef"] + Z95 * out["cond_sd"]
    out["coef"] = co["value"].to_numpy()
    out["coef_low"] = out["coef"] - Z95 * out["cond_sd"]
    out["coef_high"] = out["coef"] + Z95 * out["cond_sd"]
    return out


HOLDS = {"mean": "their means (numbers) or reference category",
         "zero": "0 (numbers) or reference category, as lme4's coef() does"}
MAX_STEPS = 2000


def held_values(
    result: FitResult, predictor: str, hold: str | Mapping[str, float | str] = "mean"
) -> dict[str, float | str]:
    """The value every other predictor is held at while `predictor` varies.

    `hold="mean"`: numbers at their mean, categories at their reference level (the seed's
    pred.slope frame); `"zero"`: numbers at 0, so each line is the group's own intercept +
    slope x (lme4's `coef()`, the tutorial's table); a mapping gives typed values for some
    predictors (a number, or a level of a category), the rest at their means. Values are on the
    scale the model used (centred predictors: 0 is the centre)."""
    mf = _need_design(result)
    if isinstance(hold, str):
        if hold not in HOLDS:
            raise ModelError(f"Hold the other predictors at 'mean' or 'zero', not '{hold}'.")
        typed: Mapping[str, float | str] = {}
    else:
        typed = hold
        unknown = [k for k in typed if k not in mf.variables or k == predictor]
        if unknown:
            raise ModelError(
                f"'{unknown[0]}' is not a predictor to hold in this model; choose from: "
                + ", ".join(v for v in mf.variables if v != predictor)
            )
    out: dict[str, float | str] = {}
    for name, info in mf.variables.items():
        if name == predictor:
            continue
        if info.kind != "numeric":
            value = typed.get(name, info.levels[0])
            if str(value) not in info.levels:
                raise ModelError(f"Hold '{name}' at one of its categories: "
                                 + ", ".join(info.levels))
            out[name] = str(value)
            continue
        value = typed.get(name, 0.0 if hold == "zero" else info.mean)
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = float("nan")
        if not np.isfinite(value):
            raise ModelError(f"Hold '{name}' at a number (for example {info.mean:.4g}).")
        out[name] = value
    return out


def default_step(result: FitResult, predictor: str) -> float:
    """1 for a whole-number predictor (days, years); otherwise a round tenth of its range."""
    mf = _need_design(result)
    info = mf.variables[predictor]
    span = float(info.maximum - info.minimum)
    if predictor in mf.fixed_names:
        x = mf.X[:, mf.fixed_names.index(predictor)]
        if span >= 1 and np.all(np.mod(x, 1) == 0):
            return 1.0
    if span <= 0:
        return 1.0
    raw = span / 10
    base = 10 ** np.floor(np.log10(raw))
    return float(min((m * base for m in (1, 2, 5, 10) if m * base >= raw), default=raw))


def _steps(lo: float, hi: float, step: float) -> np.ndarray:
    """lo, lo + step, ... up to hi (hi itself always included)."""
    if not np.isfinite(step) or step <= 0:
        raise ModelError("The step must be a number above 0 (for example 1).")
    count = int(np.floor((hi - lo) / step * (1 + 1e-12))) + 1
    if count > MAX_STEPS:
        raise ModelError(
            f"A step of {step:g} from {lo:g} to {hi:g} gives {count:,} rows per group; "
            f"choose a step of at least {(hi - lo) / MAX_STEPS:.3g}."
        )
    xs = lo + step * np.arange(count)
    xs = np.round(xs, 12)  # 0.1 * 3 prints as 0.3, not 0.30000000000000004
    return xs if np.isclose(xs[-1], hi) else np.append(xs, hi)


def _need_design(result: FitResult) -> ModelFrame:
    if result.model_frame is None:
        raise ModelError("This result has no design attached; fit the model again.")
    return result.model_frame


def _block_for(mf: ModelFrame, group: str | None) -> list[RandomBlock]:
    if group is None:
        group = mf.blocks[0].group
    blocks = [b for b in mf.blocks if b.group == group]
    if not blocks:
        raise ModelError(f"'{group}' is not a grouping level of this model.")
    return blocks


def pred_slope(
    result: FitResult,
    predictor: str,
    lo: float | None = None,
    hi: float | None = None,
    n: int = 2,
    group: str | None = None,
    *,
    step: float | None = None,
    hold: str | Mapping[str, float | str] = "mean",
) -> pd.DataFrame:
    """Each group's predicted line over [lo, hi] from its own coefficients.

    Columns: `[predictor, "group", "prediction"]`, one row per group per x. The x values are
    lo, lo + step, ..., hi with `step` (the tutorial's table: 0, 1, 2, ... days), else `n`
    evenly spaced points (2 suffice to draw a straight line). The other predictors sit at
    `held_values(result, predictor, hold)`.
    """
    mf = _need_design(result)
    info = mf.variables.get(predictor)
    if info is None or info.kind != "numeric":
        raise ModelError(
            f"'{predictor}' is not a numeric predictor in this model; choose one of: "
            + ", ".join(v for v, i in mf.variables.items() if i.kind == "numeric")
        )
    lo = info.minimum if lo is None else float(lo)
    hi = info.maximum if hi is None else float(hi)
    if hi < lo:
        lo, hi = hi, lo
    xs = _steps(lo, hi, float(step)) if step is not None else np.linspace(lo, hi, max(int(n), 2))
    grid = pd.DataFrame({k: [v] * len(xs) for k, v in held_values(result, predictor,
                                                                 hold).items()})
    grid[predictor] = xs
    fixed_part = mf.fixed_matrix(grid) @ result.fixed["estimate"].to_numpy()
    blocks = _block_for(mf, group)
    gname = blocks[0].group
    levels = blocks[0].levels
    re_ = result.ranef[gname]
    pred = np.tile(fixed_part, (len(levels), 1))  # G x len(xs)
    for b in blocks:
        Zg = mf.random_matrix(b, grid)  # len(xs) x q
        vals = np.column_stack(
            [re_.loc[re_["term"] == t, "value"].to_numpy() for t in b.term_names]
        )  # G x q
        pred += vals @ Zg.T
    return pd.DataFrame(
        {
            predictor: np.tile(xs, len(levels)),
            "group": np.repeat(np.asarray(levels, dtype=object), len(xs)),
            "prediction": pred.ravel(),
        }
    )


def group_ols(frame: pd.DataFrame, outcome: str, predictor: str, group: str) -> pd.DataFrame:
    """Per-group least-squares intercept and slope on the raw data (groups with fewer than two
    distinct predictor values get no line)."""
    for c in (outcome, predictor, group):
        if c not in frame.columns:
            raise ModelError(f"There is no column called '{c}' in the data.")
    d = pd.DataFrame(
        {
            "x": pd.to_numeric(frame[predictor], errors="coerce"),
            "y": pd.to_numeric(frame[outcome], errors="coerce"),
            "g": level_labels(frame[group]),
        }
    ).dropna()
    codes, uniques = pd.factorize(d["g"])
    G = len(uniques)
    x, y = d["x"].to_numpy(), d["y"].to_numpy()
    cnt = np.bincount(codes, minlength=G).astype(float)
    sx, sy = np.bincount(codes, x, G), np.bincount(codes, y, G)
    sxx, sxy = np.bincount(codes, x * x, G), np.bincount(codes, x * y, G)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = sx / cnt, sy / cnt
        vxx = sxx / cnt - mx**2
        slope = (sxy / cnt - mx * my) / vxx
        ok = (cnt >= 2) & (vxx > 1e-12 * np.maximum(1.0, mx**2))
    out = pd.DataFrame(
        {"group": np.asarray(uniques, dtype=object), "n": cnt.astype(int),
         "intercept": my - slope * mx, "slope": slope,
         "x_min": np.full(G, np.nan), "x_max": np.full(G, np.nan)}
    )
    out["x_min"] = pd.Series(x).groupby(codes).min().reindex(range(G)).to_numpy()
    out["x_max"] = pd.Series(x).groupby(codes).max().reindex(range(G)).to_numpy()
    return out[ok].reset_index(drop=True)


def group_ols_lines(
    frame: pd.DataFrame,
    outcome: str,
    predictor: str,
    group: str,
    lo: float | None = None,
    hi: float | None = None,
) -> pd.DataFrame:
    """The per-group OLS lines as points, columns `[predictor, "group", "prediction"]`.
    Without lo/hi each line spans that group's own data range, as geom_smooth draws it."""
    co = group_ols(frame, outcome, predictor, group)
    x0 = co["x_min"].to_numpy() if lo is None else np.full(len(co), float(lo))
    x1 = co["x_max"].to_numpy() if hi is None else np.full(len(co), float(hi))
    xs = np.column_stack([x0, x1])
    pred = co["intercept"].to_numpy()[:, None] + co["slope"].to_numpy()[:, None] * xs
    return pd.DataFrame(
        {
            predictor: xs.ravel(),
            "group": np.repeat(co["group"].to_numpy(), 2),
            "prediction": pred.ravel(),
        }
    )


# --------------------------------------------------------------------------- centring


def centring_group(spec) -> str | None:
    """The group within which group-mean centring centres: the first grouping factor of the
    first random effect, named by its inner column ('class' for `(1 | school/class)`), as
    `hlm_core.design` and the write-up use it."""
    if not spec.random:
        return None
    re_ = spec.random[0]
    cols = re_.group_factors()[0]
    return cols[0] if re_.kind == "nested" else ":".join(cols)


def centering_summary(spec, variables: dict | None = None) -> str | None:
    """One line saying how the predictors are centred, for a caption under a formula or table:
    "ses centred within school; school mean of ses added as ses.mean". None when nothing is
    centred. With `variables` (a fit's `model_frame.variables`) only predictors the model
    really centred are listed (categories are never centred)."""
    from hlm_core.design import group_mean_name

    g = centring_group(spec)
    parts = []
    for v, how in spec.centering:
        if how not in ("grand", "group"):
            continue
        if variables is not None:
            info = variables.get(v)
            if info is None or info.center != how:
                continue
        if how == "grand":
            parts.append(f"{v} centred at its overall mean")
        else:
            parts.append(f"{v} centred within {g}; {g} mean of {v} added as {group_mean_name(v)}")
    return "; ".join(parts) or None


def model_scale_data(result: FitResult, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of `frame` the fit used, with every centred predictor on the scale the model
    used (grand-mean centred, or centred within groups with `<x>.mean` added), so raw-data
    views (per-group straight lines) sit on the same axis as the model's lines. `frame` is the
    data the model was fitted to."""
    from hlm_core.design import group_mean_name
    from hlm_core.spec import group_name

    mf = result.model_frame
    if mf is None:
        raise ModelError("This result has no design attached; fit the model again.")
    data = frame.iloc[mf.rows].copy()
    centred = {v: i for v, i in mf.variables.items() if i.kind == "numeric" and
               i.center in ("grand", "group") and v in data.columns}
    if not centred:
        return data
    re_ = mf.spec.random[0]
    first = group_name(re_.group_factors()[0], nested=re_.kind == "nested")
    codes = next(b.codes for b in mf.blocks if b.group == first)
    for v, info in centred.items():
        x = data[v].to_numpy(dtype=float)
        if info.center == "grand":
            data[v] = x - info.raw_mean
        else:
            gm = (np.bincount(codes, weights=x) / np.bincount(codes))[codes]
            data[v] = x - gm
            data[group_mean_name(v)] = gm
    return data
