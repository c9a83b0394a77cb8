"""SCENARIO for a ban with no post-ban data: a past episode's published profile applied to a
projection.

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
2. Profile, **borrowed from the published episode estimate**. The episode's ban study
   (:func:`research.estimate.ban_study.ban_study` with the parameters of the published
   ban-impact report: window :data:`PUBLISHED_WINDOW`, anticipation from the registry
   dates, the episode's first basket with data) gives ``b_k``, log points against the
   episode's pre-period, for event months ``k``. Scenario month ``m`` (0 = the ban's
   month) takes ``b_m``, exactly the published coefficient. The episode's anticipation
   months (``k < 0``, front-loading before its licence requirement bit) are not applied:
   the scenario starts at the ban's month. A horizon beyond the published window needs
   a re-estimate with a longer window; the headline label then says so.
3. Scenario path ``s_t = c_t * exp(b_k(t))`` from the ban's month on; before it (months
   between the data's end and the ban) the scenario equals the projection.

The verdict is borrowed too
---------------------------
The scenario's headline carries the ``verdict`` and ``verdict_reasons`` of the episode
it borrows. A *supported* or *fragile* episode gives a scenario number (a fragile one
says so in the label). A *not identified* episode gives no quotable number: when its
study still fitted event-time coefficients (e.g. B1 on the mixed HS6 line 811292) the
path is shown descriptively, without bands or totals; when it fitted none (e.g. A2,
annual data with no untreated pre-period) no profile can be borrowed and only the
projection is shown.

Scope
-----
The path scales the **whole** flow (every buyer of the basket in the target) by the
borrowed profile. For an end-user ban such as C6 (military end-users and end-uses only)
that is an upper bound on the flow the measure affects; it is closer to the broader curbs
that later registry entries report (C10). The headline's estimand says this, and lists
the registry measures on the flow inside the scenario months.

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
coefficients' covariance when the profile has one (ban studies do), else comonotone
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
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from research import datasets
from research.errors import EstimationError, ParameterError, ResearchWarning
from research.estimate.ban_study import (
    MIN_POST_MONTHS,
    MONTHLY_START,
    OUTCOME_LABEL,
    TOUCHING_TYPES,
    BanStudyResult,
    ban_study,
    event_dates,
    months_between,
    split_field,
)
from research.estimate.its import flow_series
from research.estimate.result import Headline
from research.reference import baskets as basket_reference
from research.reference.events import get_event, load_events

ORDER = (1, 0, 0)
SEASONAL_ORDER = (0, 1, 1, 12)
MIN_PRE_MONTHS = 2 * 12 * 2 + 1  # two seasonal cycles after seasonal differencing, plus AR(1)
OUTCOMES = ("value_usd", "quantity")
BROADER_TYPES = ("ban", "licensing", "quota")
"""Registry event types that reach every buyer of a flow (broader than an end-user ban)."""
PUBLISHED_WINDOW = (-24, 12)
"""Event-month window of the published ban-impact reports (``ban_study``'s default)."""
SCENARIO_COLUMNS = ["period", "event_time", "counterfactual", "counterfactual_low",
                    "counterfactual_high", "profile_pct", "profile_pct_low",
                    "profile_pct_high", "scenario", "scenario_low", "scenario_high",
                    "scenario_gap", "actual", "unit", "method"]


@dataclass(frozen=True, eq=False)
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
    verdict, verdict_reasons : the episode's robustness verdict and its reasons
        (``None`` and empty for a made-up profile).
    effects : the episode's published aggregates (anticipation, impact, persistence,
        cumulative) as JSON-ready dicts.
    months_to_recovery : the episode's months to recovery, or ``None``.
    anticipation : the episode's anticipation months (not applied to the scenario).
    differences : how this profile differs from the published episode estimate, in
        words (empty when it is the published estimate).
    """

    episode: str
    description: str
    freq: Literal["M", "A"]
    event_time: np.ndarray
    log_effect: np.ndarray
    std_error: np.ndarray
    cov: np.ndarray | None = None
    outcome: str = "value_usd"
    notes: tuple[str, ...] = ()
    verdict: str | None = None
    verdict_reasons: tuple[str, ...] = ()
    effects: tuple[dict, ...] = ()
    months_to_recovery: int | None = None
    anticipation: int = 0
    differences: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        def put(name, value):
            object.__setattr__(self, name, value)

        put("event_time", np.asarray(self.event_time, dtype=int))
        put("log_effect", np.asarray(self.log_effect, dtype=float))
        put("std_error", np.asarray(self.std_error, dtype=float))
        put("notes", tuple(self.notes))
        put("verdict_reasons", tuple(self.verdict_reasons))
        put("differences", tuple(self.differences))
        if self.freq not in ("M", "A"):
            raise ParameterError(f"profile freq={self.freq!r} is not one of ['M', 'A']")
        n = len(self.event_time)
        if not n or len(self.log_effect) != n or len(self.std_error) != n:
            raise EstimationError(f"profile {self.episode!r}: event_time, log_effect and "
                                  "std_error must be non-empty and of equal length")
        if self.cov is not None:
            put("cov", np.asarray(self.cov, dtype=float))
            if self.cov.shape != (n, n):
                raise ParameterError(f"profile cov has shape {self.cov.shape}, expected "
                                     f"({n}, {n})")

    @property
    def quotable(self) -> bool:
        """Whether a scenario may quote a number under this profile (its episode is not
        *not identified*)."""
        return self.verdict != "not identified"

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


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """A SCENARIO (not an estimate): projection, scenario path, bands and totals.

    Meets the Result contract: ``method``, ``headline`` (a :class:`Headline` carrying the
    borrowed episode's verdict and reasons), ``notes``, ``tidy()`` (the monthly table),
    ``summary()`` and ``plot()``; :func:`research.report.outputs.record_result` records
    ``headline.record()``. Its columns say ``counterfactual`` and ``scenario``, never
    ``estimate``.

    Attributes
    ----------
    table : one row per month from the first projected month to the last scenario
        month (columns ``SCENARIO_COLUMNS``; ``event_time`` in months since the ban).
    totals : dict over the scenario months: ``counterfactual_total``,
        ``scenario_total``, ``scenario_gap`` / ``_low`` / ``_high`` (scenario - projection)
        and ``scenario_gap_pct`` / ``_low`` / ``_high`` (in % of the projection); the
        scenario entries are NaN when the borrowed episode is not identified.
    series : the observed flow (history), in ``unit``.
    profile : the borrowed profile, or ``None`` when the episode has none to borrow.
    """

    method: str
    headline: Headline
    notes: tuple[str, ...]
    table: pd.DataFrame
    totals: dict
    series: pd.Series
    ban: pd.Timestamp
    last_observed: pd.Timestamp
    horizon: int
    unit: str
    target: str
    profile: Profile | None
    episode: str = ""
    level: float = 0.95
    n_sim: int = 0

    @property
    def verdict(self) -> str | None:
        """The borrowed episode's verdict (``None`` for a made-up profile)."""
        return self.headline.verdict

    @property
    def path(self) -> Literal["scenario", "descriptive", "none"]:
        """``"scenario"`` (quotable), ``"descriptive"`` (the episode is not identified but
        has coefficients) or ``"none"`` (no profile to borrow: projection only)."""
        if self.profile is None:
            return "none"
        return "scenario" if self.profile.quotable else "descriptive"

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

    def profile_table(self) -> pd.DataFrame:
        """The borrowed episode's published aggregates (anticipation, impact, persistence,
        cumulative), one row each; empty when there is no profile or it has none."""
        if self.profile is None or not self.profile.effects:
            return pd.DataFrame(columns=["episode", "outcome", "term", "label", "pct",
                                         "pct_low", "pct_high", "p_value"])
        frame = pd.DataFrame(list(self.profile.effects))
        frame.insert(0, "episode", self.profile.episode)
        return frame

    def summary(self) -> str:
        """A readable text summary, every line saying SCENARIO."""
        h = self.headline
        lines = [f"SCENARIO, not an estimate. Method: {self.method}"]
        if h.verdict:
            lines.append(f"Borrowed verdict ({self.episode}): {h.verdict}")
            lines += [f"  - {r}" for r in h.verdict_reasons]
        if h.estimate is None:
            lines.append(h.label)
        else:
            lines.append(f"{h.label}: {h.estimate:.1f} [{h.conf_low:.1f}, "
                         f"{h.conf_high:.1f}] ({100 * self.level:.0f}% scenario band)")
        lines.append(f"Scope: {h.estimand}")
        lines.append(self.totals_table().drop(columns="method").to_string(
            index=False, float_format=lambda v: f"{v:,.4g}"))
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax=None, *, title: str | None = None, caption: str | None = None,
             history: int = 36):
        """Fan chart: history, projection band and the scenario (see
        :func:`research.plots.scenario_fan_plot`); returns the Figure."""
        from research.plots import scenario_fan_plot

        return scenario_fan_plot(self, ax=ax, title=title, caption=caption, history=history)


