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


BAN_PATH: dict[int, float] = {-1: 0.60, 0: -0.90, 1: -0.70, 2: -0.40,
                              **{k: -0.10 for k in range(3, 12)}}
"""Default true path of :func:`simulate_ban_lines_panel`: proportional change of the
treated line's expected flow by event month (``k`` absent: no change)."""


def simulate_ban_lines_panel(seed: int | None, *, n_destinations: int = 36,
                             n_comparison_lines: int = 3, months: int = 37,
                             anticipation: int = 2,
                             effects: dict[int, float] | None = None,
                             effective: str = "2023-12-01", size_sd: float = 1.3,
                             shipments: float = 3.0, shock_sd: float = 0.3,
                             seasonal_sd: float = 0.25, noise_sd: float = 0.3,
                             noise_rho: float = 0.5) -> pd.DataFrame:
    """A monthly destination x line panel with a known dynamic ban path on one line.

    The layout is that of ``research.estimate.ban_study.BanStudyDesign.panel`` for a
    ``lines`` design: one row per destination, series and month with ``partner_iso3``,
    ``series``, ``period``, ``value_usd``, ``quantity``, ``treated``, ``k`` (event month,
    0 = ``effective``) and ``cal`` (calendar month), every month present (zeros are
    reported zeros).

    Data-generating process
    -----------------------
    Series: ``"treated"`` (the line hit by the measure), ``"partner"`` (an untreated line
    of the same size in the treated line's product group) and ``"other_1"``, ...
    (``n_comparison_lines - 1`` untreated lines of other product groups). The expected
    value of destination ``d``, series ``s``, month ``t`` is::

        mu_dst = exp(a_d + b_ds + g_s,cal(t) + h_dt + m_t + tau_k(t) 1[s = treated] + u_dst)

    - ``a_d ~ N(0, size_sd^2)``: destination size; with ``size_sd = 1.3`` the five largest
      of 36 destinations carry about half of the trade and the smallest ship in few months;
    - ``b_ds ~ N(0, 0.5^2)``: destination x series levels;
    - ``g_s,c ~ N(0, seasonal_sd^2)``: line-specific seasonality by calendar month, and on
      the treated line a Chinese-New-Year trough of -0.4 (January) and -0.6 (February)
      log points on top: with the measure effective in December, this line-specific
      shock lines up with the impact months (December to February);
    - ``h_dt ~ N(0, shock_sd^2)``: destination x month shocks, common to every line of a
      destination in a month (demand, freight, customs timing);
    - ``m_t ~ N(0, 0.1^2)``: world month shocks;
    - ``tau_k = log(1 + effects[k])``: the true path (default :data:`BAN_PATH`);
    - ``u_dst``: a stationary AR(1) in ``t`` within each destination-series pair
      (coefficient ``noise_rho``, marginal ``N(-noise_sd^2 / 2, noise_sd^2)``, so
      ``E[exp(u)] = 1``), which makes the months of a destination correlated.

    Flows are shipments: ``N_dst ~ Poisson(shipments * mu_dst)`` shipments, each worth a
    gamma-distributed value with mean ``1 / shipments`` (shape 2), so
    ``value_usd = Gamma(2 N, 1 / (2 shipments))`` (zero when ``N = 0``) and
    ``E[value_usd | mu] = mu`` exactly: the PPML model holds with ``tau_k`` as the
    effect on ``log E[value]``, and zeros are more frequent in small destinations and
    in the collapse months (about 15-30 % of all cells with the defaults).
    ``quantity = value_usd / price`` with a log-normal unit value per cell (independent
    of the rest, so ``tau_k`` is also the effect on ``log E[quantity]``).

    True profile of the default path (aggregates as in ``research.estimate.profile``:
    mean of the log effects over the months, then ``exp - 1``), with ``anticipation=2``:

    - anticipation, k = -2, -1: (log 1 + log 1.6) / 2 = 0.2350, +26.5 %;
    - impact, k = 0, 1, 2: (log 0.1 + log 0.3 + log 0.6) / 3 = -1.3393, -73.8 %;
    - persistence, k = 3..11: log 0.9 = -0.1054, -10.0 %;
    - cumulative, k = -2..11: (log 1.6 + log 0.018 + 9 log 0.9) / 14 = -0.3211, -27.5 %.

    The old group design (the treated line summed with its partner, against other
    product groups at other destinations) is biased here by the dilution with the
    partner (at equal size, ``log((1 + exp(tau)) / 2)`` instead of ``tau``), by the
    treated line's seasonal trough in the impact months and, in its variance, by the
    destination x month shocks, which do not cancel across different destinations.
    Destination-series-month shocks that are not seasonal and hit only the treated line
    would be confounded with the measure in any design with one treated line; the DGP
    has none, which is the identifying assumption of the lines design.

    Parameters
    ----------
    seed : random seed.
    n_destinations : destinations (ISO3-like codes ``D01``, ...).
    n_comparison_lines : untreated lines (the partner plus other groups' lines), >= 2.
    months : months in the panel; event months run ``-(months - 13) .. 12``.
    anticipation : months before ``effective`` that the measure was announced (recorded
        in ``attrs``; the path itself is ``effects``).
    effects : event month -> proportional change of the treated line (-0.9 = -90 %).
    effective : the effective month (month 0).
    size_sd, shipments, shock_sd, seasonal_sd, noise_sd, noise_rho : see above.

    Returns
    -------
    DataFrame
        The panel; ``attrs`` holds ``effective``, ``anticipation``, ``tau`` (event month
        -> true log effect, every post month and anticipation month), ``profile`` (true
        anticipation, impact, persistence and cumulative in log points) and ``groups``
        (product group -> its series).
    """
    if n_comparison_lines < 2:
        raise ValueError("n_comparison_lines must be at least 2 (the partner and another group)")
    if months < 13 + anticipation + 12:
        raise ValueError(f"months={months} leaves fewer than 12 months before the "
                         "anticipation window")
    path = BAN_PATH if effects is None else effects
    rng = np.random.default_rng(seed)
    first_k = -(months - 13)
    ks = np.arange(first_k, 13)
    start = pd.Timestamp(effective) + pd.DateOffset(months=first_k)
    periods = pd.date_range(start, periods=months, freq="MS")
    cal = periods.month.to_numpy()
    series = ["treated", "partner", *[f"other_{i}" for i in range(1, n_comparison_lines)]]
    n_s = len(series)
    destinations = [f"D{i + 1:02d}" for i in range(n_destinations)]
    tau = np.array([np.log1p(path.get(int(k), 0.0)) for k in ks])

    size = rng.normal(0, size_sd, n_destinations)
    level = rng.normal(0, 0.5, (n_destinations, n_s))
    seasonal = rng.normal(0, seasonal_sd, (n_s, 12))
    seasonal[0, 0] -= 0.4  # January: Chinese New Year trough of the treated line
    seasonal[0, 1] -= 0.6  # February
    shock = rng.normal(0, shock_sd, (n_destinations, months))
    world = rng.normal(0, 0.1, months)
    noise = np.empty((n_destinations, n_s, months))
    noise[..., 0] = rng.normal(0, noise_sd, (n_destinations, n_s))
    innovation_sd = noise_sd * np.sqrt(1 - noise_rho ** 2)
    for t in range(1, months):
        noise[..., t] = noise_rho * noise[..., t - 1] + rng.normal(0, innovation_sd,
                                                                     (n_destinations, n_s))
    noise -= noise_sd ** 2 / 2
    log_mu = (size[:, None, None] + level[:, :, None] + seasonal[None, :, cal - 1]
              + shock[:, None, :] + world[None, None, :] + noise)
    log_mu[:, 0, :] += tau[None, :]
    count = rng.poisson(shipments * np.exp(log_mu))
    value = np.where(count > 0, rng.gamma(np.maximum(2.0 * count, 1e-9), 1 / (2 * shipments)),
                     0.0)
    price = np.exp(rng.normal(np.log(5.0), 0.2, value.shape))
    quantity = value / price

    d_idx, s_idx, t_idx = np.meshgrid(np.arange(n_destinations), np.arange(n_s),
                                      np.arange(months), indexing="ij")
    frame = pd.DataFrame({
        "partner_iso3": np.asarray(destinations)[d_idx.ravel()],
        "series": np.asarray(series)[s_idx.ravel()],
        "period": periods[t_idx.ravel()],
        "value_usd": 1e6 * value.ravel(),
        "quantity": 1e6 * quantity.ravel(),
        "treated": s_idx.ravel() == 0,
        "k": ks[t_idx.ravel()],
        "cal": cal[t_idx.ravel()],
    })
    in_design = tau[ks >= -anticipation]
    design_ks = ks[ks >= -anticipation]
    true = dict(zip(design_ks.tolist(), in_design.tolist(), strict=True))

    def mean_of(low: int, high: int) -> float:
        return float(np.mean([true[k] for k in range(low, high + 1)]))

    profile = {"impact": mean_of(0, 2), "persistence": mean_of(3, 11),
               "cumulative": mean_of(-anticipation, 11)}
    if anticipation:
        profile = {"anticipation": mean_of(-anticipation, -1), **profile}
    frame.attrs.update(effective=pd.Timestamp(effective), anticipation=anticipation,
                       tau=true, profile=profile,
                       groups={"group_1": ("treated", "partner"),
                               **{f"group_{i + 1}": (f"other_{i}",)
                                  for i in range(1, n_comparison_lines)}})
    return frame
