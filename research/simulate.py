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


def simulate_staggered_panel(n_units: int = 300, cohorts: dict[int, int] | None = None,
                             n_periods: int = 8, effect: float = 1.0, slope: float = 0.5,
                             sigma: float = 1.0, rho: float = 0.5,
                             seed: int | None = None) -> pd.DataFrame:
    """A yearly panel with staggered adoption and known group-time effects.

    ``y_it = a_i + l_t + tau(g_i, t) * 1[t >= g_i] + u_it`` with
    ``tau(g, t) = effect + slope * (t - g)`` (effects grow with time since treatment, the
    case where two-way fixed effects are biased), unit effects ``a_i`` correlated with the
    cohort (parallel trends still hold), common period effects ``l_t`` and AR(1) errors
    ``u_it = rho * u_i,t-1 + e_it``, ``e ~ N(0, sigma^2 (1 - rho^2))`` (stationary, so
    observations of a unit are correlated and standard errors must be clustered by unit).

    Parameters
    ----------
    n_units : units in all.
    cohorts : first treated period -> number of units (periods run 1..n_periods); the rest
        are never treated (cohort 0). Default ``{4: 60, 6: 60}``.
    n_periods : periods 1..n_periods.
    effect, slope : effect on impact and its change per period since treatment.
    sigma, rho : standard deviation and AR(1) coefficient of the errors.
    seed : random seed.

    Returns
    -------
    DataFrame with unit, period, cohort, y; ``attrs["att_gt"]`` holds the true ATT(g, t)
    of every post-treatment cell and ``attrs["simple"]`` the true cohort-size-weighted
    average over them (the estimand of the ``simple`` aggregation), ``attrs["dynamic"]``
    the true effect by event time (``effect + slope * e``).
    """
    cohorts = {4: 60, 6: 60} if cohorts is None else dict(cohorts)
    if sum(cohorts.values()) >= n_units:
        raise ValueError("the cohorts must leave some never-treated units")
    rng = np.random.default_rng(seed)
    first = np.zeros(n_units, dtype=int)
    start = 0
    for g, size in sorted(cohorts.items()):
        first[start:start + size] = g
        start += size
    periods = np.arange(1, n_periods + 1)
    unit_effect = rng.normal(0, 1, n_units) + 0.5 * (first > 0)
    period_effect = 0.2 * periods + rng.normal(0, 0.3, n_periods)
    noise = np.empty((n_units, n_periods))
    noise[:, 0] = rng.normal(0, sigma, n_units)
    for t in range(1, n_periods):
        noise[:, t] = rho * noise[:, t - 1] + rng.normal(0, sigma * np.sqrt(1 - rho**2),
                                                         n_units)
    event = periods[None, :] - first[:, None]
    treated = (first[:, None] > 0) & (event >= 0)
    tau = np.where(treated, effect + slope * event, 0.0)
    y = unit_effect[:, None] + period_effect[None, :] + tau + noise
    frame = pd.DataFrame({"unit": np.repeat(np.arange(n_units), n_periods),
                          "period": np.tile(periods, n_units),
                          "cohort": np.repeat(first, n_periods),
                          "y": y.ravel()})
    cells = [{"group": g, "time": t, "att": effect + slope * (t - g)}
             for g in sorted(cohorts) for t in periods if t >= g]
    att_gt = pd.DataFrame(cells)
    sizes = att_gt["group"].map(cohorts)
    frame.attrs["att_gt"] = att_gt
    frame.attrs["simple"] = float((att_gt["att"] * sizes).sum() / sizes.sum())
    frame.attrs["dynamic"] = {int(e): effect + slope * e
                              for e in sorted(set(att_gt["time"] - att_gt["group"]))}
    return frame