# ---------------------------------------------------------------------------- episodes

def _data_codes() -> tuple[pd.Timestamp, set[str], set[str]]:
    """End of the monthly data, HS6 lines with monthly destination data, annual lines."""
    monthly = datasets.load("china_exports_monthly")
    lines = set(monthly.loc[monthly["product_level"] == "hs6", "product"])
    annual = set(datasets.load("china_exports_annual")["product"])
    return monthly["period"].max(), lines, annual


def _data_baskets(event: pd.Series, codes: set[str]) -> list[str]:
    """The event's baskets with at least one HS6 line in ``codes``, in registry order."""
    return [b for b in split_field(event["basket"])
            if b in basket_reference.basket_names() and b != "dual_use_catalogue"
            and set(basket_reference.basket_codes(b)) & codes]


def _episode_problem(event: pd.Series, monthly_end: pd.Timestamp, monthly_lines: set[str],
                     annual_codes: set[str]) -> str | None:
    """Why a registry event cannot be borrowed as an episode at all, or None if its ban
    study can run (its verdict may still be *not identified*)."""
    baskets = split_field(event["basket"])
    if not baskets:
        return "names no product basket"
    try:
        date = event_dates(event)[0]
    except ParameterError:
        return "has no date"
    if date >= MONTHLY_START:
        post = months_between(date, monthly_end) + 1
        if post < MIN_POST_MONTHS:
            return (f"took effect {date:%Y-%m}; the bundled monthly data end "
                    f"{monthly_end:%Y-%m}: {max(post, 0)} post-event month(s), fewer than "
                    f"the {MIN_POST_MONTHS} its impact needs")
        if not _data_baskets(event, monthly_lines):
            return (f"none of its baskets {baskets} has an HS6 line with monthly "
                    "destination data")
        return None
    targets = split_field(event["targets"])
    if not targets or targets == ["ALL"]:
        return ("hits every destination before the monthly data start: the annual data have "
                "no untreated destination to compare with")
    if not _data_baskets(event, annual_codes):
        return "its baskets have no HS6 line in the annual data"
    return None


