"""Figures: event-study coefficients, time series, maps, defense panels, scenario fans.

Every figure has labelled axes with units and a source line at the bottom.
Functions return the matplotlib Figure and never call ``plt.show``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

SOURCE_TRADE = "Source: UN Comtrade (China-reported exports), via the bundled starter data."
SOURCE_WITS = "Source: WITS / UN Comtrade, China-reported annual exports."
SOURCE_SIPRI = "Source: SIPRI Military Expenditure Database 2025."

sns.set_theme(style="whitegrid", context="notebook")


def add_source(fig, text: str) -> None:
    """Write a source line in the bottom-left corner of ``fig``.

    A long source is wrapped to the figure's width (about 13 characters per inch at 8
    points), so it never widens a figure saved with a tight bounding box.
    """
    width = max(40, int(fig.get_figwidth() * 13))
    lines = textwrap.wrap(text, width=width) or [""]
    fig.text(0.01, 0.005, "\n".join(lines), ha="left", va="bottom", fontsize=8,
             color="dimgray")
    # room for tick labels and the x label above the source: 0.85 inch (+0.14 inch per
    # extra line) or 16%
    needed = (0.85 + 0.14 * (len(lines) - 1)) / fig.get_figheight()
    fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.16, needed))


def event_study_plot(result, ax=None, title: str | None = None, source: str | None = None):
    """Event-time coefficients as percentage changes with 95% intervals.

    The anticipation window is shaded light orange, the post period light grey,
    and the reference period is marked at zero.
    """
    table = result.event_time
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4.5))
    fig = ax.figure
    unit = "months" if result.freq == "M" else "years"
    low, high = table["event_time"].min(), table["event_time"].max()
    ax.axvspan(-0.5, high + 0.5, color="0.9", zorder=0, label="post period")
    if result.anticipation:
        ax.axvspan(-result.anticipation - 0.5, -0.5, color="#fde0c5", zorder=0,
                   label="anticipation window")
    ax.axhline(0, color="black", lw=0.8)
    ax.errorbar(table["event_time"], table["pct"],
                yerr=[table["pct"] - table["pct_low"], table["pct_high"] - table["pct"]],
                fmt="o", color=sns.color_palette()[0], ecolor="0.5", capsize=2, ms=4,
                label="estimate, 95% CI")
    ax.plot([result.reference], [0], marker="D", color="black", ls="none",
            label=f"reference ({result.reference})")
    ax.set_xlim(low - 1, high + 1)
    ax.set_xlabel(f"event time ({unit} since the measure took effect)")
    ax.set_ylabel("treated vs controls, % change")
    post = result.post_effect
    ax.set_title(title or f"{result.method}\naverage post effect {post['pct']:.1f}% "
                 f"[{post['pct_low']:.1f}, {post['pct_high']:.1f}]", fontsize=11)
    ax.legend(loc="best", fontsize=8)
    add_source(fig, source or SOURCE_TRADE)
    return fig


def time_series_plot(frame: pd.DataFrame, *, x: str = "period", y: str = "value_usd",
                     hue: str | None = "partner_iso3", events: Iterable[tuple] = (),
                     post_start: pd.Timestamp | None = None, ylabel: str = "USD",
                     title: str = "", source: str = SOURCE_TRADE, scale: float = 1.0,
                     ax=None):
    """Lines over time with vertical event markers and the post period shaded.

    Parameters
    ----------
    frame : tidy table.
    events : (date, label) pairs drawn as dashed vertical lines.
    post_start : shade from this date to the end.
    scale : divide ``y`` by this (say so in ``ylabel``).
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4.5))
    fig = ax.figure
    data = frame.assign(**{y: frame[y] / scale})
    sns.lineplot(data=data, x=x, y=y, hue=hue, ax=ax, lw=1.3)
    if post_start is not None:
        ax.axvspan(post_start, data[x].max(), color="0.9", zorder=0)
    ymax = ax.get_ylim()[1]
    for date, label in events:
        ax.axvline(pd.Timestamp(date), color="firebrick", ls="--", lw=1)
        ax.text(pd.Timestamp(date), ymax, f" {label}", color="firebrick", fontsize=8,
                va="top", rotation=90)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    if hue:
        ax.legend(fontsize=8, ncol=2, loc="upper left")
    add_source(fig, source)
    return fig


