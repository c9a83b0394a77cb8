"""Synthetic control of one treated unit's outcome path, with placebo-in-space inference.

Method (Abadie and Gardeazabal 2003; Abadie, Diamond and Hainmueller 2010, "ADH")::

    w* = argmin_w  sum_{t < T} (y_1t - sum_j w_j y_jt)^2   s.t.  w_j >= 0,  sum_j w_j = 1

The weights match the treated unit's pre-intervention outcome path only (no
covariates, so ADH's predictor-weight matrix V is the identity on the pre-period
outcomes); they are found with SLSQP. With ``normalize="pre_mean"`` (the default)
every unit's outcome is first divided by its own pre-period mean, so units are
indexed to 1 before the intervention and donors of very different size (Japan and
Thailand in rare-earth imports) can match the shape of the treated path; the
weights then combine indexed paths, and a level combination ``y_1 = sum a_j y_j``
shows up as weights ``a_j * mean_j / mean_1``. ``normalize="none"`` matches levels.

Gap: ``treated - synthetic``. Effect: the average post gap in percent of the
synthetic, ``100 * sum_{t >= T} gap_t / sum_{t >= T} synthetic_t``.

Inference (ADH 2010, section 2.4): rerun the method with each donor as the treated
unit (its donors are the other donors, or with ``placebo_pool="all"`` every other unit,
the treated one included); compare the ratio of post- to pre-period
root mean squared prediction error (RMSPE); the permutation p-value is the rank of
the treated ratio among all ``J + 1`` ratios divided by ``J + 1`` (ties counted
against the treated unit), so its smallest value is ``1 / (J + 1)``. The tidy table
reports no standard error and no confidence interval (NaN): the placebo distribution
gives a test of no effect, not an interval for its size; the placebo effects are in
``SynthResult.placebos``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize

from research.errors import EstimationError, PanelError, ParameterError, ResearchWarning
from research.estimate.panel import PANEL, numeric_column, require_columns, timestamp, unique_rows
from research.estimate.result import TIDY_COLUMNS, Result

Normalize = Literal["pre_mean", "none"]
NORMALIZE = ("pre_mean", "none")
PlaceboPool = Literal["donors", "all"]
PLACEBO_POOLS = ("donors", "all")


@dataclass
class SynthResult(Result):
    """Synthetic-control estimate with donor weights and placebo runs.

    Attributes
    ----------
    weights : donor weights (non-negative, sum to one), indexed by donor.
    paths : DataFrame indexed by time with ``treated``, ``synthetic`` and ``gap``
        (in the outcome's units, or indexed to the pre-mean with ``normalize="pre_mean"``).
    gaps : DataFrame indexed by time, one gap column per unit (treated and placebos).
    placebos : DataFrame, one row per unit (treated first) with ``pre_rmspe``,
        ``post_rmspe``, ``ratio`` (post / pre), ``average_post_gap_pct`` and ``treated``.
    pre_rmspe, post_rmspe : of the treated unit.
    average_post_gap_pct : 100 * sum of post gaps / sum of post synthetic.
    p_value : permutation p-value from the RMSPE ratios.
    """

    weights: pd.Series = field(default_factory=pd.Series)
    paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    gaps: pd.DataFrame = field(default_factory=pd.DataFrame)
    placebos: pd.DataFrame = field(default_factory=pd.DataFrame)
    treated_unit: str = ""
    intervention: pd.Timestamp | None = None
    normalize: str = "pre_mean"
    pre_rmspe: float = np.nan
    post_rmspe: float = np.nan
    average_post_gap_pct: float = np.nan
    p_value: float = np.nan
    outcome: str = ""

    def _ylabel(self) -> str:
        return (f"{self.outcome}, indexed to pre-period mean = 1"
                if self.normalize == "pre_mean" else self.outcome)

    def plot(self, ax=None, title: str | None = None, source: str | None = None):
        """Gap plot: treated minus synthetic (bold), every placebo gap (grey), intervention
        line (:func:`research.plots.synth_gap_plot` keeping all placebos)."""
        from research.plots import synth_gap_plot

        return synth_gap_plot(self, ax=ax, title=title, source=source,
                              max_pre_ratio=math.inf)

    def plot_paths(self, ax=None, title: str | None = None, source: str | None = None):
        """Treated and synthetic outcome paths with the intervention line."""
        import matplotlib.pyplot as plt

        from research.plots import SOURCE_TRADE, add_source

        if ax is None:
            _, ax = plt.subplots(figsize=(9, 4.5))
        fig = ax.figure
        ax.plot(self.paths.index, self.paths["treated"], color="black", lw=1.8,
                label=f"{self.treated_unit} (treated)")
        ax.plot(self.paths.index, self.paths["synthetic"], color="C0", ls="--", lw=1.6,
                label="synthetic " + self.treated_unit)
        ax.axvline(self.intervention, color="C3", lw=1, ls="--", label="intervention")
        ax.set_xlabel("period")
        ax.set_ylabel(self._ylabel())
        top = self.weights[self.weights > 0.01].sort_values(ascending=False)
        weights = ", ".join(f"{u} {w:.2f}" for u, w in top.head(5).items())
        ax.set_title(title or f"{self.treated_unit} and its synthetic control\n"
                     f"weights: {weights}", fontsize=11)
        ax.legend(loc="best", fontsize=8)
        add_source(fig, source or SOURCE_TRADE)
        return fig


def donor_weights(treated_pre: np.ndarray, donors_pre: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to one that minimise the pre-period squared distance.

    Parameters
    ----------
    treated_pre : (T0,) treated outcomes in the pre-period.
    donors_pre : (T0, J) donor outcomes in the pre-period.
    """
    n_donors = donors_pre.shape[1]
    if n_donors == 1:
        return np.ones(1)
    scale = float(np.mean(np.abs(treated_pre))) or 1.0  # unit-free objective for the solver
    y, x = treated_pre / scale, donors_pre / scale

    def loss(w: np.ndarray) -> float:
        r = y - x @ w
        return float(r @ r)

    def grad(w: np.ndarray) -> np.ndarray:
        return -2 * x.T @ (y - x @ w)

    start = np.full(n_donors, 1 / n_donors)
    solution = optimize.minimize(
        loss, start, jac=grad, method="SLSQP", bounds=[(0.0, 1.0)] * n_donors,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1,
                      "jac": lambda w: np.ones_like(w)}],
        options={"ftol": 1e-12, "maxiter": 1000})
    if not solution.success:
        warnings.warn(f"synthetic-control weights: SLSQP did not converge "
                      f"({solution.message})", ResearchWarning, stacklevel=3)
    weights = np.clip(solution.x, 0, None)
    return weights / weights.sum()


