"""SCENARIO for a ban with no post-ban data: a past episode's profile applied to a projection.

This module builds scenarios, not estimates. The January 2026 ban on Japanese
military end-users (registry event C6) has no post-ban trade data in the bundled
tables (they end in December 2024); what can be said is "if Japan's imports of this
basket moved the way flows moved after episode X, they would look like this".

Steps
-----
1. Counterfactual projection. The target flow (China's monthly exports of the
   basket's product group to the ban's target, or to the world when the ban hits
   every destination) is modelled as in :mod:`research.estimate.its`:
   ``log y_t ~ SARIMA(1,0,0)(0,1,1,12)`` (the seasonal part absorbs a stable seasonal
   pattern), fitted on every observed month before the ban and forecast to the last
   scenario month. Point ``c_t = exp(m_t)`` (the forecast median), pointwise band
   ``exp(m_t -/+ z s_t)`` with ``m_t, s_t`` the forecast mean and standard error on
   the log scale.
2. Profile. The event study of the chosen past episode
   (:func:`research.estimate.ban_impact.ban_event_study`, PPML, treated vs controls)
   gives ``b_k`` for event times ``k >= 0``, in log points against the reference period.
   Monthly episodes (B1, B2): scenario month ``m`` (0 = the ban's month) takes ``b_m``.
   Annual episodes (A2): month ``m`` takes ``b_{floor(m / 12)}``, so the first 12 months
   take the episode's first post year (for A2, 2011 against 2010, the partly treated
   reference year: the within-2010 drop itself is not in the profile).
3. Scenario path ``s_t = c_t * exp(b_k(t))`` from the ban's month on; before it (months
   between the data's end and the ban) the scenario equals the projection.

Uncertainty (documented here once)
----------------------------------
*Monthly bands.* ``log s_t = m_t + b_k + e_t + u_k`` with ``e_t`` the forecast error
(variance ``s_t^2``) and ``u_k`` the profile's estimation error (variance ``se_k^2``).
They come from different data (another period, product or destination), so they are
taken as independent, and both are normal in the models' approximations::

    log s_t ~ N(m_t + b_k, s_t^2 + se_k^2),   band  exp(m_t + b_k -/+ z sqrt(s_t^2 + se_k^2))

The pointwise band depends only on these marginal variances. It widens with the
horizon: the part of ``s_t^2`` from future shocks, ``sigma^2 * sum_{j<h} psi_j^2``, never
falls; the part from the uncertainty about the state at the data's end (past seasonal
MA shocks are estimated, not observed) can shrink slightly at long horizons, so the band
is monotone only up to that small term.

*Totals over the horizon* (scenario minus projection, in units and in % of the
projection) need the joint distribution across months, so they are simulated:
``n_sim`` forecast paths from the fitted SARIMA (statsmodels ``simulate`` anchored at
the last observed month, so forecast errors are correlated across months as the
model implies), each paired with one draw of the profile: multivariate normal from the
coefficients' covariance when the profile has one, else comonotone
(``b_k = b^_k + z se_k`` with one standard normal ``z`` per draw). The event-study
coefficients share the reference period, so their errors are positively correlated;
perfect correlation gives the largest variance of any sum with these marginals, so the
comonotone interval of a total is conservative (too wide), never too narrow.
Point values of the totals use the point paths (``c_t``, ``s_t``), as the ITS module
does; the interval is the simulated ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles.

Not in the bands: the SARIMA parameters' own uncertainty (makes them too narrow) and,
above all, whether the past episode is a good guide to this ban (another measure,
product, destination and year). Measures in the registry between the data's end and
the ban (for C6, the 2025 licensing rounds) are not in the projection; they are listed
in the notes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from research import datasets
from research.errors import EstimationError, ParameterError, ResearchWarning
from research.estimate.ban_impact import MONTHLY_START, ban_event_study, event_date
from research.estimate.its import flow_series
from research.reference import baskets as basket_reference
from research.reference.events import get_event, load_events

ORDER = (1, 0, 0)
SEASONAL_ORDER = (0, 1, 1, 12)
MIN_PRE_MONTHS = 2 * 12 * 2 + 1  # two seasonal cycles after seasonal differencing, plus AR(1)
OUTCOMES = ("value_usd", "quantity")
SCENARIO_COLUMNS = ["period", "event_time", "counterfactual", "counterfactual_low",
                    "counterfactual_high", "profile_pct", "profile_pct_low",
                    "profile_pct_high", "scenario", "scenario_low", "scenario_high",
                    "scenario_gap", "actual", "unit", "method"]


@dataclass
class Profile:
    """A collapse-and-recovery profile: log effects by event time with standard errors.

    Attributes
    ----------
    episode : registry id of the past episode (or a free label for a made-up profile).
    description : one line on where the profile comes from.
    freq : ``"M"`` (event time in months) or ``"A"`` (in years).
    event_time : event times ``k >= 0``.
    log_effect : ``b_k``, log points against the episode's reference period.
    std_error : standard errors of ``b_k``.
    cov : covariance of ``b_k`` (optional; without it totals are simulated comonotone).
    outcome : the episode's outcome (``"value_usd"`` or ``"quantity"``).
    notes : caveats of the episode's design.
    """

    episode: str
    description: str
    freq: Literal["M", "A"]
    event_time: np.ndarray
    log_effect: np.ndarray
    std_error: np.ndarray
    cov: np.ndarray | None = None
    outcome: str = "value_usd"
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.event_time = np.asarray(self.event_time, dtype=int)
        self.log_effect = np.asarray(self.log_effect, dtype=float)
        self.std_error = np.asarray(self.std_error, dtype=float)
        if self.freq not in ("M", "A"):
            raise ParameterError(f"profile freq={self.freq!r} is not one of ['M', 'A']")
        n = len(self.event_time)
        if not n or len(self.log_effect) != n or len(self.std_error) != n:
            raise EstimationError(f"profile {self.episode!r}: event_time, log_effect and "
                                  "std_error must be non-empty and of equal length")
        if self.cov is not None:
            self.cov = np.asarray(self.cov, dtype=float)
            if self.cov.shape != (n, n):
                raise ParameterError(f"profile cov has shape {self.cov.shape}, expected "
                                     f"({n}, {n})")

    def positions(self, horizon: int) -> np.ndarray:
        """Index into the coefficients for scenario months ``0 .. horizon - 1``."""
        step = 12 if self.freq == "A" else 1
        needed = np.arange(horizon) // step
        position = {int(k): i for i, k in enumerate(self.event_time)}
        last = int(self.event_time.max())
        if needed.max() > last:
            months = (last + 1) * step
            raise ParameterError(f"horizon={horizon} months exceeds the {months} months that "
                                 f"the {self.episode} profile covers (event times 0..{last}"
                                 f"{' years' if step == 12 else ''}); choose horizon <= "
                                 f"{months}")
        missing = sorted({int(k) for k in needed} - set(position))
        if missing:
            raise EstimationError(f"the {self.episode} profile has no usable coefficient at "
                                  f"event time(s) {missing}")
        return np.array([position[int(k)] for k in needed])


@dataclass
class ScenarioResult:
    """A SCENARIO (not an estimate): projection, scenario path, bands and totals.

    Result-like: ``.tidy()`` (the monthly table), ``.summary()``, ``.plot()``,
    ``.headline`` and ``.method`` (so :func:`research.report.outputs.record_result`
    records it), but its columns say ``counterfactual`` and ``scenario``, never
    ``estimate``.

    Attributes
    ----------
    table : one row per month from the first projected month to the last scenario
        month (columns ``SCENARIO_COLUMNS``; ``event_time`` in months since the ban).
    totals : dict over the scenario months: ``counterfactual_total``,
        ``scenario_total``, ``scenario_gap`` / ``_low`` / ``_high`` (scenario - projection)
        and ``scenario_gap_pct`` / ``_low`` / ``_high`` (in % of the projection).
    series : the observed flow (history), in ``unit``.
    """

    method: str
    table: pd.DataFrame
    headline: dict[str, Any]
    notes: list[str]
    totals: dict[str, float]
    series: pd.Series
    ban: pd.Timestamp
    last_observed: pd.Timestamp
    horizon: int
    unit: str
    target: str
    profile: Profile
    level: float = 0.95
    n_sim: int = 0

    def tidy(self) -> pd.DataFrame:
        """The monthly scenario table (projection, profile, scenario path and bands)."""
        return self.table[SCENARIO_COLUMNS].reset_index(drop=True).copy()

    def totals_table(self) -> pd.DataFrame:
        """Totals over the scenario months as a tidy table (quantity, scenario, bands)."""
        t = self.totals
        rows = [("counterfactual_total", t["counterfactual_total"], t["counterfactual_low"],
                 t["counterfactual_high"], self.unit),
                ("scenario_total", t["scenario_total"], t["scenario_total_low"],
                 t["scenario_total_high"], self.unit),
                ("scenario_gap", t["scenario_gap"], t["scenario_gap_low"],
                 t["scenario_gap_high"], self.unit),
                ("scenario_gap_pct", t["scenario_gap_pct"], t["scenario_gap_pct_low"],
                 t["scenario_gap_pct_high"], "% of counterfactual")]
        frame = pd.DataFrame(rows, columns=["quantity", "scenario", "scenario_low",
                                            "scenario_high", "unit"])
        frame["months"] = self.horizon
        frame["method"] = self.method
        return frame

    def summary(self) -> str:
        """A readable text summary, every line saying SCENARIO."""
        h = self.headline
        lines = [f"SCENARIO, not an estimate. Method: {self.method}",
                 f"{h['label']}: {h['estimate']:.1f} [{h['conf_low']:.1f}, "
                 f"{h['conf_high']:.1f}] ({100 * self.level:.0f}% scenario band)",
                 self.totals_table().drop(columns="method").to_string(
                     index=False, float_format=lambda v: f"{v:,.4g}")]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax=None, title: str | None = None, source: str | None = None,
             history: int = 36):
        """Fan chart: history, projection band, scenario band (see
        :func:`research.plots.scenario_fan_plot`)."""
        from research.plots import scenario_fan_plot

        return scenario_fan_plot(self, ax=ax, title=title, source=source, history=history)

    def headline_record(self) -> dict[str, Any]:
        """The headline as a JSON-ready dict (for manifests and the index)."""
        record = {k: (float(v) if isinstance(v, np.floating) else v)
                  for k, v in self.headline.items()}
        record["method"] = self.method
        return record


# ---------------------------------------------------------------------------- episodes

def _split(value) -> list[str]:
    return [v for v in str(value).split(";") if v] if isinstance(value, str) else []


def _episode_problem(event: pd.Series, monthly_end: pd.Timestamp,
                     annual_codes: set[str]) -> str | None:
    """Why a registry event cannot give event-time coefficients, or None if it can."""
    baskets = _split(event["basket"])
    if not baskets:
        return "names no product basket"
    try:
        date = event_date(event)
    except ParameterError:
        return "has no date"
    if date >= MONTHLY_START:
        if date > monthly_end:
            return (f"took effect {date:%Y-%m}, after the bundled monthly data end "
                    f"({monthly_end:%Y-%m}): no post-event months")
        if not any(b in basket_reference.BASKET_GROUP for b in baskets):
            return f"none of its baskets {baskets} has a monthly product group"
        return None
    targets = _split(event["targets"])
    if not targets or targets == ["ALL"]:
        return ("hits every destination before the monthly data start; the annual design "
                "needs a specific target destination")
    if not any(set(basket_reference.basket_codes(b)) & annual_codes for b in baskets
               if b in basket_reference.basket_names()):
        return "its baskets have no HS6 line in the annual data"
    return None


def episode_problems() -> dict[str, str | None]:
    """Every registry event id with the reason it cannot serve as a profile (None if it can)."""
    monthly = datasets.load("china_exports_monthly")
    annual_codes = set(datasets.load("china_exports_annual")["product"])
    monthly_end = monthly["period"].max()
    return {row["event_id"]: _episode_problem(row, monthly_end, annual_codes)
            for _, row in load_events().iterrows()}


def usable_episodes() -> list[str]:
    """Registry events whose event study can give a profile (e.g. A2, A3, B1, B2)."""
    return [e for e, problem in episode_problems().items() if problem is None]


def _episode_basket(event: pd.Series, basket: str | None) -> str:
    own = _split(event["basket"])
    date = event_date(event)
    if date >= MONTHLY_START:
        allowed = [b for b in own if b in basket_reference.BASKET_GROUP]
    else:
        codes = set(datasets.load("china_exports_annual")["product"])
        allowed = [b for b in own if b in basket_reference.basket_names()
                   and set(basket_reference.basket_codes(b)) & codes]
    if basket is None:
        return allowed[0]
    if basket not in allowed:
        raise ParameterError(f"episode_basket={basket!r} is not a basket of episode "
                             f"{event['event_id']} with trade data; allowed: {allowed}")
    return basket


def _anticipation(event: pd.Series) -> int:
    """Whole months from the announcement to the effective month (front-loading window)."""
    if pd.isna(event["announced"]) or pd.isna(event["effective"]):
        return 0
    announced, effective = pd.Timestamp(event["announced"]), pd.Timestamp(event["effective"])
    return max(0, (effective.year - announced.year) * 12 + effective.month - announced.month)


def profile_from_event_study(result, episode: str, description: str,
                             outcome: str = "value_usd", notes: list[str] | None = None
                             ) -> Profile:
    """The post-event coefficients (``k >= 0``) of an event-study result as a Profile.

    Raises
    ------
    EstimationError
        No post-event coefficient with a finite estimate and a positive standard error.
    """
    table = result.event_time
    post = table[(table["event_time"] >= 0) & np.isfinite(table["estimate"])
                 & np.isfinite(table["std_error"]) & (table["std_error"] > 0)]
    if post.empty:
        raise EstimationError(f"episode {episode}: the event study has no usable post-event "
                              "coefficient (event time >= 0 with a finite estimate and "
                              "standard error)")
    # a result that carries the coefficients' covariance (a DataFrame over the
    # ``event_time[k]`` terms) gives correlated profile draws; without one, see the docstring
    vcov, cov = getattr(result, "vcov", None), None
    names = [f"event_time[{k}]" for k in post["event_time"]]
    if isinstance(vcov, pd.DataFrame) and set(names) <= set(vcov.index):
        cov = vcov.loc[names, names].to_numpy()
    return Profile(episode=episode, description=description, freq=result.freq,
                   event_time=post["event_time"].to_numpy(),
                   log_effect=post["estimate"].to_numpy(),
                   std_error=post["std_error"].to_numpy(), cov=cov, outcome=outcome,
                   notes=list(notes or []))


def episode_profile(episode: str, basket: str | None = None, horizon: int = 12,
                    anticipation: int | None = None, outcome: str = "value_usd",
                    method: Literal["ppml", "ols_log"] = "ppml") -> Profile:
    """Estimate a past episode's event study and return its post-event profile.

    Parameters
    ----------
    episode : registry id, one of :func:`usable_episodes` (e.g. ``"A2"``, ``"B1"``, ``"B2"``).
    basket : the episode's basket to use (default: its first basket with trade data).
    horizon : scenario months the profile must cover (sets the monthly window's end).
    anticipation : months before the effective date with their own coefficients
        (default: months from the announcement to the effective month, from the registry).
    outcome : ``"value_usd"`` or ``"quantity"`` (the annual design always uses quantity).
    method : event-study estimator.

    Raises
    ------
    ParameterError
        Unknown episode id (the message lists the usable ones) or basket.
    EstimationError
        A registry event that cannot give event-time coefficients (the message says why).
    """
    problems = episode_problems()
    usable = [e for e, p in problems.items() if p is None]
    if episode not in problems:
        raise ParameterError(f"unknown episode {episode!r}; episodes with a usable event "
                             f"study: {usable}")
    if problems[episode] is not None:
        raise EstimationError(f"episode {episode} has no usable event-time coefficients: it "
                              f"{problems[episode]}; episodes with a usable event study: "
                              f"{usable}")
    if outcome not in OUTCOMES:
        raise ParameterError(f"outcome={outcome!r} is not one of {list(OUTCOMES)}")
    event = get_event(episode)
    chosen = _episode_basket(event, basket)
    lead = _anticipation(event) if anticipation is None else int(anticipation)
    window = (-24, max(12, horizon - 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result, design = ban_event_study(episode, chosen, outcome=outcome, window=window,
                                         anticipation=lead, method=method)
    notes: dict[str, str] = {}
    for text in result.notes + [str(w.message) for w in caught]:
        text = text.rstrip(".")
        notes.setdefault(text.lower(), text[0].upper() + text[1:] + ".")
    unit = "years" if design.freq == "A" else "months"
    description = (f"{episode} ({event_date(event):%Y-%m}) event study, {chosen}, "
                   f"{design.design} design, {design.outcome}, {method.upper()}, "
                   f"event time in {unit}")
    if design.freq == "A":
        notes["annual"] = (f"Annual profile: scenario months 0-11 take the episode's first post "
                           f"year ({design.event:%Y} against {design.event.year - 1}), months "
                           "12-23 the second, and so on; the drop within the episode's own "
                           "year is not in the profile.")
    return profile_from_event_study(result, episode, description, outcome=design.outcome,
                                    notes=list(notes.values()))


# ---------------------------------------------------------------------------- target flow

def target_series(event_id: str, basket: str, outcome: str = "value_usd",
                  partner: str | None = None, flows: pd.DataFrame | None = None
                  ) -> pd.Series:
    """The monthly flow a ban hits: China's exports of ``basket``'s group to its target.

    The partner is the event's single target (``WLD``, the world, when it targets every
    destination) unless ``partner`` is given.
    """
    if outcome not in OUTCOMES:
        raise ParameterError(f"outcome={outcome!r} is not one of {list(OUTCOMES)}")
    monthly = flows if flows is not None else datasets.load("china_exports_monthly")
    monthly = monthly[(monthly["product_level"] == "group") & (monthly["freq"] == "M")]
    groups = sorted(set(monthly["product"]))
    group = basket_reference.BASKET_GROUP.get(basket, basket if basket in groups else None)
    if group is None or group not in groups:
        allowed = sorted(set(basket_reference.BASKET_GROUP) | set(groups))
        raise ParameterError(f"basket {basket!r} has no monthly product group; allowed: "
                             f"{allowed}")
    event = get_event(event_id)
    if partner is None:
        targets = _split(event["targets"])
        if targets == ["ALL"]:
            partner = "WLD"
        elif len(targets) == 1:
            partner = targets[0]
        else:
            raise ParameterError(f"event {event_id} targets {targets or 'no destination'}; "
                                 "pass partner= (an ISO3 code of the panel, or 'WLD')")
    available = sorted(set(monthly.loc[monthly["product"] == group, "partner_iso3"]))
    if partner not in available:
        raise ParameterError(f"partner {partner!r} is not a destination of the {group} panel; "
                             f"available: {available}")
    return flow_series(monthly, partner, group, outcome)


# ---------------------------------------------------------------------------- scenario

def _fit(y: pd.Series, order, seasonal_order):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    model = SARIMAX(y, order=order, seasonal_order=seasonal_order, trend="n",
                    concentrate_scale=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' starting-value chatter
        fit = model.fit(disp=False, maxiter=200, cov_type="none")
    if not fit.mle_retvals.get("converged", True):
        warnings.warn("SARIMAX likelihood optimisation did not converge; the projection is "
                      "unreliable", ResearchWarning, stacklevel=3)
    return fit


def _quantiles(draws: np.ndarray, level: float) -> tuple[float, float]:
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def apply_profile(series: pd.Series, ban: pd.Timestamp | str, profile: Profile,
                  horizon: int = 12, *, target: str | None = None, level: float = 0.95,
                  n_sim: int = 2000, seed: int = 2026, unit: str | None = None,
                  order: tuple[int, int, int] = ORDER,
                  seasonal_order: tuple[int, int, int, int] = SEASONAL_ORDER,
                  notes: list[str] | None = None) -> ScenarioResult:
    """Project ``series`` past the ban and apply ``profile`` from the ban's month on.

    Parameters
    ----------
    series : monthly flow on a DatetimeIndex (e.g. :func:`target_series`); months at or
        after the ban, if any, are shown as ``actual`` and not used in the fit.
    ban : the ban's date; its month is event time 0.
    profile : the collapse-and-recovery profile (:func:`episode_profile`).
    horizon : scenario months from the ban's month.
    target : label of the flow for titles (default ``series.name``).
    level : band level. n_sim, seed : simulation of the totals (module docstring).
    unit : units of the series (default ``series.attrs["unit"]``).
    order, seasonal_order : SARIMA orders of the projection.
    notes : extra notes (e.g. measures between the data's end and the ban).

    Returns
    -------
    ScenarioResult
    """
    if not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ParameterError(f"horizon={horizon!r} must be a positive whole number of months")
    if not 0 < level < 1:
        raise ParameterError(f"level={level} must be between 0 and 1")
    if n_sim < 100:
        raise ParameterError(f"n_sim={n_sim} is too few draws for a band; use >= 100")
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ParameterError("series needs a DatetimeIndex of months")
    positions = profile.positions(int(horizon))
    unit = unit or series.attrs.get("unit", "series units")
    target = target or str(series.name or "flow")
    ban = pd.Timestamp(ban).to_period("M").to_timestamp()
    raw = series.astype(float).sort_index()
    raw.index = raw.index.to_period("M").to_timestamp()
    raw = raw.asfreq("MS")
    bad = raw <= 0
    if bad.any():
        warnings.warn(f"{int(bad.sum())} non-positive months treated as missing on the log "
                      "scale", ResearchWarning, stacklevel=2)
        raw = raw.where(~bad)
    pre = raw[raw.index < ban]
    observed = pre.dropna()
    if len(observed) < MIN_PRE_MONTHS:
        raise EstimationError(f"{len(observed)} observed months before {ban:%Y-%m}; the "
                              f"projection needs at least {MIN_PRE_MONTHS}")
    last = observed.index.max()
    y = np.log(pre[pre.index <= last])
    offset = float(y.mean())  # centred as in research.estimate.its (keeps the fit stable)
    fit = _fit(y - offset, order, seasonal_order)
    end = ban + pd.DateOffset(months=int(horizon) - 1)
    steps = (end.year - last.year) * 12 + end.month - last.month
    periods = pd.date_range(last + pd.DateOffset(months=1), periods=steps, freq="MS")
    forecast = fit.get_forecast(steps=steps)
    mean = np.asarray(forecast.predicted_mean, dtype=float) + offset
    se = np.sqrt(np.asarray(forecast.var_pred_mean, dtype=float))
    z = stats.norm.ppf(0.5 + level / 2)

    event_time = ((periods.year - ban.year) * 12 + periods.month - ban.month).to_numpy()
    post = event_time >= 0
    b = np.zeros(steps)
    sb = np.zeros(steps)
    b[post] = profile.log_effect[positions]
    sb[post] = profile.std_error[positions]
    total_sd = np.sqrt(se**2 + sb**2)
    actual = raw.reindex(periods).to_numpy()
    method = f"scenario: {profile.episode} profile applied to {target}"
    table = pd.DataFrame({
        "period": periods, "event_time": event_time,
        "counterfactual": np.exp(mean), "counterfactual_low": np.exp(mean - z * se),
        "counterfactual_high": np.exp(mean + z * se),
        "profile_pct": np.where(post, 100 * np.expm1(b), np.nan),
        "profile_pct_low": np.where(post, 100 * np.expm1(b - z * sb), np.nan),
        "profile_pct_high": np.where(post, 100 * np.expm1(b + z * sb), np.nan),
        "scenario": np.exp(mean + b), "scenario_low": np.exp(mean + b - z * total_sd),
        "scenario_high": np.exp(mean + b + z * total_sd),
        "actual": actual, "unit": unit, "method": method})
    table["scenario_gap"] = table["scenario"] - table["counterfactual"]

    # totals over the scenario months by simulation (module docstring)
    rng = np.random.default_rng(seed)
    paths = np.asarray(fit.simulate(steps, repetitions=n_sim, anchor="end", rng=rng),
                       dtype=float).reshape(steps, n_sim)[post] + offset
    if profile.cov is not None:
        coef = rng.multivariate_normal(profile.log_effect, profile.cov, size=n_sim,
                                       method="eigh")[:, positions].T
    else:
        coef = (profile.log_effect[positions][:, None]
                + profile.std_error[positions][:, None] * rng.standard_normal(n_sim))
    cf_draws = np.exp(paths).sum(axis=0)
    sc_draws = np.exp(paths + coef).sum(axis=0)
    gap_draws = sc_draws - cf_draws
    scenario_rows = table[post]
    cf_total = float(scenario_rows["counterfactual"].sum())
    sc_total = float(scenario_rows["scenario"].sum())
    totals = {"months": int(horizon), "counterfactual_total": cf_total,
              "scenario_total": sc_total, "scenario_gap": sc_total - cf_total,
              "scenario_gap_pct": 100 * (sc_total - cf_total) / cf_total}
    for name, draws in (("counterfactual", cf_draws), ("scenario_total", sc_draws),
                        ("scenario_gap", gap_draws),
                        ("scenario_gap_pct", 100 * gap_draws / cf_draws)):
        totals[f"{name}_low"], totals[f"{name}_high"] = _quantiles(draws, level)

    first, last_month = periods[post][0], periods[post][-1]
    headline = {"term": "scenario_gap_pct",
                "label": (f"SCENARIO (not an estimate): {target}, {first:%Y-%m} to "
                          f"{last_month:%Y-%m}, % change against the projection under the "
                          f"{profile.episode} profile"),
                "estimate": totals["scenario_gap_pct"],
                "conf_low": totals["scenario_gap_pct_low"],
                "conf_high": totals["scenario_gap_pct_high"], "p_value": np.nan}
    all_notes = [
        "SCENARIO, not an estimate: no trade data after the ban are used; the path shows "
        f"what the {profile.episode} episode's response would imply for this flow.",
        f"Projection: SARIMA{tuple(order)}{tuple(seasonal_order)} on log {target}, fitted on "
        f"{observed.index.min():%Y-%m} to {last:%Y-%m} ({len(observed)} months) and "
        f"forecast {steps} months ahead to {end:%Y-%m}; it carries the pre-ban seasonal "
        "pattern and level forward.",
        f"Profile: {profile.description}; applied as a proportional change to the "
        "projection from the ban's month on.",
        f"Bands ({100 * level:.0f}%): monthly bands combine the forecast variance and the "
        "profile's standard errors (independent, normal on the log scale); totals are "
        f"simulated ({n_sim} draws, "
        + ("profile covariance" if profile.cov is not None else
           "profile draws perfectly correlated across months, conservative")
        + "). Neither includes SARIMA parameter uncertainty or the doubt that the "
        "episode is a good guide.",
    ]
    unit_outcome = "quantity" if unit == "tonnes" else "value_usd"
    if profile.outcome != unit_outcome:
        all_notes.append(f"The profile was estimated on {profile.outcome} and is applied to "
                         f"{unit_outcome}: this assumes prices move as quantities did.")
    all_notes += list(notes or [])
    all_notes += [f"Profile episode: {n}" for n in profile.notes]
    return ScenarioResult(method=method, table=table[SCENARIO_COLUMNS], headline=headline,
                          notes=all_notes, totals=totals, series=raw, ban=ban,
                          last_observed=last, horizon=int(horizon), unit=unit, target=target,
                          profile=profile, level=level, n_sim=n_sim)


def measures_between(start: pd.Timestamp, end: pd.Timestamp, partner: str, group: str,
                     exclude: str) -> list[str]:
    """Registry measures dated in ``(start, end]`` on ``group`` or on ``partner``."""
    related = {b for b, g in basket_reference.BASKET_GROUP.items() if g == group} | {group}
    found = []
    for _, row in load_events().iterrows():
        if row["event_id"] == exclude or row["event_type"] == "context":
            continue
        date = row["effective"] if pd.notna(row["effective"]) else row["announced"]
        if pd.isna(date) or not start < date <= end:
            continue
        if set(_split(row["basket"])) & related or partner in _split(row["targets"]):
            found.append(f"{row['event_id']} ({pd.Timestamp(date):%Y-%m-%d}, "
                         f"{row['event_type']})")
    return found


def ban_scenario(event_id: str = "C6", basket: str = "rare_earths", episode: str = "B2",
                 horizon: int = 12, *, outcome: str = "value_usd",
                 episode_basket: str | None = None, episode_anticipation: int | None = None,
                 partner: str | None = None, level: float = 0.95, n_sim: int = 2000,
                 seed: int = 2026, flows: pd.DataFrame | None = None) -> ScenarioResult:
    """SCENARIO for a registry ban: ``episode``'s profile applied to the projected flow.

    Parameters
    ----------
    event_id : the ban to build a scenario for (e.g. ``"C6"``, January 2026, Japan).
    basket : the basket whose monthly product group carries the flow (e.g.
        ``"rare_earths"``, ``"graphite"``, ``"gallium"``, ``"polysilicon"``).
    episode : past registry episode whose profile is applied (:func:`usable_episodes`).
    horizon : scenario months from the ban's month.
    outcome : ``"value_usd"`` (USD) or ``"quantity"`` (tonnes) of the flow.
    episode_basket, episode_anticipation : see :func:`episode_profile`.
    partner : destination ISO3 (default: the event's single target; ``WLD`` if it has
        every destination as target).
    level, n_sim, seed : bands and simulation (module docstring).
    flows : a tidy monthly trade table to use instead of the bundled one.
    """
    event = get_event(event_id)
    ban = event_date(event)
    series = target_series(event_id, basket, outcome, partner, flows)
    partner_code, group = series.name.split(" to ")[1], series.name.split(" to ")[0]
    profile = episode_profile(episode, episode_basket, horizon, episode_anticipation,
                              outcome=outcome)
    last = series.dropna().index.max()
    between = measures_between(last + pd.offsets.MonthEnd(0), ban, partner_code, group,
                               exclude=event_id)
    notes = []
    if between:
        notes.append(f"Registry measures between the data's end ({last:%Y-%m}) and the ban "
                     f"touch this flow and are not in the projection: {', '.join(between)}.")
    target = f"China's {group} exports to {partner_code} ({event_id}, {ban:%Y-%m-%d})"
    return apply_profile(series, ban, profile, horizon, target=target, level=level,
                         n_sim=n_sim, seed=seed, notes=notes)


def compare_episodes(event_id: str = "C6", basket: str = "rare_earths",
                     episodes: list[str] | None = None, horizon: int = 12, *,
                     outcome: str = "value_usd", level: float = 0.95, n_sim: int = 2000,
                     seed: int = 2026, flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same SCENARIO under each past episode's profile, one row per episode.

    The choice of episode is the scenario's largest uncertainty and is not in its bands;
    this table shows how much it matters. Episodes whose profile cannot cover the horizon
    or cannot be estimated get a row with the reason in ``note``.
    """
    rows = []
    for episode in episodes if episodes is not None else usable_episodes():
        try:
            result = ban_scenario(event_id, basket, episode, horizon, outcome=outcome,
                                  level=level, n_sim=n_sim, seed=seed, flows=flows)
        except (EstimationError, ParameterError) as error:
            rows.append({"episode": episode, "profile": "", "note": f"not run: {error}"})
            continue
        t = result.totals
        rows.append({"episode": episode, "profile": result.profile.description,
                     "scenario_gap_pct": t["scenario_gap_pct"],
                     "scenario_gap_pct_low": t["scenario_gap_pct_low"],
                     "scenario_gap_pct_high": t["scenario_gap_pct_high"],
                     "scenario_gap": t["scenario_gap"], "unit": result.unit,
                     "months": horizon, "note": ""})
    columns = ["episode", "profile", "scenario_gap_pct", "scenario_gap_pct_low",
               "scenario_gap_pct_high", "scenario_gap", "unit", "months", "note"]
    return pd.DataFrame(rows).reindex(columns=columns)
