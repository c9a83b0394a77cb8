"""Simulated trade panels with a known ban effect, for tests and teaching.

The data-generating process is the PPML model itself: flows are drawn as
``y_it ~ Poisson(exp(a_i + g_t + effect * treated_i * post_t) * size)`` (or with
gamma noise), so the true effect on ``log E[y]`` is ``effect`` and the true
percentage change is ``100 * (exp(effect) - 1)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def simulate_ban_panel(n_units: int = 40, n_treated: int = 10, n_periods: int = 48,
                       event_index: int = 24, effect: float = -0.5, size: float = 200.0,
                       dispersion: float = 0.0, anticipation_effect: float = 0.0,
                       anticipation: int = 0, seed: int | None = None) -> pd.DataFrame:
    """A monthly panel where treated units' flows change by ``effect`` log points.

    Parameters
    ----------
    n_units, n_treated : destinations in all and treated.
    n_periods : months, starting 2018-01.
    event_index : index of the first treated month.
    effect : true post-event effect in log points (constant over event time).
    size : mean flow scale.
    dispersion : variance of multiplicative gamma noise (0 = pure Poisson).
    anticipation_effect, anticipation : effect in the ``anticipation`` months before the event.
    seed : random seed.

    Returns
    -------
    DataFrame with unit, period, treated, flow, and the event date in ``attrs['event']``.
    """
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2018-01-01", periods=n_periods, freq="MS")
    unit_effects = rng.normal(0, 1, n_units)
    period_effects = 0.3 * np.sin(np.arange(n_periods) / 3) + rng.normal(0, 0.1, n_periods)
    unit, period = np.meshgrid(np.arange(n_units), np.arange(n_periods), indexing="ij")
    treated = unit < n_treated
    post = period >= event_index
    pre_window = (period >= event_index - anticipation) & (period < event_index)
    log_mean = (unit_effects[unit] + period_effects[period] + effect * (treated & post)
                + anticipation_effect * (treated & pre_window))
    mean = size * np.exp(log_mean)
    if dispersion > 0:
        mean = mean * rng.gamma(1 / dispersion, dispersion, size=mean.shape)
    flow = rng.poisson(mean)
    frame = pd.DataFrame({"unit": [f"U{i:03d}" for i in unit.ravel()],
                          "period": periods[period.ravel()],
                          "treated": treated.ravel(),
                          "flow": flow.ravel().astype(float)})
    frame.attrs["event"] = periods[event_index]
    frame.attrs["effect"] = effect
    return frame
