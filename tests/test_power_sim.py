"""Simulation power from a fitted model: agrees with the closed form for a cra2 design within its
Monte-Carlo interval (small data, few simulations; full size in benchmarks/power_sim.py),
reproducible by seed, reports progress, stops when cancelled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlm_core.errors import ModelError
from hlm_core.fit import fit
from hlm_core.formula import parse_formula
from hlm_core.power import Plan, power_at
from hlm_core.power_sim import SimSettings, mc_interval, simulate_power, simulation_rows


def cra2_data(J: int = 20, n: int = 10, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    school = np.repeat(np.arange(J), n)
    treat = (np.arange(J) % 2)[school]
    y = 0.5 * treat + rng.normal(0, np.sqrt(0.2), J)[school] + rng.normal(0, np.sqrt(0.8), J * n)
    return pd.DataFrame({"y": y, "treat": treat, "school": [f"s{k:02d}" for k in school]})


@pytest.fixture(scope="module")
def cra2_fit():
    return fit(cra2_data(), parse_formula("y ~ treat + (1 | school)"))


def closed_form(result, effect: float, J: int, n: int) -> float:
    tau = float(result.varcorr["vcov"].iloc[0])
    total = tau + result.sigma**2
    return power_at(Plan("cra2", rho2=tau / total, n=n, J=J, es=effect / np.sqrt(total)))


@pytest.mark.parametrize(("clusters", "size", "test"), [(None, None, "t"), (40, 5, "t"),
                                                         (30, None, "lrt")])
def test_simulated_power_agrees_with_the_cra2_closed_form(cra2_fit, clusters, size, test):
    settings = SimSettings(term="treat", effect=0.4, clusters=clusters, group_size=size,
                           nsim=200, test=test, seed=11)
    res = simulate_power(cra2_fit, settings)
    want = closed_form(cra2_fit, 0.4, clusters or 20, size or 10)
    assert res.n_done == 200 and res.n_failed == 0 and not res.cancelled
    assert res.ci[0] <= want <= res.ci[1], (res.power, res.ci, want)
    assert res.n_top == (clusters or 20)
    assert res.n_rows == (clusters or 20) * (size or 10)


def test_whole_copies_keep_the_share_treated(cra2_fit):
    mf = cra2_fit.model_frame
    rows, copy = simulation_rows(mf, 40, 5, np.random.default_rng(1))
    treat = mf.X[rows, 1]
    assert treat.mean() == 0.5 and len(rows) == 200 and set(copy) == {0, 1}


def test_same_seed_same_answer_and_progress_is_reported(cra2_fit):
    seen = []
    settings = SimSettings(term="treat", nsim=20, seed=5)
    a = simulate_power(cra2_fit, settings, progress=lambda d, t: seen.append((d, t)))
    b = simulate_power(cra2_fit, settings)
    assert a.p_values == b.p_values
    assert seen == [(d, 20) for d in range(1, 21)]
    c = simulate_power(cra2_fit, SimSettings(term="treat", nsim=20, seed=6))
    assert c.p_values != a.p_values


def test_cancel_stops_the_run_and_keeps_what_was_done(cra2_fit):
    done = []
    res = simulate_power(
        cra2_fit, SimSettings(term="treat", nsim=50),
        progress=lambda d, t: done.append(d), cancel=lambda: len(done) >= 7,
    )
    assert res.cancelled and res.n_done == 7 and len(res.p_values) == 7
    assert res.ci == mc_interval(res.n_significant, 7)


def test_three_level_model_copies_schools_with_their_classes():
    rng = np.random.default_rng(4)
    school = np.repeat(np.arange(8), 30)
    klass = np.repeat(np.arange(24), 10)
    y = rng.normal(0, 0.5, 8)[school] + rng.normal(0, 0.5, 24)[klass] + rng.normal(0, 1, 240)
    frame = pd.DataFrame({"y": y, "x": rng.normal(size=240), "school": school,
                          "class": klass % 3})
    res0 = fit(frame, parse_formula("y ~ x + (1 | school/class)"))
    res = simulate_power(res0, SimSettings(term="x", effect=0.3, clusters=16, group_size=4,
                                           nsim=5))
    assert res.n_top == 16 and res.n_rows == 16 * 3 * 4
    assert res.top_group == "school" and res.inner_group == "class:school"


def test_mc_interval_is_clopper_pearson():
    lo, hi = mc_interval(40, 100)
    assert lo == pytest.approx(0.3032948, abs=1e-6)  # R: binom.test(40, 100)$conf.int
    assert hi == pytest.approx(0.5027908, abs=1e-6)
    assert mc_interval(0, 10)[0] == 0.0 and mc_interval(10, 10)[1] == 1.0


def test_unknown_term_is_refused_in_words(cra2_fit):
    with pytest.raises(ModelError, match="not a fixed effect"):
        simulate_power(cra2_fit, SimSettings(term="age"))
    with pytest.raises(ModelError, match="at least 3"):
        simulate_power(cra2_fit, SimSettings(term="treat", clusters=2))


def test_a_run_split_into_pieces_gives_the_same_answer(cra2_fit):
    from hlm_core.power_sim import PowerSimulation

    settings = SimSettings(term="treat", nsim=12, seed=9)
    whole = simulate_power(cra2_fit, settings)
    run = PowerSimulation(cra2_fit, settings)
    while not run.finished:
        run.run(5)
    assert run.summary().p_values == whole.p_values and run.done == 12
