"""Figures: event-study coefficients, time series with events, maps, defense panels.

Every figure has labelled axes with units and a source line at the bottom.
Functions return the matplotlib Figure and never call ``plt.show``.
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

SOURCE_TRADE = "Source: UN Comtrade (China-reported exports), via the bundled starter data."
SOURCE_WITS = "Source: WITS / UN Comtrade, China-reported annual exports."
SOURCE_SIPRI = "Source: SIPRI Military Expenditure Database 2025."

sns.set_theme(style="whitegrid", context="notebook")


def add_source(fig, text: str) -> None:
    """Write a source line in the bottom-left corner of ``fig``."""
    fig.text(0.01, 0.005, text, ha="left", va="bottom", fontsize=8, color="dimgray")
    fig.subplots_adjust(bottom=max(fig.subplotpars.bottom, 0.16))


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
           "add_source", "close"]


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