def episode_problems() -> dict[str, str | None]:
    """Every registry event id with the reason it cannot be borrowed (None if it can)."""
    monthly_end, lines, annual = _data_codes()
    return {row["event_id"]: _episode_problem(row, monthly_end, lines, annual)
            for _, row in load_events().iterrows()}


def usable_episodes() -> list[str]:
    """Registry events whose ban study can run (e.g. A2, A3, B1, B2); their verdicts
    decide whether a scenario may quote a number."""
    return [e for e, problem in episode_problems().items() if problem is None]


def published_basket(episode: str) -> str:
    """The basket of the episode's published ban-impact report: its first basket with HS6
    lines in the data its design uses (B2: graphite, B1: gallium, A2: rare_earths)."""
    event = get_event(episode)
    _, lines, annual = _data_codes()
    allowed = _data_baskets(event, lines if event_dates(event)[0] >= MONTHLY_START else annual)
    if not allowed:
        raise EstimationError(f"episode {episode} has no basket with trade data")
    return allowed[0]


def _episode_basket(event: pd.Series, basket: str | None) -> str:
    _, lines, annual = _data_codes()
    allowed = _data_baskets(event, lines if event_dates(event)[0] >= MONTHLY_START else annual)
    if basket is None:
        return allowed[0]
    if basket not in allowed:
        raise ParameterError(f"episode_basket={basket!r} is not a basket of episode "
                             f"{event['event_id']} with trade data; allowed: {allowed}")
    return basket


