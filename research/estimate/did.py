"""Staggered difference-in-differences (Callaway and Sant'Anna 2021), without covariates.

Group-time average treatment effects, for the cohort ``g`` first treated in period
``g`` and a period ``t``::

    ATT(g, t) = E[Y_t - Y_b | G = g] - E[Y_t - Y_b | C]

with ``b`` the base period and ``C`` the comparison units: never treated
(``control="never"``) or, in addition, units not yet treated by ``max(t, b)``
(``control="notyet"``). Without covariates this is the 2x2 difference of group means
(the ``did`` package's ``reg``, ``ipw`` and ``dr`` estimators all reduce to it).

Base period (``base_period``): for post-treatment cells ``t >= g`` (less
``anticipation``) the base is always the last period before treatment, ``g - 1``.
For pre-treatment cells the default ``"varying"`` base is the period just before ``t``
(``ATT(g, t)`` is then the change from ``t - 1`` to ``t``, as in the ``did`` package's
default); ``"universal"`` uses ``g - 1`` for every cell, so the pre-period cells are
long differences and ``ATT(g, g - 1) = 0`` by construction.

Aggregations (``did::aggte``): ``simple`` (post cells weighted by cohort size),
``group`` (each cohort's post average, then cohorts weighted by size), ``dynamic``
(cells with the same event time ``e = t - g`` weighted by cohort size; the overall
dynamic effect averages ``e >= 0``).

Inference: every estimate is an average of per-unit influence functions (Callaway and
Sant'Anna 2021, section 4); aggregations add the influence of the estimated cohort
weights. Analytic standard errors are ``sqrt(sum_c psi_c^2) / n`` with ``psi_c`` the
influence function summed within cluster ``c`` (by default the unit, so errors are
clustered by unit across periods). The multiplier bootstrap draws Rademacher weights
per cluster, ``b* = (1/n) sum_c v_c psi_c``, and, like ``did``, takes the standard
error from the interquartile range of the draws, ``IQR / (z_.75 - z_.25)``. Uniform
(simultaneous) bands use the ``level`` quantile of ``max_k |b*_k / se_k|`` over a
family of estimates (all ATT(g,t), all event times, all cohorts).

Validated against the ``mpdta`` example of the R ``did`` package (see ``tests/test_did.py``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from research.errors import EstimationError, PanelError, ParameterError, ResearchWarning
from research.estimate.panel import (
    PANEL,
    constant_within,
    numeric_column,
    require_columns,
    unique_rows,
)
from research.estimate.result import TIDY_COLUMNS, Result

Control = Literal["never", "notyet"]
BasePeriod = Literal["varying", "universal"]
Inference = Literal["analytic", "bootstrap"]
CONTROLS = ("never", "notyet")
BASE_PERIODS = ("varying", "universal")
INFERENCES = ("analytic", "bootstrap")
METHOD = "callaway-santanna did"
_IQR_SCALE = stats.norm.ppf(0.75) - stats.norm.ppf(0.25)


@dataclass
class DiDResult(Result):
    """Callaway-Sant'Anna estimates: group-time effects and their aggregations.

    Attributes
    ----------
    att_gt : one row per (group, time): ``group``, ``time``, ``event_time``, ``base``,
        ``estimate``, ``std_error``, ``conf_low``, ``conf_high``, ``p_value``, ``post``,
        ``n_treated``, ``n_control``.
    groups : per-cohort average post effect (``group``, estimate, std_error, conf_low,
        conf_high, p_value).
    dynamic : per event time (``event_time``, estimate, ...).
    overall : ``{"simple": {...}, "group": {...}, "dynamic": {...}}``, each with estimate,
        std_error, conf_low, conf_high, p_value.
    pretest : Wald test that all pre-treatment ATT(g,t) are zero (statistic, df, p_value).
    """

    att_gt: pd.DataFrame = field(default_factory=pd.DataFrame)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    dynamic: pd.DataFrame = field(default_factory=pd.DataFrame)
    overall: dict = field(default_factory=dict)
    pretest: dict = field(default_factory=dict)
    control: str = "never"
    base_period: str = "varying"
    log: bool = False
    outcome: str = ""
    n_units: int = 0
    n_clusters: int = 0
    inference: str = "analytic"
    uniform_bands: bool = False
    level: float = 0.95

    def plot(self, ax=None, title: str | None = None):
        """Event-time (dynamic) effects with their intervals; pre-periods in grey."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.5))
        table = self.dynamic
        colours = sns.color_palette()
        for post, colour, label in ((False, "0.45", "pre-treatment"),
                                    (True, colours[0], "post-treatment")):
            part = table[(table["event_time"] >= 0) == post]
            ax.errorbar(part["event_time"], part["estimate"],
                        yerr=[part["estimate"] - part["conf_low"],
                              part["conf_high"] - part["estimate"]],
                        fmt="o", color=colour, capsize=3, label=label)
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
        band = "uniform band" if self.uniform_bands else "pointwise CI"
        unit = "log points" if self.log else self.outcome
        ax.set_xlabel("event time (periods since first treated)")
        ax.set_ylabel(f"ATT ({unit}), {100 * self.level:.0f}% {band}")
        o = self.overall["simple"]
        ax.set_title(title or f"Callaway-Sant'Anna, {self.control}-treated controls\n"
                     f"simple ATT {o['estimate']:.4g} [{o['conf_low']:.4g}, "
                     f"{o['conf_high']:.4g}]", fontsize=11)
        ax.legend(loc="best", fontsize=8)
        return ax.figure