def choropleth(values: pd.DataFrame, *, value: str, boundaries=None, title: str = "",
               legend_label: str = "", source: str = SOURCE_TRADE, cmap: str = "viridis",
               ax=None):
    """A world map of ``values`` keyed by ``iso3`` (countries without data in grey)."""
    if boundaries is None:
        from research import datasets

        boundaries = datasets.load("world_boundaries")
    merged = boundaries.merge(values[["iso3", value]], on="iso3", how="left")
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 5.5))
    fig = ax.figure
    merged.plot(ax=ax, color="0.88", edgecolor="white", linewidth=0.3)
    merged.dropna(subset=[value]).plot(column=value, ax=ax, cmap=cmap, legend=True,
                                       edgecolor="white", linewidth=0.3,
                                       legend_kwds={"label": legend_label, "shrink": 0.6})
    ax.set_axis_off()
    ax.set_title(title, fontsize=11)
    add_source(fig, source + " Boundaries: Natural Earth 1:110m (public domain).")
    return fig


def defense_panels(milex: pd.DataFrame, countries: list[str], title: str = "",
                   source: str = SOURCE_SIPRI):
    """Two panels: spending in constant USD (bn) and share of GDP (%), by country."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    chosen = milex[milex["iso3"].isin(countries)]
    real = chosen[chosen["measure"] == "constant_usd"]
    share = chosen[chosen["measure"] == "share_of_gdp"]
    unit = real["unit"].iloc[0] if len(real) else "US$ m, constant prices"
    sns.lineplot(data=real.assign(value=real["value"] / 1000), x="year", y="value",
                 hue="country", ax=axes[0])
    axes[0].set_ylabel(unit.replace("US$ m", "US$ bn"))
    axes[0].set_title("Military expenditure, real terms")
    sns.lineplot(data=share.assign(value=share["value"] * 100), x="year", y="value",
                 hue="country", ax=axes[1], legend=False)
    axes[1].axhline(2.0, color="firebrick", ls="--", lw=1)
    axes[1].text(share["year"].min() if len(share) else 1990, 2.02, "2% of GDP",
                 color="firebrick", fontsize=8, va="bottom")
    axes[1].set_ylabel("% of GDP")
    axes[1].set_title("Military burden")
    for ax in axes:
        ax.set_xlabel("year")
    axes[0].legend(fontsize=8, ncol=2)
    if title:
        fig.suptitle(title)
    add_source(fig, source)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def bar_plot(frame: pd.DataFrame, *, x: str, y: str, title: str = "", xlabel: str = "",
             source: str = SOURCE_TRADE, ax=None):
    """Horizontal bars of ``x`` by category ``y``, largest first."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 0.35 * len(frame) + 1.5))
    fig = ax.figure
    ordered = frame.sort_values(x, ascending=False)
    sns.barplot(data=ordered, x=x, y=y, ax=ax, color=sns.color_palette()[0])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    ax.set_title(title, fontsize=11)
    add_source(fig, source)
    return fig


def close(fig) -> None:
    """Close a figure after it has been shown or saved."""
    plt.close(fig)


__all__ = ["event_study_plot", "time_series_plot", "choropleth", "defense_panels", "bar_plot",
           "budget_path_plot", "scenario_fan_plot", "scenario_profile_plot",
           "effect_comparison_plot", "its_plot", "synth_gap_plot", "add_source", "close"]


