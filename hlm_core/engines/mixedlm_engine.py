"""The default engine: mixedlm (an lme4 port with a Rust core), fed our arrays directly.

We build mixedlm's `ModelMatrices` from our ModelFrame instead of handing it a formula, so no
user text ever reaches an engine parser, and every name stays ours. Nothing of mixedlm's own
objects leaves this module: `fit_arrays` returns a plain `RawFit`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import mixedlm
import numpy as np
from mixedlm.estimation.reml import _build_lambda_blocks
from mixedlm.formula import parser as _mixedlm_parser
from mixedlm.matrices.design import ModelMatrices, RandomEffectStructure
from mixedlm.models.control import LmerControl
from mixedlm.models.lmer_fit import LmerMod
from scipy import sparse

from hlm_core.design import ModelFrame

# mixedlm is imported here, once, and not inside the functions: its modules import each other
# (models.lmer <-> models.lmer_fit), and two sessions of the app fitting at the same moment in
# two threads could each start that import cycle from a different end; one of them then got a
# half-initialised module ("cannot import name 'LmerMod'") and its fit failed. A module-level
# import runs under this module's import lock, so the second thread waits for the first.


@dataclass
class RawFit:
    """Engine output in lme4's parameterisation, with nothing engine-specific in it."""

    beta: np.ndarray
    vcov: np.ndarray
    df: np.ndarray  # Satterthwaite denominator df per fixed effect
    theta: np.ndarray  # relative covariance factors, lme4 layout (block by block, lower tri)
    sigma: float
    b: np.ndarray  # the BLUPs (conditional modes), block by block, level by level
    loglik: float  # at the fitted criterion (REML or ML)
    criterion: float  # REMLcrit for REML, deviance for ML
    converged: bool
    messages: list[str] = field(default_factory=list)
    optimizer: str = ""
    lambda_blocks: list[np.ndarray] = field(default_factory=list)  # q_k x q_k lower-tri per block


def build_matrices(mf: ModelFrame):
    """Our ModelFrame as mixedlm's ModelMatrices (Z laid out level by level, terms within)."""
    n = mf.nobs
    z_blocks = []
    structures = []
    for b in mf.blocks:
        q = b.Z.shape[1]
        rows = np.repeat(np.arange(n), q)
        cols = (b.codes[:, None] * q + np.arange(q)[None, :]).ravel()
        vals = b.Z.ravel()
        nz = vals != 0
        z_blocks.append(
            sparse.csc_matrix((vals[nz], (rows[nz], cols[nz])), shape=(n, b.n_levels * q))
        )
        structures.append(
            RandomEffectStructure(
                grouping_factor=b.vc_group,
                term_names=list(b.term_names),
                n_levels=b.n_levels,
                n_terms=q,
                correlated=b.correlated,
                level_map={lv: i for i, lv in enumerate(b.levels)},
                level_indices=b.codes.astype(np.int32),
            )
        )
    Z = sparse.hstack(z_blocks, format="csc")
    return ModelMatrices(
        y=mf.y,
        X=np.ascontiguousarray(mf.X),
        Z=Z,
        fixed_names=list(mf.fixed_names),
        random_structures=structures,
        n_obs=n,
        n_fixed=mf.X.shape[1],
        n_random=Z.shape[1],
        weights=np.ones(n),
        offset=np.zeros(n),
    )


def _shell_formula(mf: ModelFrame):
    """A formula over generated safe names, only so mixedlm's result object is complete."""
    fixed = " + ".join(f"X{i}" for i in range(mf.X.shape[1])) or "1"
    bars = " + ".join(f"(1 | G{i})" for i in range(len(mf.blocks)))
    return _mixedlm_parser.parse_formula(f"y ~ 0 + {fixed} + {bars}")


def fit_arrays(mf: ModelFrame, reml: bool, optimizer: str | None = None) -> RawFit:
    """Fit with mixedlm and return lme4-layout estimates plus Satterthwaite df."""
    ctrl = LmerControl(
        check_nlev_gtreq_5="ignore",
        check_scaleX="ignore",
        check_rankX="ignore",
        check_conv=True,
        check_singular=False,
        **({"optimizer": optimizer} if optimizer else {}),
    )
    model = LmerMod.__new__(LmerMod)
    model.formula = _shell_formula(mf)
    model.data = None
    model.REML = reml
    model.verbose = 0
    model.na_action = None
    model.contrasts = None
    model.control = ctrl
    model.matrices = build_matrices(mf)

    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit()
        ddf = mixedlm.satterthwaite_df(res)
    messages.extend(str(w.message) for w in caught)
    structures = model.matrices.random_structures
    ll = res.logLik()
    crit = float(res.REMLcrit()) if reml else float(-2 * ll.value)
    return RawFit(
        beta=np.asarray(res.beta, dtype=float),
        vcov=np.asarray(res.vcov(), dtype=float),
        df=np.asarray(ddf.df, dtype=float),
        theta=np.asarray(res.theta, dtype=float),
        sigma=float(res.sigma),
        b=np.asarray(res.u, dtype=float),  # mixedlm keeps b (not spherical u) in .u
        loglik=float(ll.value),
        criterion=crit,
        converged=bool(res.converged),
        messages=messages,
        optimizer=str(getattr(res, "optimizer", "")),
        lambda_blocks=[np.asarray(L) for L in _build_lambda_blocks(res.theta, structures)],
    )