def _check_choice(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not one of {list(allowed)}")


def _prepare(panel: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str,
             cluster: str | None, log: bool, anticipation: int,
             notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Balanced wide outcome matrix (units x periods), cohorts, periods, cluster codes."""
    columns = list(dict.fromkeys([unit, time, cohort, outcome, *([cluster] if cluster else [])]))
    require_columns(panel, columns)
    data = panel[columns].copy()
    if data[unit].isna().any():
        raise PanelError(PANEL, "missing unit id", field=unit,
                         row=data.index[int(np.flatnonzero(data[unit].isna().to_numpy())[0])])
    unique_rows(data, [unit, time])  # named with the values as given
    for column in (time, cohort, outcome):
        # periods as integers (e.g. years); a cell that is not a number is named
        data[column] = numeric_column(data, column)
    if data[time].isna().any():
        raise PanelError(PANEL, "missing period", field=time,
                         row=data.index[int(np.flatnonzero(data[time].isna().to_numpy())[0])])
    data[cohort] = data[cohort].fillna(0)
    if (data[cohort] < 0).any():
        raise PanelError(PANEL, "negative first treated period; use 0 for never treated",
                         field=cohort, value=float(data.loc[data[cohort] < 0, cohort].iloc[0]))
    constant_within(data, cohort, unit, meaning="it must be the unit's first treated period "
                    "(0 = never treated)")
    if cluster:
        constant_within(data, cluster, unit, meaning="clusters must contain whole units")
    if log:
        bad = data[outcome] <= 0
        if bad.any():
            warnings.warn(f"{int(bad.sum())} non-positive values of {outcome!r} are missing on "
                          "the log scale", ResearchWarning, stacklevel=3)
        data[outcome] = np.log(data[outcome].where(~bad))
    periods = np.sort(data[time].unique())
    wide = data.pivot(index=unit, columns=time, values=outcome).reindex(columns=periods)
    incomplete = wide.isna().any(axis=1)
    if incomplete.any():
        n = int(incomplete.sum())
        warnings.warn(f"{n} unit(s) with a missing {outcome!r} in some period dropped (the "
                      "estimator needs a balanced panel)", ResearchWarning, stacklevel=3)
        notes.append(f"{n} units with missing outcomes dropped to balance the panel.")
        wide = wide[~incomplete]
    first = data.groupby(unit)[cohort].first().reindex(wide.index).to_numpy(dtype=float)
    late = first > periods[-1]
    if late.any():
        notes.append(f"{int(late.sum())} units first treated after the last period "
                     f"({periods[-1]}) count as never treated.")
        first = np.where(late, 0.0, first)
    always = (first > 0) & (first <= periods[0] + anticipation)
    if always.any():
        n = int(always.sum())
        warnings.warn(f"{n} unit(s) already treated in the first period dropped (they "
                      "identify no effect)", ResearchWarning, stacklevel=3)
        notes.append(f"{n} units treated in the first period dropped.")
        wide, first = wide[~always], first[~always]
    if len(wide) == 0:
        raise EstimationError("no unit left after balancing the panel")
    if cluster:
        codes = pd.factorize(data.groupby(unit)[cluster].first().reindex(wide.index))[0]
    else:
        codes = np.arange(len(wide))
    return wide.to_numpy(dtype=float), first, periods, codes


def _cells(y: np.ndarray, g_of: np.ndarray, periods: np.ndarray, control: str,
           base_period: str, anticipation: int) -> tuple[list[dict], np.ndarray]:
    """ATT(g, t) for every cohort and period, with the n x K influence-function matrix."""
    n = len(y)
    cohorts = np.sort(np.unique(g_of[g_of > 0]))
    rows, columns = [], []
    start = 0 if base_period == "universal" else 1
    for g in cohorts:
        before = np.flatnonzero(periods + anticipation < g)
        if not len(before):
            continue
        g_base = before[-1]  # index of the last period before treatment (less anticipation)
        for ti in range(start, len(periods)):
            t = periods[ti]
            post = t + anticipation >= g
            bi = g_base if (post or base_period == "universal") else ti - 1
            if bi == ti:  # universal base: ATT(g, g-1) is zero by construction
                rows.append({"group": g, "time": t, "base": periods[bi], "estimate": 0.0,
                             "post": False, "n_treated": int((g_of == g).sum()),
                             "n_control": 0, "reference": True})
                continue
            treated = g_of == g
            if control == "never":
                ctrl = g_of == 0
            else:
                ctrl = (g_of == 0) | ((g_of > max(t, periods[bi]) + anticipation) & ~treated)
            n_t, n_c = int(treated.sum()), int(ctrl.sum())
            if n_t == 0 or n_c == 0:
                continue
            dy = y[:, ti] - y[:, bi]
            mu_t, mu_c = dy[treated].mean(), dy[ctrl].mean()
            psi = np.zeros(n)
            psi[treated] = n / n_t * (dy[treated] - mu_t)
            psi[ctrl] = -n / n_c * (dy[ctrl] - mu_c)
            rows.append({"group": g, "time": t, "base": periods[bi],
                         "estimate": float(mu_t - mu_c), "post": bool(post),
                         "n_treated": n_t, "n_control": n_c, "reference": False})
            columns.append(psi)
    if not columns:
        raise EstimationError("no group-time cell has both treated and comparison units")
    return rows, np.column_stack(columns)


def _weights_influence(keepers: np.ndarray, pg: np.ndarray, group_of_cell: np.ndarray,
                       g_of: np.ndarray) -> np.ndarray:
    """Influence of estimating the cohort-share weights ``pg_k / sum(pg)`` (did::wif)."""
    indicator = (g_of[:, None] == group_of_cell[keepers][None, :]).astype(float)
    centred = indicator - pg[keepers][None, :]
    total = pg[keepers].sum()
    return centred / total - centred.sum(axis=1, keepdims=True) * (pg[keepers] / total**2)


class _Inference:
    """Standard errors and critical values from influence functions (shared draws)."""

    def __init__(self, codes: np.ndarray, n: int, method: str, n_boot: int,
                 seed: int | None, level: float) -> None:
        self.codes, self.n, self.method, self.level = codes, n, method, level
        self.n_clusters = int(codes.max()) + 1
        self.z = stats.norm.ppf(0.5 + level / 2)
        if method == "bootstrap":
            rng = np.random.default_rng(seed)
            self.draws = rng.choice(np.array([-1.0, 1.0]), size=(n_boot, self.n_clusters))

    def _sums(self, psi: np.ndarray) -> np.ndarray:
        psi = psi.reshape(self.n, -1)
        return np.column_stack([np.bincount(self.codes, weights=psi[:, j],
                                            minlength=self.n_clusters)
                                for j in range(psi.shape[1])])

    def __call__(self, psi: np.ndarray, uniform: bool = False) -> tuple[np.ndarray, float]:
        """Standard errors of the columns of ``psi`` and the critical value."""
        sums = self._sums(psi)
        if self.method == "analytic":
            return np.sqrt((sums**2).sum(axis=0)) / self.n, self.z
        boot = self.draws @ sums / self.n
        q75, q25 = np.percentile(boot, [75, 25], axis=0, method="inverted_cdf")
        se = (q75 - q25) / _IQR_SCALE
        se = np.where(se > 1e-12 * np.abs(boot).max(initial=1.0), se, np.nan)
        if not uniform or np.isnan(se).all():
            return se, self.z
        t_max = np.nanmax(np.abs(boot / se), axis=1)
        return se, float(np.quantile(t_max, self.level, method="inverted_cdf"))


def _row(estimate: float, se: float, crit: float) -> dict:
    p = float(2 * stats.norm.sf(abs(estimate / se))) if np.isfinite(se) and se > 0 else np.nan
    return {"estimate": float(estimate), "std_error": float(se),
            "conf_low": float(estimate - crit * se), "conf_high": float(estimate + crit * se),
            "p_value": p}


def callaway_santanna(panel: pd.DataFrame, *, outcome: str, unit: str, time: str,
                      cohort: str, control: Control = "never",
                      base_period: BasePeriod = "varying", log: bool = False,
                      anticipation: int = 0, cluster: str | None = None,
                      inference: Inference = "analytic", n_boot: int = 999,
                      seed: int | None = None, uniform_bands: bool = False,
                      level: float = 0.95) -> DiDResult:
    """Staggered DiD of Callaway and Sant'Anna (2021) without covariates.

    Parameters
    ----------
    panel : long table, one row per unit and period.
    outcome, unit, time : column names; ``time`` numeric (years, or a month index).
    cohort : column with each unit's first treated period (in ``time`` units); 0 or
        missing means never treated.
    control : ``"never"`` (never-treated units) or ``"notyet"`` (never treated plus units
        not yet treated by the later of ``t`` and the base period).
    base_period : ``"varying"`` (pre-period cells compare ``t`` with ``t - 1``; the ``did``
        default) or ``"universal"`` (every cell compares with ``g - 1``).
    log : estimate on ``log(outcome)`` (non-positive values become missing; effects in
        log points).
    anticipation : periods before ``g`` in which units may already respond.
    cluster : column to cluster by (constant within unit); default the unit.
    inference : ``"analytic"`` or ``"bootstrap"`` (multiplier bootstrap, Rademacher
        weights per cluster).
    n_boot, seed : bootstrap draws and random seed.
    uniform_bands : with the bootstrap, simultaneous bands for each family (ATT(g,t),
        event times, cohorts) instead of pointwise intervals.
    level : confidence level.

    Returns
    -------
    DiDResult whose tidy table lists ``ATT(simple)``, ``ATT(group)``, ``ATT(dynamic)``,
    ``group[g]``, ``event_time[e]`` and ``ATT(g,t)`` rows.

    Examples
    --------
    A simulated staggered panel (cohorts treated in periods 4 and 6, effects growing
    with time since treatment; the true simple ATT is 1.8125):

    >>> from research.simulate import simulate_staggered_panel
    >>> panel = simulate_staggered_panel(seed=1)
    >>> result = callaway_santanna(panel, outcome="y", unit="unit", time="period",
    ...                            cohort="cohort")
    >>> round(result.headline["estimate"], 2), panel.attrs["simple"]
    (1.97, 1.8125)
    """
    _check_choice("control", control, CONTROLS)
    _check_choice("base_period", base_period, BASE_PERIODS)
    _check_choice("inference", inference, INFERENCES)
    if not isinstance(anticipation, int | np.integer) or anticipation < 0:
        raise ParameterError(f"anticipation={anticipation!r} must be a non-negative integer")
    if not 0 < level < 1:
        raise ParameterError(f"level={level!r} must be between 0 and 1")
    if uniform_bands and inference != "bootstrap":
        raise ParameterError("uniform_bands=True needs inference='bootstrap'")
    if inference == "bootstrap" and n_boot < 100:
        raise ParameterError(f"n_boot={n_boot} is too few for bootstrap intervals (>= 100)")
    notes: list[str] = []
    y, g_of, periods, codes = _prepare(panel, outcome, unit, time, cohort, cluster, log,
                                       anticipation, notes)
    n = len(y)
    if control == "never" and not (g_of == 0).any():
        raise EstimationError("no never-treated unit: use control='notyet'")
    rows, psi = _cells(y, g_of, periods, control, base_period, anticipation)
    infer = _Inference(codes, n, inference, n_boot, seed, level)

    cells = pd.DataFrame([r for r in rows if not r["reference"]])
    refs = pd.DataFrame([r for r in rows if r["reference"]])
    att = cells["estimate"].to_numpy()
    group_of_cell = cells["group"].to_numpy(dtype=float)
    time_of_cell = cells["time"].to_numpy(dtype=float)
    se, crit = infer(psi, uniform=uniform_bands)
    cells = pd.concat([cells, pd.DataFrame([_row(a, s, crit) for a, s in zip(att, se,
                                                                              strict=True)]
                                           ).drop(columns="estimate")], axis=1)
    cohorts = np.sort(np.unique(g_of[g_of > 0]))
    pg_cohort = np.array([np.mean(g_of == g) for g in cohorts])
    pg = np.array([np.mean(g_of == g) for g in group_of_cell])
    post = cells["post"].to_numpy()

    # simple: post cells weighted by cohort size
    keep = np.flatnonzero(post)
    if not len(keep):
        raise EstimationError("no post-treatment cell: every cohort is treated after the "
                              "last period")
    w = pg[keep] / pg[keep].sum()
    simple_att = float(att[keep] @ w)
    simple_psi = psi[:, keep] @ w + _weights_influence(keep, pg, group_of_cell, g_of) @ att[keep]

    # group: each cohort's post average, cohorts weighted by size
    group_att, group_psi, used = [], [], []
    for g in cohorts:
        which = np.flatnonzero((group_of_cell == g) & post)
        if not len(which):
            continue
        group_att.append(float(att[which].mean()))
        group_psi.append(psi[:, which].mean(axis=1))
        used.append(g)
    group_att_arr, group_psi_arr = np.array(group_att), np.column_stack(group_psi)
    pgg = np.array([pg_cohort[list(cohorts).index(g)] for g in used])
    wg = pgg / pgg.sum()
    group_overall = float(group_att_arr @ wg)
    wif_g = _weights_influence(np.arange(len(used)), pgg, np.array(used, dtype=float), g_of)
    group_overall_psi = group_psi_arr @ wg + wif_g @ group_att_arr

    # dynamic: cells with the same event time weighted by cohort size
    event = time_of_cell - group_of_cell
    dyn_e, dyn_att, dyn_psi = [], [], []
    for e in np.sort(np.unique(event)):
        which = np.flatnonzero(event == e)
        we = pg[which] / pg[which].sum()
        dyn_e.append(e)
        dyn_att.append(float(att[which] @ we))
        dyn_psi.append(psi[:, which] @ we
                       + _weights_influence(which, pg, group_of_cell, g_of) @ att[which])
    dyn_e_arr, dyn_att_arr, dyn_psi_arr = (np.array(dyn_e), np.array(dyn_att),
                                           np.column_stack(dyn_psi))
    positive = dyn_e_arr >= 0
    dynamic_overall = float(dyn_att_arr[positive].mean())
    dynamic_overall_psi = dyn_psi_arr[:, positive].mean(axis=1)

    overall_se, _ = infer(np.column_stack([simple_psi, group_overall_psi,
                                           dynamic_overall_psi]))
    overall = {name: _row(est, s, infer.z) for name, est, s in
               zip(("simple", "group", "dynamic"),
                   (simple_att, group_overall, dynamic_overall), overall_se, strict=True)}
    g_se, g_crit = infer(group_psi_arr, uniform=uniform_bands)
    groups = pd.DataFrame([{"group": g, **_row(a, s, g_crit)}
                           for g, a, s in zip(used, group_att_arr, g_se, strict=True)])
    d_se, d_crit = infer(dyn_psi_arr, uniform=uniform_bands)
    dynamic = pd.DataFrame([{"event_time": int(e), **_row(a, s, d_crit)}
                            for e, a, s in zip(dyn_e_arr, dyn_att_arr, d_se, strict=True)])
    if len(refs):  # universal base: the reference event time is zero by construction
        reference = {"event_time": -1 - anticipation, "estimate": 0.0, "std_error": 0.0,
                     "conf_low": 0.0, "conf_high": 0.0, "p_value": np.nan}
        dynamic = pd.concat([dynamic, pd.DataFrame([reference])])
        dynamic = dynamic.sort_values("event_time").reset_index(drop=True)

    pre = ~post
    pretest = {"statistic": np.nan, "df": 0, "p_value": np.nan}
    if pre.any():
        sums = infer._sums(psi[:, pre])
        v = sums.T @ sums / n**2
        b = att[pre]
        rank = np.linalg.matrix_rank(v)
        if rank == len(b):
            stat = float(b @ np.linalg.solve(v, b))
            pretest = {"statistic": stat, "df": int(len(b)),
                       "p_value": float(stats.chi2.sf(stat, len(b)))}
        else:
            notes.append("Pre-trend Wald test skipped: the covariance of the pre-period "
                         "ATT(g,t) is singular (too few clusters).")

    att_gt = cells.drop(columns="reference")
    if len(refs):
        refs = refs.drop(columns="reference").assign(std_error=0.0, conf_low=0.0,
                                                      conf_high=0.0, p_value=np.nan)
        att_gt = pd.concat([att_gt, refs], ignore_index=True)
    att_gt["event_time"] = (att_gt["time"] - att_gt["group"]).astype(int)
    att_gt = att_gt.sort_values(["group", "time"]).reset_index(drop=True)
    for frame in (att_gt, groups):
        frame["group"] = _as_periods(frame["group"])
    att_gt["base"] = _as_periods(att_gt["base"])
    att_gt = att_gt[["group", "time", "event_time", "base", "estimate", "std_error",
                     "conf_low", "conf_high", "p_value", "post", "n_treated", "n_control"]]

    def tidy(term: str, r: dict) -> dict:
        return {"term": term, **{k: r[k] for k in ("estimate", "std_error", "conf_low",
                                                   "conf_high", "p_value")},
                "n_obs": int(n * len(periods)), "method": METHOD}

    table_rows = [tidy(f"ATT({name})", overall[name]) for name in ("simple", "group",
                                                                   "dynamic")]
    table_rows += [tidy(f"group[{_fmt(r['group'])}]", r) for r in groups.to_dict("records")]
    table_rows += [tidy(f"event_time[{r['event_time']}]", r)
                   for r in dynamic.to_dict("records")]
    table_rows += [tidy(f"ATT({_fmt(r['group'])},{_fmt(r['time'])})", r)
                   for r in att_gt.to_dict("records")]
    table = pd.DataFrame(table_rows)[TIDY_COLUMNS]

    counts = ", ".join(f"{_fmt(g)}: {int((g_of == g).sum())}" for g in cohorts)
    notes = [f"Comparison units: {'never treated' if control == 'never' else 'never or not yet treated'}; "
             f"base period {base_period}; anticipation {anticipation}.",
             f"{n} units ({int((g_of == 0).sum())} never treated; cohorts {counts}), "
             f"{len(periods)} periods.",
             ("Standard errors: influence functions" if inference == "analytic" else
              f"Standard errors: multiplier bootstrap ({n_boot} Rademacher draws)")
             + f", clustered by {cluster or unit} ({infer.n_clusters} clusters)"
             + ("; uniform bands" if uniform_bands else "") + ".", *notes]
    s = overall["simple"]
    if log:
        headline = {"term": "ATT(simple)", "label": "average effect on the treated, % change",
                    "estimate": 100 * np.expm1(s["estimate"]),
                    "conf_low": 100 * np.expm1(s["conf_low"]),
                    "conf_high": 100 * np.expm1(s["conf_high"]), "p_value": s["p_value"]}
    else:
        headline = {"term": "ATT(simple)",
                    "label": f"average effect on the treated, {outcome}",
                    **{k: s[k] for k in ("estimate", "conf_low", "conf_high", "p_value")}}
    return DiDResult(method=METHOD, table=table, headline=headline, notes=notes,
                     att_gt=att_gt, groups=groups, dynamic=dynamic, overall=overall,
                     pretest=pretest, control=control, base_period=base_period, log=log,
                     outcome=outcome, n_units=n, n_clusters=infer.n_clusters,
                     inference=inference, uniform_bands=uniform_bands, level=level)


def _as_periods(values: pd.Series) -> pd.Series:
    """Integer periods when every value is a whole number (years, month indices)."""
    numbers = values.astype(float)
    return numbers.astype(int) if np.all(np.mod(numbers, 1) == 0) else numbers


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