def budget_path_plot(path: pd.DataFrame, title: str = "", source: str = ""):
    """Japan's defense budget (trillion yen) by fiscal year against 2% of GDP."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    years = path["fiscal_year"].astype(str)
    ax.bar(years, path["budget_jpy"] / 1e12, color=sns.color_palette()[0],
           label="MoD initial budget")
    ax.plot(years, path["target_pct"] / 100 * path["gdp_jpy"] / 1e12, color="firebrick",
            marker="o", ls="--", label="2% of GDP")
    for x, (budget, share) in enumerate(zip(path["budget_jpy"], path["share_of_gdp_pct"],
                                            strict=True)):
        ax.text(x, budget / 1e12, f"{share:.2f}%", ha="center", va="bottom", fontsize=9)
    ax.set_xlabel("fiscal year (April to March)")
    ax.set_ylabel("trillion yen, current prices")
    ax.set_title(title or "Japan's defense budget against 2% of GDP", fontsize=11)
    ax.legend(fontsize=8, loc="lower right")
    add_source(fig, source or "Sources: Japan MoD initial budgets (press reports); GDP "
               "implied by SIPRI (2025) and the Federal Reserve yen rate.")
    return fig


def _money_scale(unit: str) -> tuple[float, str]:
    """Divide USD series by a million for readable axes; other units unchanged."""
    return (1e6, "USD million") if unit == "USD" else (1.0, unit)


def scenario_fan_plot(result, ax=None, title: str | None = None, source: str | None = None,
                      history: int = 36, caption: str | None = None):
    """SCENARIO fan chart: observed history, projection band and scenario band.

    ``result`` is a :class:`research.estimate.scenario.ScenarioResult`. The months
    between the data's end and the ban (projection only) are shaded; the ban's month is
    marked; every label says scenario. When the borrowed episode is not identified the
    path is drawn dashed without a band (``result.path == "descriptive"``) or not at all
    (``"none"``), and the title says so. ``caption`` is printed above the source line.
    """
    table = result.table
    scale, unit = _money_scale(result.unit)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 5))
    fig = ax.figure
    shown = result.series.dropna()
    shown = shown[shown.index > result.last_observed - pd.DateOffset(months=history)]
    ax.plot(shown.index, shown.to_numpy() / scale, color="black", lw=1.4,
            label="observed (bundled data)")
    if table["actual"].notna().any():
        ax.plot(table["period"], table["actual"] / scale, color="black", lw=1.4, ls=":",
                label="observed after the data used")
    level = f"{100 * result.level:.0f}%"
    ax.fill_between(table["period"], table["counterfactual_low"] / scale,
                    table["counterfactual_high"] / scale, color="C0", alpha=0.15,
                    label=f"projection, {level} band")
    ax.plot(table["period"], table["counterfactual"] / scale, color="C0", ls="--", lw=1.4,
            label="projection without the ban (counterfactual)")
    post = table[table["event_time"] >= 0]
    episode = result.episode or (result.profile.episode if result.profile else "episode")
    if result.path == "scenario":
        ax.fill_between(post["period"], post["scenario_low"] / scale,
                        post["scenario_high"] / scale, color="C3", alpha=0.2,
                        label=f"SCENARIO, {level} band")
        ax.plot(post["period"], post["scenario"] / scale, color="C3", lw=2,
                label=f"SCENARIO: {episode} profile applied")
    elif result.path == "descriptive":
        ax.plot(post["period"], post["scenario"] / scale, color="C3", lw=1.4, ls=":",
                label=f"SCENARIO path, descriptive only ({episode} not identified)")
    gap_start = result.last_observed + pd.DateOffset(months=1)
    if gap_start < result.ban:
        ax.axvspan(gap_start, result.ban, color="0.93", zorder=0,
                   label="no data yet (projection only)")
    ax.axvline(result.ban, color="C3", lw=1, ls="--")
    ymax = ax.get_ylim()[1]
    ax.text(result.ban, ymax, f" ban {result.ban:%Y-%m}", color="C3", fontsize=8,
            va="top")
    ax.set_ylim(0, 1.4 * ymax)  # room for the legend above the data
    ax.set_xlabel("month")
    ax.set_ylabel(f"{unit} per month")
    t = result.totals
    if result.path == "scenario":
        summary = (f"{result.horizon} months under the {episode} profile "
                   f"({result.verdict or 'no verdict'}): {t['scenario_gap_pct']:+.0f}% against "
                   f"the projection [{t['scenario_gap_pct_low']:+.0f}, "
                   f"{t['scenario_gap_pct_high']:+.0f}] ({level} band)")
    elif result.path == "descriptive":
        summary = f"{episode} is not identified: descriptive path only, no number"
    else:
        summary = f"{episode} is not identified: no profile to borrow, projection only"
    ax.set_title(title or f"SCENARIO, not an estimate: {result.target}\n{summary}",
                 fontsize=11)
    ax.legend(loc="upper left", fontsize=7.5, ncol=3)
    if source is None:
        source = f"{SOURCE_TRADE} Data end {result.last_observed:%Y-%m}; " + (
            f"scenario profile: {result.profile.description}." if result.profile is not None
            else f"no profile borrowed ({episode} not identified).")
    add_source(fig, f"{caption} {source}" if caption else source)
    return fig


def effect_comparison_plot(frame: pd.DataFrame, *, label: str = "label",
                           estimate: str = "estimate", conf_low: str = "conf_low",
                           conf_high: str = "conf_high", xlabel: str = "",
                           title: str = "", source: str = SOURCE_TRADE,
                           reference: float | None = 0.0, ax=None):
    """One row per estimate (method, specification or source) with its interval.

    Rows without an interval (NaN bounds) are drawn as points only.
    """
    rows = frame.reset_index(drop=True)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.8))
    fig = ax.figure
    y = range(len(rows))[::-1]
    for position, (_, row) in zip(y, rows.iterrows(), strict=True):
        if pd.isna(row[estimate]):
            ax.annotate("not available", (reference or 0.0, position), ha="center",
                        va="center", fontsize=8, color="0.4")
            continue
        low, high = row[conf_low], row[conf_high]
        if pd.notna(low) and pd.notna(high):
            ax.plot([low, high], [position, position], color="0.45", lw=2)
        ax.plot(row[estimate], position, "o", color=sns.color_palette()[0], ms=7)
        ax.annotate(f"{row[estimate]:,.3g}", (row[estimate], position),
                    textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    if reference is not None:
        ax.axvline(reference, color="black", lw=0.8)
    ax.set_yticks(list(y), rows[label].tolist())
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    ax.set_title(title, fontsize=11)
    add_source(fig, source)
    return fig


def _month_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def its_plot(result, ax=None, title: str | None = None, source: str | None = None,
             history: int | None = 48):
    """Interrupted time series: the flow, its pre-period forecast (counterfactual) with
    the forecast band, the post period shaded; USD shown in millions.

    ``result`` is a :class:`research.estimate.its.ITSResult`; ``history`` months before
    the intervention are shown (``None`` for all).
    """
    scale, unit = _money_scale(result.unit)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4.5))
    fig = ax.figure
    series = result.series.dropna()
    if history is not None:
        series = series[series.index >= result.intervention - pd.DateOffset(months=history)]
    cf = result.counterfactual
    ax.axvspan(result.intervention, cf.index.max(), color="0.93", zorder=0,
               label="post period")
    ax.plot(series.index, series.to_numpy() / scale, color="black", lw=1.4, label="actual")
    ax.fill_between(cf.index, cf["conf_low"] / scale, cf["conf_high"] / scale, color="C0",
                    alpha=0.2, label=f"{100 * result.level:.0f}% forecast band")
    ax.plot(cf.index, cf["counterfactual"] / scale, color="C0", ls="--", lw=1.6,
            label="counterfactual: pre-period forecast")
    ax.axvline(result.intervention, color="C3", lw=1, ls="--",
               label=f"measure takes effect ({result.intervention:%Y-%m})")
    _month_axis(ax)
    ax.set_xlabel("month")
    ax.set_ylabel(f"{series.name or 'flow'}, {unit} per month")
    s = result.shortfall
    ax.set_title(title or f"Interrupted time series: {series.name}\npost-period shortfall "
                 f"{s['pct']:+.1f}% of the counterfactual over {s['months']} months "
                 f"({s['estimate'] / scale:,.0f} {unit}; p = {s['p_value']:.2f})", fontsize=11)
    ax.legend(loc="upper left", fontsize=8)
    add_source(fig, source or SOURCE_TRADE)
    return fig


def synth_gap_plot(result, ax=None, title: str | None = None, source: str | None = None,
                   max_pre_ratio: float = 5.0):
    """Synthetic-control gaps: treated (bold) and placebo gaps (grey), as in Abadie,
    Diamond and Hainmueller (2010, figs. 5-7) leaving out placebos whose pre-period fit
    is poor (pre-RMSPE above ``max_pre_ratio`` times the treated unit's), whose gaps say
    nothing about the measure. ``result`` is a :class:`research.estimate.synth.SynthResult`.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4.5))
    fig = ax.figure
    placebos = result.placebos[~result.placebos["treated"]]
    kept = placebos[placebos["pre_rmspe"] <= max_pre_ratio * result.pre_rmspe]["unit"]
    for unit in kept:
        ax.plot(result.gaps.index, result.gaps[unit], color="0.7", lw=0.8)
    label = (f"placebos, each donor as treated ({len(placebos)})"
             if math.isinf(max_pre_ratio) else
             f"placebos, pre-RMSPE <= {max_pre_ratio:g}x treated ({len(kept)} of "
             f"{len(placebos)})")
    ax.plot([], [], color="0.7", lw=0.8, label=label)
    ax.plot(result.gaps.index, result.gaps[result.treated_unit], color="black", lw=2,
            label=f"{result.treated_unit}")
    ax.axhline(0, color="black", lw=0.6)
    when = (f"{pd.Timestamp(result.intervention):%Y-%m}"
            if isinstance(result.gaps.index, pd.DatetimeIndex) else str(result.intervention))
    ax.axvline(result.intervention, color="C3", lw=1, ls="--",
               label=f"measure takes effect ({when})")
    if isinstance(result.gaps.index, pd.DatetimeIndex):
        _month_axis(ax)
        ax.set_xlabel("month")
    else:
        ax.set_xlabel("period")
    scale = ("indexed to the pre-period mean = 1" if result.normalize == "pre_mean"
             else "outcome units")
    ax.set_ylabel(f"gap, treated - synthetic\n({result.outcome}, {scale})")
    ax.set_title(title or f"Synthetic control: {result.treated_unit}\naverage post gap "
                 f"{result.average_post_gap_pct:+.1f}% of the synthetic; permutation p = "
                 f"{result.p_value:.2f} (all {len(result.placebos)} units)", fontsize=11)
    ax.legend(loc="best", fontsize=8)
    add_source(fig, source or SOURCE_TRADE)
    return fig