def _one_unit(wide: pd.DataFrame, treated: str, donors: Sequence[str],
              pre: np.ndarray) -> dict:
    y1, y0 = wide[treated].to_numpy(), wide[list(donors)].to_numpy()
    weights = donor_weights(y1[pre], y0[pre])
    synthetic = y0 @ weights
    gap = y1 - synthetic
    pre_rmspe = float(np.sqrt(np.mean(gap[pre] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[~pre] ** 2)))
    ratio = post_rmspe / pre_rmspe if pre_rmspe > 0 else np.inf
    post_synthetic = synthetic[~pre].sum()
    pct = 100 * gap[~pre].sum() / post_synthetic if post_synthetic else np.nan
    return {"weights": pd.Series(weights, index=list(donors), name="weight"),
            "synthetic": synthetic, "gap": gap, "pre_rmspe": pre_rmspe,
            "post_rmspe": post_rmspe, "ratio": ratio, "average_post_gap_pct": float(pct)}


def synthetic_control(panel: pd.DataFrame, unit: str, time: str, outcome: str,
                      treated_unit: str, intervention: pd.Timestamp | str | int,
                      donors: Sequence[str] | None = None,
                      normalize: Normalize = "pre_mean",
                      placebo: bool = True,
                      placebo_pool: PlaceboPool = "donors") -> SynthResult:
    """Synthetic control for ``treated_unit`` with placebo-in-space inference.

    Parameters
    ----------
    panel : long table, one row per unit and time.
    unit, time, outcome : column names.
    treated_unit : the unit hit by the measure.
    intervention : first treated period (same type as ``time``).
    donors : units that make up the synthetic control (default: every other unit).
        Donors with a missing outcome in any period are dropped with a warning.
    normalize : ``"pre_mean"`` (divide each unit by its pre-period mean) or ``"none"``.
    placebo : run the placebo-in-space permutation (one synthetic control per donor).
    placebo_pool : donors of each placebo run: ``"donors"`` (the other donors, the treated
        unit left out, as in ADH 2010) or ``"all"`` (every other unit, the treated one
        included). ``"all"`` treats all units symmetrically, so under no effect and
        exchangeable units the p-value is exactly uniform (Firpo and Possebom 2018); with an
        effect the treated unit's path can enter placebo fits, which makes the test
        conservative.

    Returns
    -------
    SynthResult whose tidy table has the term ``average_post_gap_pct`` (estimate in %,
    std_error and interval NaN, p_value from the permutation or NaN without placebos).

    Examples
    --------
    A simulated destination hit in January 2019 (-0.5 log points), against 8 untreated
    donors; with 9 units the smallest permutation p-value is 1/9:

    >>> from research.simulate import simulate_ban_panel
    >>> panel = simulate_ban_panel(n_units=12, n_treated=4, n_periods=24, event_index=12,
    ...                            effect=-0.5, seed=1)
    >>> panel = panel[~panel["unit"].isin(["U001", "U002", "U003"])]
    >>> result = synthetic_control(panel, "unit", "period", "flow", treated_unit="U000",
    ...                            intervention="2019-01-01")
    >>> round(result.headline["estimate"], 1), round(result.headline["p_value"], 3)
    (-37.9, 0.111)
    """
    if normalize not in NORMALIZE:
        raise ParameterError(f"normalize={normalize!r} is not one of {list(NORMALIZE)}")
    if placebo_pool not in PLACEBO_POOLS:
        raise ParameterError(f"placebo_pool={placebo_pool!r} is not one of "
                             f"{list(PLACEBO_POOLS)}")
    require_columns(panel, (unit, time, outcome))
    unique_rows(panel, [unit, time])
    data = panel[[unit, time]].assign(**{outcome: numeric_column(panel, outcome)})
    wide = data.pivot(index=time, columns=unit, values=outcome).sort_index().astype(float)
    if treated_unit not in wide.columns:
        raise ParameterError(f"treated_unit {treated_unit!r} not in column {unit!r}")
    donors = [d for d in (donors if donors is not None else wide.columns)
              if d != treated_unit]
    unknown = [d for d in donors if d not in wide.columns]
    if unknown:
        raise ParameterError(f"donors {unknown} not in column {unit!r}")
    if wide[treated_unit].isna().any():
        raise EstimationError(f"treated unit {treated_unit!r} has missing {outcome!r}; "
                              "synthetic control needs a complete path")
    incomplete = [d for d in donors if wide[d].isna().any()]
    if incomplete:
        warnings.warn(f"donors with missing {outcome!r} dropped: {incomplete}",
                      ResearchWarning, stacklevel=2)
        donors = [d for d in donors if d not in incomplete]
    if len(donors) < 2:
        raise EstimationError(f"{len(donors)} usable donor(s); synthetic control needs at "
                              "least 2")
    wide = wide[[treated_unit, *donors]]
    if isinstance(intervention, str):
        intervention = timestamp(intervention, "intervention")
    try:
        pre = np.asarray(wide.index < intervention)
    except TypeError as error:
        raise PanelError(PANEL, f"periods of type {wide.index.dtype} cannot be compared "
                         f"with intervention={intervention!r}: give dates for date periods, "
                         "numbers for numeric ones", field=time) from error
    if pre.sum() < 2 or (~pre).sum() < 1:
        raise EstimationError(f"{int(pre.sum())} pre and {int((~pre).sum())} post periods "
                              f"around {intervention}; need at least 2 and 1")
    if normalize == "pre_mean":
        means = wide[pre].mean()
        bad = means[means <= 0].index.tolist()
        if bad:
            raise EstimationError(f"units {bad} have a non-positive pre-period mean of "
                                  f"{outcome!r}; use normalize='none'")
        wide = wide / means

    fitted = _one_unit(wide, treated_unit, donors, pre)
    records = [{"unit": treated_unit, "treated": True,
                **{k: fitted[k] for k in ("pre_rmspe", "post_rmspe", "ratio",
                                          "average_post_gap_pct")}}]
    gaps = {treated_unit: fitted["gap"]}
    if placebo:
        for donor in donors:
            others = [d for d in donors if d != donor]
            if placebo_pool == "all":
                others = [treated_unit, *others]
            run = _one_unit(wide, donor, others, pre)
            gaps[donor] = run["gap"]
            records.append({"unit": donor, "treated": False,
                            **{k: run[k] for k in ("pre_rmspe", "post_rmspe", "ratio",
                                                   "average_post_gap_pct")}})
    placebos = pd.DataFrame(records)
    if placebo:
        ratios = placebos["ratio"].to_numpy()
        p_value = float(np.mean(ratios >= ratios[0]))
    else:
        p_value = np.nan
    paths = pd.DataFrame({"treated": wide[treated_unit].to_numpy(),
                          "synthetic": fitted["synthetic"], "gap": fitted["gap"]},
                         index=wide.index)
    estimate = fitted["average_post_gap_pct"]
    table = pd.DataFrame([{"term": "average_post_gap_pct", "estimate": estimate,
                           "std_error": np.nan, "conf_low": np.nan, "conf_high": np.nan,
                           "p_value": p_value, "n_obs": int(wide.size),
                           "method": "synthetic control"}])[TIDY_COLUMNS]
    notes = [f"Weights match the pre-period path of {outcome!r}"
             + (" indexed to each unit's pre-period mean" if normalize == "pre_mean" else "")
             + "; no covariates.",
             f"Permutation p-value from the post/pre RMSPE ratio among {len(placebos)} units "
             f"(smallest possible {1 / len(placebos):.3f}); no standard error or interval.",
             "Donors must be untouched by the measure and by spillovers from it (e.g. trade "
             "diverted from the treated unit), or the gap is biased."]
    if placebo and len(placebos) < 20:
        notes.append(f"Only {len(donors)} donors: the permutation p-value cannot go below "
                     f"{1 / len(placebos):.3f}, so the test has little power.")
    headline = {"term": "average_post_gap_pct",
                "label": f"average post gap of {treated_unit}, % of synthetic",
                "estimate": estimate, "conf_low": np.nan, "conf_high": np.nan,
                "p_value": p_value}
    return SynthResult(method="synthetic control", table=table, headline=headline,
                       notes=notes, weights=fitted["weights"], paths=paths,
                       gaps=pd.DataFrame(gaps, index=wide.index), placebos=placebos,
                       treated_unit=treated_unit, intervention=intervention,
                       normalize=normalize, pre_rmspe=fitted["pre_rmspe"],
                       post_rmspe=fitted["post_rmspe"],
                       average_post_gap_pct=estimate, p_value=p_value, outcome=outcome)
