"""The cross-check's verdict in words (the Diagnostics page shows it): agreement bound, or which
fixed effect differs and by how much; the SDs and log-likelihoods; statsmodels' convergence."""

import numpy as np
import pandas as pd

from hlm_core.crosscheck import CrossCheck, verdict


def check(fixed_se: list[float], loglik_diff: float = 1e-8, converged: bool = True) -> CrossCheck:
    rows = [(f"fixed: x{i}", 1.0, 1.0 - d * 0.1, d * 0.1, d) for i, d in enumerate(fixed_se)]
    rows += [("SD: (Intercept)", 0.30, 0.29, 0.01, np.nan),
             ("SD: Residual", 0.70, 0.70, 0.0, np.nan),
             ("logLik", -100.0, -100.0 - loglik_diff, loglik_diff, np.nan)]
    table = pd.DataFrame(
        rows, columns=["quantity", "ours", "statsmodels", "difference", "difference_se"]
    )
    return CrossCheck(table, max(abs(d) for d in fixed_se), 0.01, abs(loglik_diff), converged)


def test_agreement_is_stated_with_its_bound():
    text = verdict(check([1e-5, -4e-4]))
    assert text.startswith(
        "The two engines agree to within 0.001 of a standard error on every fixed effect."
    )
    assert "0.01, for (Intercept)" in text
    assert "agree to within 0.01 of a standard error" in verdict(check([0.005]))


def test_a_difference_names_the_fixed_effect_and_its_size():
    cc = check([0.02, -0.5])
    assert not cc.agrees
    text = verdict(cc)
    assert "differ most on the fixed effect x1" in text
    assert "0.50 standard errors apart" in text
    assert "too small to change a conclusion" in text
    assert "enough to change a conclusion" in verdict(check([2.0]))


def test_log_likelihood_and_convergence_are_said():
    text = verdict(check([1e-5], loglik_diff=0.5, converged=False))
    assert "The higher log-likelihood (this app's) marks the better estimates" in text
    assert "statsmodels reported that it did not converge" in text