def scenario_profile_plot(result, ax=None, title: str | None = None,
                          source: str | None = None):
    """The SCENARIO's input: the past episode's profile by scenario month, % change with
    its band (the episode's estimation uncertainty only; no band for a descriptive
    profile, and a note instead of a line when there is no profile to borrow)."""
    post = result.table[result.table["event_time"] >= 0]
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 4.5))
    fig = ax.figure
    level = f"{100 * result.level:.0f}%"
    episode = result.episode or (result.profile.episode if result.profile else "episode")
    ax.axhline(0, color="black", lw=0.8)
    if result.profile is None:
        ax.text(0.5, 0.5, f"{episode} is not identified: no event-time profile to borrow",
                ha="center", va="center", transform=ax.transAxes, fontsize=10)
        description = "no profile"
    else:
        if result.path == "scenario":
            ax.fill_between(post["event_time"], post["profile_pct_low"],
                            post["profile_pct_high"], color="C3", alpha=0.2, step="mid",
                            label=f"{level} band of the profile")
        ax.step(post["event_time"], post["profile_pct"], where="mid", color="C3", lw=2,
                ls="-" if result.path == "scenario" else ":",
                label=f"{episode} profile (SCENARIO input"
                      + (", descriptive only: not identified)" if result.path != "scenario"
                         else ")"))
        ax.legend(loc="best", fontsize=8)
        description = result.profile.description
    ax.set_xlabel(f"scenario month (0 = {result.ban:%Y-%m}, the ban's month)")
    ax.set_ylabel("change against the projection, %")
    ax.set_title(title or f"SCENARIO input: how flows moved after {episode} "
                 f"({result.verdict or 'no verdict'})\n{description}", fontsize=10)
    freq = result.profile.freq if result.profile is not None else "M"
    add_source(fig, source or (SOURCE_WITS if freq == "A" else SOURCE_TRADE))
    return fig
