"""Simulated panels: shapes, the true effects they carry, and reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from research.simulate import simulate_ban_panel, simulate_staggered_panel


def test_ban_panel_shape_and_treatment():
    panel = simulate_ban_panel(n_units=12, n_treated=3, n_periods=24, event_index=12,
                               effect=-0.5, seed=1)
    assert len(panel) == 12 * 24
    assert panel.groupby("unit")["treated"].nunique().eq(1).all()
    assert panel.drop_duplicates("unit")["treated"].sum() == 3
    assert panel.attrs["event"] == pd.Timestamp("2019-01-01")  # 2018-01 + 12 months
    assert (panel["flow"] >= 0).all() and panel["flow"].eq(panel["flow"].round()).all()
    pd.testing.assert_frame_equal(panel, simulate_ban_panel(n_units=12, n_treated=3,
                                                           n_periods=24, event_index=12,
                                                           effect=-0.5, seed=1))


def test_ban_panel_carries_the_effect_in_expectation():
    # Without noise beyond Poisson and with a large scale, the treated/control ratio of
    # mean flows after vs before the event is exp(effect): the difference in log means
    # is -0.5 up to Poisson noise (relative SD about 1/sqrt(total count) < 0.5 %).
    panel = simulate_ban_panel(n_units=40, n_treated=20, effect=-0.5, size=5000, seed=2)
    post = panel["period"] >= panel.attrs["event"]
    means = panel.groupby([panel["treated"], post])["flow"].sum()
    log_ratio = (np.log(means[(True, True)] / means[(True, False)])
                 - np.log(means[(False, True)] / means[(False, False)]))
    # the unit effects are identical before and after, period effects common to both
    # groups, so the difference in log totals is the effect (same periods on both sides)
    assert log_ratio == pytest.approx(-0.5, abs=0.02)


def test_staggered_panel_cohorts_and_true_effects():
    panel = simulate_staggered_panel(n_units=100, cohorts={3: 20, 5: 30}, n_periods=6,
                                     effect=1.0, slope=0.5, seed=3)
    assert len(panel) == 600
    sizes = panel.drop_duplicates("unit")["cohort"].value_counts().to_dict()
    assert sizes == {0: 50, 5: 30, 3: 20}
    att = panel.attrs["att_gt"].set_index(["group", "time"])["att"]
    # tau(g, t) = 1 + 0.5 (t - g) for t >= g: cohort 3 in periods 3..6, cohort 5 in 5..6
    assert att[(3, 3)] == 1.0 and att[(3, 6)] == 2.5 and att[(5, 6)] == 1.5
    assert len(att) == 4 + 2
    # simple ATT: cohort-size weighted mean of the six cells, by hand
    by_hand = (20 * (1.0 + 1.5 + 2.0 + 2.5) + 30 * (1.0 + 1.5)) / (20 * 4 + 30 * 2)
    assert panel.attrs["simple"] == pytest.approx(by_hand)
    assert panel.attrs["dynamic"] == {0: 1.0, 1: 1.5, 2: 2.0, 3: 2.5}


def test_staggered_panel_errors_are_serially_correlated():
    # AR(1) with rho = 0.8 and unit variance: neighbouring periods correlate at about 0.8
    panel = simulate_staggered_panel(n_units=3000, cohorts={4: 10}, n_periods=4,
                                     effect=0.0, slope=0.0, sigma=1.0, rho=0.8, seed=4)
    wide = panel[panel["cohort"] == 0].pivot(index="unit", columns="period", values="y")
    # first differences remove the unit effect; within a period the common period effect
    # is a constant, so across units var(u_t - u_{t-1}) = 2 (1 - rho) = 0.4 (sigma = 1),
    # against 2 for independent errors; ~3000 units give a relative SD of about 3 %
    first_diff = wide.diff(axis=1).dropna(axis=1)
    assert first_diff.var().mean() == pytest.approx(0.4, rel=0.1)
    with pytest.raises(ValueError, match="never-treated"):
        simulate_staggered_panel(n_units=10, cohorts={3: 10})