def episode_study(episode: str, basket: str | None = None, outcome: str = "value_usd",
                  horizon: int = 12) -> tuple[BanStudyResult, tuple[str, ...]]:
    """The episode's ban study with the parameters of its published report.

    Parameters
    ----------
    episode : registry id, one of :func:`usable_episodes` (e.g. ``"B2"``).
    basket : the episode's basket (default: :func:`published_basket`).
    outcome : the study's headline outcome, ``"value_usd"`` (as published) or
        ``"quantity"``.
    horizon : scenario months the profile must cover; beyond the published window
        (months 0 to :data:`PUBLISHED_WINDOW` [1]) the study is re-estimated with a longer
        window.

    Returns
    -------
    (BanStudyResult, tuple of str)
        The study (``ban_study(episode, basket, outcome=outcome, sensitivity=False)`` with
        the default window and anticipation, as the published report) and how it differs
        from the published estimate, in words (empty when it does not).

    Raises
    ------
    ParameterError
        Unknown episode id (the message lists the usable ones), basket or outcome.
    EstimationError
        A registry event that cannot be borrowed at all (the message says why).
    """
    problems = episode_problems()
    usable = [e for e, p in problems.items() if p is None]
    if episode not in problems:
        raise ParameterError(f"unknown episode {episode!r}; episodes with a ban study: "
                             f"{usable}")
    if problems[episode] is not None:
        raise EstimationError(f"episode {episode} has no usable event-time coefficients: it "
                              f"{problems[episode]}; episodes with a ban study: {usable}")
    if outcome not in OUTCOMES:
        raise ParameterError(f"outcome={outcome!r} is not one of {list(OUTCOMES)}")
    chosen = _episode_basket(get_event(episode), basket)
    differences = []
    window = PUBLISHED_WINDOW
    if horizon - 1 > PUBLISHED_WINDOW[1]:
        window = (PUBLISHED_WINDOW[0], int(horizon) - 1)
        differences.append(f"re-estimated with event months {window[0]} to {window[1]} for "
                           f"the {horizon}-month horizon (published: {PUBLISHED_WINDOW[0]} "
                           f"to {PUBLISHED_WINDOW[1]})")
    if chosen != published_basket(episode):
        differences.append(f"basket {chosen} (published: {published_basket(episode)})")
    if outcome != "value_usd":
        differences.append(f"led by {OUTCOME_LABEL[outcome]} (the published report leads "
                           "with value; the verdict is the one for this outcome)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the study's warnings are in its notes and checks
        study = ban_study(episode, chosen, outcome=outcome, window=window, sensitivity=False)
    return study, tuple(differences)


def profile_from_ban_study(study: BanStudyResult, outcome: str | None = None,
                           differences: tuple[str, ...] = ()) -> Profile:
    """The post-event coefficients (``k >= 0``) of a ban study as a Profile, with the
    study's verdict, reasons and published aggregates.

    Raises
    ------
    EstimationError
        The study fitted no event-time profile on ``outcome`` (e.g. an annual design with
        no untreated pre-period): no profile can be borrowed.
    """
    design = study.design
    outcome = outcome or next(iter(study.fits), "value_usd")
    fit = study.fits.get(outcome)
    reasons = "; ".join(study.headline.verdict_reasons) or "no fit"
    if fit is None:
        raise EstimationError(f"no profile can be borrowed from {design.event_id} on "
                              f"{design.basket}: its study fitted no event-time profile on "
                              f"{outcome} ({study.verdict}: {reasons})")
    se = pd.Series(np.sqrt(np.clip(np.diag(fit.vcov.to_numpy(dtype=float)), 0, None)),
                   index=fit.coef.index)
    keep = [k for k in fit.coef.index
            if k >= 0 and np.isfinite(fit.coef[k]) and np.isfinite(se[k]) and se[k] > 0]
    if not keep:
        raise EstimationError(f"no profile can be borrowed from {design.event_id}: its study "
                              "has no post-event coefficient with a standard error")
    effects = tuple(dict(e) for e in study.headline.profile if e.get("outcome") == outcome) \
        or tuple({"outcome": outcome, **e.record()} for e in fit.profile)
    description = (f"{design.event_id} ({design.effective:%Y-%m}) ban study, "
                   f"{design.basket}, {design.kind} design, {OUTCOME_LABEL[outcome]}, "
                   f"event months 0-{max(keep)}")
    return Profile(episode=design.event_id, description=description, freq="M",
                   event_time=np.array(keep), log_effect=fit.coef[keep].to_numpy(dtype=float),
                   std_error=se[keep].to_numpy(), cov=fit.vcov.loc[keep, keep].to_numpy(
                       dtype=float), outcome=outcome,
                   notes=tuple(dict.fromkeys((*study.notes, *fit.notes))),
                   verdict=study.headline.verdict,
                   verdict_reasons=study.headline.verdict_reasons, effects=effects,
                   months_to_recovery=study.headline.months_to_recovery,
                   anticipation=design.anticipation, differences=tuple(differences))


def profile_from_event_study(result, episode: str, description: str,
                             outcome: str = "value_usd", notes: list[str] | None = None
                             ) -> Profile:
    """The post-event coefficients (``k >= 0``) of an event-study result (e.g.
    :func:`research.estimate.event_study.event_study`) as a Profile without a verdict.

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
                   notes=tuple(notes or ()))


def episode_profile(episode: str, basket: str | None = None, horizon: int = 12,
                    outcome: str = "value_usd") -> Profile:
    """The published profile of a past episode (see :func:`episode_study`).

    Raises
    ------
    EstimationError
        The episode cannot be borrowed, or its study fitted no profile.
    """
    study, differences = episode_study(episode, basket, outcome, horizon)
    return profile_from_ban_study(study, outcome, differences)


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
        targets = split_field(event["targets"])
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


def _related(group: str) -> set[str]:
    return {b for b, g in basket_reference.BASKET_GROUP.items() if g == group} | {group}


def measures_between(start: pd.Timestamp, end: pd.Timestamp, partner: str, group: str,
                     exclude: str, types: tuple[str, ...] | None = None) -> list[str]:
    """Registry measures dated in ``(start, end]`` on ``group`` or on ``partner``, as
    ``"ID (date, type)"``; ``types`` keeps only those event types (default: all but
    context)."""
    found = []
    for _, row in load_events().iterrows():
        if row["event_id"] == exclude or row["event_type"] == "context":
            continue
        if types is not None and row["event_type"] not in types:
            continue
        date = row["effective"] if pd.notna(row["effective"]) else row["announced"]
        if pd.isna(date) or not start < date <= end:
            continue
        if set(split_field(row["basket"])) & _related(group) or partner in split_field(row["targets"]):
            found.append(f"{row['event_id']} ({pd.Timestamp(date):%Y-%m-%d}, "
                         f"{row['event_type']})")
    return found


def measure_scope(event_id: str, partner: str, group: str, horizon: int = 12
                  ) -> tuple[str, str]:
    """What the ban covers, the broader measures on the flow inside the scenario months and
    what scaling the whole flow assumes.

    Returns
    -------
    (str, str)
        A paragraph for the headline's estimand and the report, and a short clause for
        the headline label.

    Examples
    --------
    >>> text, short = measure_scope("C6", "JPN", "rare_earths")  # doctest: +SKIP
    >>> "upper bound" in short  # doctest: +SKIP
    True
    """
    event = get_event(event_id)
    date = event_dates(event)[0]
    end = date + pd.DateOffset(months=int(horizon))
    events = load_events().set_index("event_id")
    on_flow = [m.split(" ")[0] for m in measures_between(date, end, partner, group,
                                                         exclude=event_id,
                                                         types=TOUCHING_TYPES)]
    broader = [e for e in on_flow if events.loc[e, "event_type"] in BROADER_TYPES
               and set(split_field(events.loc[e, "basket"])) & _related(group)]
    described = [f"{e} ({event_dates(events.loc[e].rename(e))[0]:%Y-%m-%d}, "
                 f"{events.loc[e, 'event_type']}: {events.loc[e, 'products']})"
                 for e in on_flow]
    ids = ", ".join(broader)
    if event["event_type"] == "end-user ban":
        who = ("military end-users and military end-uses" if "military" in
               str(event["measure"]).lower() else "the end-users and end-uses it names")
        covers = (f"{event_id} is an end-user ban: it covers exports to {who} in {partner} "
                  "only, not every buyer of the flow.")
        assumes = ("Scaling the whole flow by the borrowed profile treats every shipment as "
                   "hit: an upper bound on the flow the end-user ban affects"
                   + (f", closer to the broader curbs reported in {ids}" if ids else "")
                   + ".")
        short = (f"whole flow scaled: an upper bound for {event_id}'s end-user scope"
                 + (f" (broader curbs reported: {ids})" if ids else ""))
    else:
        covers = f"{event_id} is a {event['event_type']} on {event['products']}."
        assumes = ("Scaling the whole flow by the borrowed profile treats every shipment of "
                   f"the {group} group as hit, including goods the measure does not list: "
                   "an upper bound on the flow affected.")
        short = "whole flow scaled: an upper bound on the flow affected"
    reported = (" Registry measures on this flow or destination inside the scenario months: "
                + "; ".join(described) + "." if described else "")
    return covers + reported + " " + assumes, short


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


def _ranges(months) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"``."""
    parts: list[list[int]] = []
    for m in (int(x) for x in months):
        if parts and m == parts[-1][-1] + 1:
            parts[-1].append(m)
        else:
            parts.append([m])
    return ", ".join(f"{p[0]}-{p[-1]}" if len(p) > 1 else f"{p[0]}" for p in parts)


def positive_reason(log_effect: np.ndarray, episode: str) -> str:
    """Why a scenario path ends above its projection, in words: the months in which the
    borrowed profile rises and those in which it falls (scenario months from 0)."""
    b = np.asarray(log_effect, dtype=float)
    months = np.arange(len(b))
    up, down = months[b > 0], months[b < 0]
    text = (f"above the projection because the borrowed {episode} profile rises in "
            f"month(s) {_ranges(up)} (up to {100 * np.expm1(b.max()):+.0f}%)")
    if len(down):
        text += (f", which outweighs its fall in month(s) {_ranges(down)} (down to "
                 f"{100 * np.expm1(b.min()):+.0f}%)")
    return text


def _label(path: str, target: str, span: str, profile: Profile | None, episode: str,
           horizon: int, gap_pct: float, scope_label: str) -> str:
    if path == "none":
        return (f"SCENARIO not available: {episode} is not identified and has no event-time "
                f"profile to borrow; projection of {target} only ({span}), no number")
    if path == "descriptive":
        return (f"SCENARIO not quotable: {episode} is not identified, so its coefficients "
                f"give {target} a descriptive path only ({span}), no number")
    months = (f"months 0-{horizon - 1}" if profile.freq == "M" else
              f"years 0-{(horizon - 1) // 12}")
    source = f"the published {episode} profile" if profile.effects else \
        f"the {episode} profile"
    label = (f"SCENARIO (not an estimate): {target}, {span}, % change against the projection "
             f"under {months} of {source}")
    if profile.anticipation:
        label += f" (its {profile.anticipation} anticipation month(s) not applied)"
    if profile.differences:
        label += "; differs from the published estimate: " + "; ".join(profile.differences)
    if profile.verdict == "fragile":
        label += f"; the {episode} estimate is fragile"
    if np.isfinite(gap_pct) and gap_pct > 0:
        label += "; " + positive_reason(profile.log_effect[profile.positions(horizon)],
                                        episode)
    if scope_label:
        label += f"; {scope_label}"
    return label


def apply_profile(series: pd.Series, ban: pd.Timestamp | str, profile: Profile | None,
                  horizon: int = 12, *, target: str | None = None, level: float = 0.95,
                  n_sim: int = 2000, seed: int = 2026, unit: str | None = None,
                  order: tuple[int, int, int] = ORDER,
                  seasonal_order: tuple[int, int, int, int] = SEASONAL_ORDER,
                  notes: list[str] | tuple[str, ...] | None = None, estimand: str = "",
                  scope_label: str = "", episode: str | None = None,
                  verdict: str | None = None,
                  verdict_reasons: tuple[str, ...] = ()) -> ScenarioResult:
    """Project ``series`` past the ban and apply ``profile`` from the ban's month on.

    Parameters
    ----------
    series : monthly flow on a DatetimeIndex (e.g. :func:`target_series`); months at or
        after the ban, if any, are shown as ``actual`` and not used in the fit.
    ban : the ban's date; its month is event time 0.
    profile : the collapse-and-recovery profile (:func:`episode_profile`), or ``None``
        when the episode has none to borrow (projection only). A profile whose verdict is
        *not identified* gives a descriptive path without bands or totals.
    horizon : scenario months from the ban's month.
    target : label of the flow for titles (default ``series.name``).
    level : band level. n_sim, seed : simulation of the totals (module docstring).
    unit : units of the series (default ``series.attrs["unit"]``).
    order, seasonal_order : SARIMA orders of the projection.
    notes : extra notes (e.g. measures between the data's end and the ban).
    estimand : the headline's estimand in words, scope included (:func:`measure_scope`).
    scope_label : a short scope clause for the headline label.
    episode, verdict, verdict_reasons : the episode and its verdict when ``profile`` is
        ``None`` (otherwise the profile's).

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
    path = "none" if profile is None else "scenario" if profile.quotable else "descriptive"
    positions = profile.positions(int(horizon)) if profile is not None else None
    if profile is not None:
        episode, verdict = profile.episode, profile.verdict
        verdict_reasons = profile.verdict_reasons
    episode = episode or "episode"
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
    steps = months_between(last, end)
    periods = pd.date_range(last + pd.DateOffset(months=1), periods=steps, freq="MS")
    forecast = fit.get_forecast(steps=steps)
    mean = np.asarray(forecast.predicted_mean, dtype=float) + offset
    se = np.sqrt(np.asarray(forecast.var_pred_mean, dtype=float))
    z = stats.norm.ppf(0.5 + level / 2)

    event_time = ((periods.year - ban.year) * 12 + periods.month - ban.month).to_numpy()
    post = event_time >= 0
    b = np.full(steps, np.nan if path == "none" else 0.0)
    sb = np.full(steps, np.nan if path != "scenario" else 0.0)
    if profile is not None:
        b[post] = profile.log_effect[positions]
        if path == "scenario":
            sb[post] = profile.std_error[positions]
    total_sd = np.sqrt(se**2 + sb**2)
    actual = raw.reindex(periods).to_numpy()
    method = {"scenario": f"scenario: {episode} profile applied to {target}",
              "descriptive": f"scenario (descriptive only): {episode} coefficients applied "
                             f"to {target}",
              "none": f"projection only: no {episode} profile to borrow for {target}"}[path]
    scenario = np.where(post, np.exp(mean + b), np.exp(mean))
    table = pd.DataFrame({
        "period": periods, "event_time": event_time,
        "counterfactual": np.exp(mean), "counterfactual_low": np.exp(mean - z * se),
        "counterfactual_high": np.exp(mean + z * se),
        "profile_pct": np.where(post, 100 * np.expm1(b), np.nan),
        "profile_pct_low": np.where(post, 100 * np.expm1(b - z * sb), np.nan),
        "profile_pct_high": np.where(post, 100 * np.expm1(b + z * sb), np.nan),
        "scenario": scenario,
        "scenario_low": np.where(post, np.exp(mean + b - z * total_sd), np.exp(mean)),
        "scenario_high": np.where(post, np.exp(mean + b + z * total_sd), np.exp(mean)),
        "actual": actual, "unit": unit, "method": method})
    if path != "scenario":  # no band for a path that may not be quoted
        table.loc[post, ["scenario_low", "scenario_high"]] = np.nan
    table["scenario_gap"] = table["scenario"] - table["counterfactual"]

    # totals over the scenario months by simulation (module docstring)
    rng = np.random.default_rng(seed)
    paths = np.asarray(fit.simulate(steps, repetitions=n_sim, anchor="end", rng=rng),
                       dtype=float).reshape(steps, n_sim)[post] + offset
    cf_draws = np.exp(paths).sum(axis=0)
    scenario_rows = table[post]
    cf_total = float(scenario_rows["counterfactual"].sum())
    totals = {"months": int(horizon), "counterfactual_total": cf_total}
    totals["counterfactual_low"], totals["counterfactual_high"] = _quantiles(cf_draws, level)
    if path == "scenario":
        if profile.cov is not None:
            coef = rng.multivariate_normal(profile.log_effect, profile.cov, size=n_sim,
                                           method="eigh")[:, positions].T
        else:
            coef = (profile.log_effect[positions][:, None]
                    + profile.std_error[positions][:, None] * rng.standard_normal(n_sim))
        sc_draws = np.exp(paths + coef).sum(axis=0)
        gap_draws = sc_draws - cf_draws
        sc_total = float(scenario_rows["scenario"].sum())
        totals.update({"scenario_total": sc_total, "scenario_gap": sc_total - cf_total,
                       "scenario_gap_pct": 100 * (sc_total - cf_total) / cf_total})
        for name, draws in (("scenario_total", sc_draws), ("scenario_gap", gap_draws),
                            ("scenario_gap_pct", 100 * gap_draws / cf_draws)):
            totals[f"{name}_low"], totals[f"{name}_high"] = _quantiles(draws, level)
    else:  # not identified: no quotable total
        for name in ("scenario_total", "scenario_gap", "scenario_gap_pct"):
            for suffix in ("", "_low", "_high"):
                totals[name + suffix] = float("nan")

    first, last_month = periods[post][0], periods[post][-1]
    span = f"{first:%Y-%m} to {last_month:%Y-%m}"
    label = _label(path, target, span, profile, episode, int(horizon),
                   totals["scenario_gap_pct"], scope_label)
    quoted = path == "scenario"
    headline = Headline(
        term="scenario_gap_pct", label=label,
        estimate=totals["scenario_gap_pct"] if quoted else None,
        conf_low=totals["scenario_gap_pct_low"] if quoted else None,
        conf_high=totals["scenario_gap_pct_high"] if quoted else None,
        p_value=None, scale="percent",
        estimand=(f"{target}, {span}: the projection times the borrowed profile, against "
                  "the projection (SARIMA on the pre-ban months), in % of the projection "
                  "summed over the scenario months. " + estimand).strip(),
        interval_method=(f"{100 * level:.0f}% scenario band, not a confidence interval: "
                         f"{n_sim} simulated forecast paths, each with a draw of the profile "
                         + ("(its covariance)" if profile.cov is not None else
                            "(comonotone, conservative)") if quoted else
                         "none: the borrowed episode is not identified"),
        profile=tuple({**e, "episode": episode,
                       "label": f"{episode} (borrowed): {e.get('label', e.get('term'))}"}
                      for e in (profile.effects if profile is not None else ())),
        months_to_recovery=profile.months_to_recovery if profile is not None else None,
        verdict=verdict, verdict_reasons=tuple(verdict_reasons))
    all_notes = [
        "SCENARIO, not an estimate: no trade data after the ban are used; the path shows "
        f"what the {episode} episode's response would imply for this flow.",
        f"Projection: SARIMA{tuple(order)}{tuple(seasonal_order)} on log {target}, fitted on "
        f"{observed.index.min():%Y-%m} to {last:%Y-%m} ({len(observed)} months) and "
        f"forecast {steps} months ahead to {end:%Y-%m}; it carries the pre-ban seasonal "
        "pattern and level forward.",
    ]
    if estimand:
        all_notes.append(f"Scope: {estimand}")
    if verdict == "not identified":
        all_notes.append(f"The borrowed episode {episode} is not identified ("
                         + "; ".join(verdict_reasons) + "): "
                         + ("its coefficients are shown as a descriptive path, with no band "
                            "and no total to quote." if path == "descriptive" else
                            "it has no event-time profile, so none can be borrowed and only "
                            "the projection is shown."))
    if profile is not None:
        all_notes.append(f"Profile: {profile.description}; applied as a proportional change "
                         "to the projection from the ban's month on.")
        if profile.anticipation:
            all_notes.append(f"The episode's {profile.anticipation} anticipation month(s) "
                             "(front-loading before its measure took effect) are not applied: "
                             "the scenario starts at the ban's month.")
        if path == "descriptive" and np.nansum(np.expm1(b[post])) > 0:
            all_notes.append("The descriptive path lies mostly above the projection: "
                             + positive_reason(b[post], episode) + ".")
    if quoted:
        all_notes.append(
            f"Bands ({100 * level:.0f}%): monthly bands combine the forecast variance and "
            "the profile's standard errors (independent, normal on the log scale); totals "
            f"are simulated ({n_sim} draws, "
            + ("profile covariance" if profile.cov is not None else
               "profile draws perfectly correlated across months, conservative")
            + "). Neither includes SARIMA parameter uncertainty or the doubt that the "
            "episode is a good guide.")
    unit_outcome = "quantity" if unit == "tonnes" else "value_usd"
    if profile is not None and profile.outcome != unit_outcome:
        all_notes.append(f"The profile was estimated on {profile.outcome} and is applied to "
                         f"{unit_outcome}: this assumes prices move as quantities did.")
    all_notes += list(notes or [])
    if profile is not None:
        all_notes += [f"Profile episode: {n}" for n in profile.notes]
    return ScenarioResult(method=method, headline=headline, notes=tuple(all_notes),
                          table=table[SCENARIO_COLUMNS], totals=totals, series=raw, ban=ban,
                          last_observed=last, horizon=int(horizon), unit=unit, target=target,
                          profile=profile, episode=episode, level=level, n_sim=n_sim)


def ban_scenario(event_id: str = "C6", basket: str = "rare_earths", episode: str = "B2",
                 horizon: int = 12, *, outcome: str = "value_usd",
                 episode_basket: str | None = None, partner: str | None = None,
                 level: float = 0.95, n_sim: int = 2000, seed: int = 2026,
                 flows: pd.DataFrame | None = None) -> ScenarioResult:
    """SCENARIO for a registry ban: ``episode``'s published profile applied to the
    projected flow, with the episode's verdict.

    Parameters
    ----------
    event_id : the ban to build a scenario for (e.g. ``"C6"``, January 2026, Japan).
    basket : the basket whose monthly product group carries the flow (e.g.
        ``"rare_earths"``, ``"graphite"``, ``"gallium"``, ``"polysilicon"``).
    episode : past registry episode whose profile is borrowed (:func:`usable_episodes`).
    horizon : scenario months from the ban's month.
    outcome : ``"value_usd"`` (USD) or ``"quantity"`` (tonnes) of the flow; the episode's
        study is led by the same outcome.
    episode_basket : the episode's basket (default: that of its published report).
    partner : destination ISO3 (default: the event's single target; ``WLD`` if it has
        every destination as target).
    level, n_sim, seed : bands and simulation (module docstring).
    flows : a tidy monthly trade table for the target flow instead of the bundled one
        (the episode is always the published estimate on the bundled data).

    Returns
    -------
    ScenarioResult
        Its headline carries the episode's verdict and reasons; a *not identified*
        episode gives no number (a descriptive path, or the projection only).

    Examples
    --------
    The January 2026 ban on Japan (C6) with the graphite licensing (B2) as the past
    episode (skipped here: the episode's ban study and the projection take seconds):

    >>> scenario = ban_scenario("C6", "rare_earths", episode="B2")  # doctest: +SKIP
    >>> scenario.headline["label"].startswith("SCENARIO (not an estimate)")  # doctest: +SKIP
    True
    >>> scenario.headline["verdict"]  # doctest: +SKIP
    'supported'
    """
    event = get_event(event_id)
    ban = event_dates(event)[0]
    series = target_series(event_id, basket, outcome, partner, flows)
    partner_code, group = series.name.split(" to ")[1], series.name.split(" to ")[0]
    study, differences = episode_study(episode, episode_basket, outcome, horizon)
    try:
        profile = profile_from_ban_study(study, outcome, differences)
    except EstimationError:
        if study.verdict != "not identified":
            raise
        profile = None
    last = series.dropna().index.max()
    between = measures_between(last + pd.offsets.MonthEnd(0), ban, partner_code, group,
                               exclude=event_id)
    notes = []
    if between:
        notes.append(f"Registry measures between the data's end ({last:%Y-%m}) and the ban "
                     f"touch this flow and are not in the projection: {', '.join(between)}.")
    estimand, scope_label = measure_scope(event_id, partner_code, group, horizon)
    target = f"China's {group} exports to {partner_code} ({event_id}, {ban:%Y-%m-%d})"
    return apply_profile(series, ban, profile, horizon, target=target, level=level,
                         n_sim=n_sim, seed=seed, notes=notes, estimand=estimand,
                         scope_label=scope_label, episode=episode, verdict=study.verdict,
                         verdict_reasons=study.headline.verdict_reasons)


COMPARE_COLUMNS = ["episode", "verdict", "verdict_reason", "profile", "scenario_gap_pct",
                   "scenario_gap_pct_low", "scenario_gap_pct_high", "scenario_gap", "unit",
                   "months", "note"]


def compare_episodes(event_id: str = "C6", basket: str = "rare_earths",
                     episodes: list[str] | None = None, horizon: int = 12, *,
                     outcome: str = "value_usd", level: float = 0.95, n_sim: int = 2000,
                     seed: int = 2026, flows: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same SCENARIO under each past episode's profile, one row per episode.

    The choice of episode is the scenario's largest uncertainty and is not in its bands;
    this table shows how much it matters. Each row carries the episode's verdict and its
    first reason; a *not identified* episode has no number (``note`` says why), and an
    episode that cannot be borrowed at all gets ``verdict`` "not run" and the reason.
    """
    rows = []
    for episode in episodes if episodes is not None else usable_episodes():
        try:
            result = ban_scenario(event_id, basket, episode, horizon, outcome=outcome,
                                  level=level, n_sim=n_sim, seed=seed, flows=flows)
        except (EstimationError, ParameterError) as error:
            rows.append({"episode": episode, "verdict": "not run", "profile": "",
                         "note": f"not run: {error}"})
            continue
        t, h = result.totals, result.headline
        note = {"scenario": "", "descriptive": "not identified: descriptive path only, no "
                                               "number",
                "none": "not identified: no profile to borrow"}[result.path]
        rows.append({"episode": episode, "verdict": h.verdict,
                     "verdict_reason": h.verdict_reasons[0] if h.verdict_reasons else "",
                     "profile": result.profile.description if result.profile else "",
                     "scenario_gap_pct": t["scenario_gap_pct"],
                     "scenario_gap_pct_low": t["scenario_gap_pct_low"],
                     "scenario_gap_pct_high": t["scenario_gap_pct_high"],
                     "scenario_gap": t["scenario_gap"], "unit": result.unit,
                     "months": horizon, "note": note})
    return pd.DataFrame(rows).reindex(columns=COMPARE_COLUMNS)
