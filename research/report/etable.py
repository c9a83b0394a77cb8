"""Regression tables in Markdown, LaTeX (booktabs) and HTML, as ``pyfixest.etable`` and R's
``modelsummary`` make them.

One column per result; rows are the coefficients with standard errors in parentheses (or
confidence intervals in brackets) under each estimate, then a panel of model statistics:
observations, one row per fixed effect (``Yes`` / ``No``), the cluster variable and the
number of clusters, McFadden's pseudo R-squared where it is defined, and the rows dropped
as separated or singletons (PPML). A note under the table says whether the figures are
log points or percent, what the second line of each cell is and, when stars are shown,
what they mean. Stars are off by default, as many journals now ask.

Each kind of result gets the table of what it estimates:

- **regressions** (any :class:`~research.estimate.result.Result`; PPML adds its fixed
  effects, clusters, pseudo R-squared and dropped rows): the coefficients of ``tidy()``.
- **ban studies** (:class:`~research.estimate.ban_study.BanStudyResult`): anticipation,
  impact, persistence and cumulative, one column per fitted outcome (value, quantity,
  unit value), with observations, fixed effects, clusters and the verdict.
- **interrupted time series** (:class:`~research.estimate.its.ITSResult`): the intervention
  terms, then the post-period shortfall in the series' units and in percent of the
  counterfactual, its p-value, the actual and counterfactual totals.
- **synthetic control** (:class:`~research.estimate.synth.SynthResult`): the average
  post-period gap in percent, the permutation p-value, the RMSPEs and the donor weights.

Results are recognised by their attributes, so this module imports no estimator.

Transforming to percent assumes log-point coefficients (PPML, log-linear models): the
estimate becomes ``100 * (exp(b) - 1)``, an interval ``100 * (exp(bound) - 1)`` (exact,
as a transformation of the bounds) and a standard error ``100 * exp(b) * se`` (delta
method).

Examples
--------
>>> import pandas as pd
>>> from research.estimate.result import Result, tidy_row
>>> row = tidy_row("post", -0.25, 0.1, n_obs=48, method="difference in means")
>>> result = Result(method="difference in means", table=pd.DataFrame([row]))
>>> print(etable([result]))
|  | (1) |
|---|---|
| post | -0.250 |
|  | (0.100) |
| Observations | 48 |
<BLANKLINE>
Figures are log points (100 x (exp(b) - 1) is the percent change). Standard errors in parentheses.
>>> print(etable(result, type="tex", stats="ci", notes=False))
\\begin{tabular}{lc}
\\toprule
 & (1) \\\\
\\midrule
post & $-$0.250 \\\\
 & [$-$0.446, $-$0.054] \\\\
\\midrule
Observations & 48 \\\\
\\bottomrule
\\end{tabular}
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats as distributions

from research.errors import ParameterError

TableType = Literal["md", "tex", "html", "df"]
TYPES = ("md", "tex", "html", "df")
Stats = Literal["se", "ci"]
STATS = ("se", "ci")
Scale = Literal["log points", "percent"]
SCALES = ("log points", "percent")
STAR_LEVELS = ((0.01, "***"), (0.05, "**"), (0.1, "*"))
"""Significance levels and their stars, smallest first (two-sided p-values)."""

BAN_TERMS = ("anticipation", "impact", "persistence", "cumulative")
OUTCOME_LABELS = {"value_usd": "value (USD)", "quantity": "quantity (kg)",
                  "unit_value": "unit value (USD/kg)"}
BAN_FE_LABELS = {"partner_iso3": "destination", "period": "month", "series": "series",
                 "cal": "calendar month"}
"""Names of the ban-study panel's columns in the fixed-effect rows (its periods are
months)."""
BAN_VARIANCE = {"cluster": "cluster-robust (CV1)", "jackknife": "cluster jackknife (CV3)",
                "jackknife1": "cluster jackknife (CV3, one step)"}
ITS_TERMS = {"step": "Step (level shift)", "pulse": "Pulse (first month)",
             "ramp": "Ramp (per month since)"}


def _check(name: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not one of {list(allowed)}")


# --- the table, before it is written in any format ------------------------------------

@dataclass(frozen=True)
class _Row:
    """One line of the table: a label and one cell per column.

    ``stars`` holds a significance marker per cell (estimate lines only); ``tex_label``
    replaces the escaped label in LaTeX (built-in labels with math, such as R-squared).
    """

    label: str
    cells: tuple[str, ...]
    stars: tuple[str, ...] = ()
    tex_label: str | None = None


@dataclass(frozen=True)
class _Table:
    names: tuple[str, ...]
    panels: tuple[tuple[_Row, ...], ...]
    notes: tuple[str, ...]


def _number(value: Any, digits: int) -> str:
    """``value`` with ``digits`` decimals, or none and thousands separators from 1,000 on;
    empty when missing."""
    if value is None:
        return ""
    value = float(value)
    if not np.isfinite(value):
        return ""
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.{digits}f}"
    return text[1:] if re.fullmatch(r"-[0.,]+", text) else text  # no "-0.000"


def _p_value(value: Any, digits: int) -> str:
    """A p-value with ``digits`` decimals, ``< 0.001`` (at 3 digits) below what they show."""
    text = _number(value, digits)
    if text and float(value) < 10 ** -digits:
        return f"< {10 ** -digits:.{digits}f}"
    return text


def _count(value: Any) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return f"{int(value):,}"


def _stars(p_value: Any) -> str:
    if p_value is None or not np.isfinite(float(p_value)):
        return ""
    return next((mark for level, mark in STAR_LEVELS if float(p_value) < level), "")


def _to_percent(estimate: float, std_error: float, low: float, high: float
                ) -> tuple[float, float, float, float]:
    """Log points to percent: exact for the estimate and bounds, delta method for the SE."""
    return (100 * np.expm1(estimate), 100 * np.exp(estimate) * std_error,
            100 * np.expm1(low), 100 * np.expm1(high))


def _coefficient_rows(label: str, cells: list[tuple[float, float, float, float, float] | None],
                      *, stats: str, stars: bool, digits: int, scale: str) -> list[_Row]:
    """The estimate line and its standard-error (or interval) line; ``cells`` holds
    ``(estimate, std_error, conf_low, conf_high, p_value)`` in log points, or ``None``."""
    first, second, marks = [], [], []
    for cell in cells:
        if cell is None or not np.isfinite(cell[0]):
            first.append("")
            second.append("")
            marks.append("")
            continue
        estimate, std_error, low, high, p_value = cell
        if scale == "percent":
            estimate, std_error, low, high = _to_percent(estimate, std_error, low, high)
        first.append(_number(estimate, digits))
        marks.append(_stars(p_value) if stars else "")
        if stats == "se":
            second.append(f"({_number(std_error, digits)})" if np.isfinite(std_error) else "")
        else:
            second.append(f"[{_number(low, digits)}, {_number(high, digits)}]"
                          if np.isfinite(low) and np.isfinite(high) else "")
    return [_Row(label, tuple(first), tuple(marks)), _Row("", tuple(second))]


def _scale_note(scale: str, what: str = "Figures") -> str:
    if scale == "percent":
        return (f"{what} are percent changes, 100 x (exp(b) - 1) of the log-point "
                "estimate b.")
    return f"{what} are log points (100 x (exp(b) - 1) is the percent change)."


def _second_line_note(stats: str, scale: str, level: str = "") -> str:
    if stats == "ci":
        return f"{level}Confidence intervals in brackets.".strip()
    text = "Standard errors in parentheses"
    return text + (" (of the percentages by the delta method)." if scale == "percent"
                   else ".")


def _star_note() -> str:
    return ", ".join(f"{mark} p < {level:g}" for level, mark in reversed(STAR_LEVELS)) + "."


def _level_text(ratios: list[float]) -> str:
    """The confidence level of normal-approximation intervals, from (high - b) / se."""
    ratios = [r for r in ratios if np.isfinite(r) and r > 0]
    if not ratios:
        return ""
    levels = {round(100 * (2 * distributions.norm.cdf(r) - 1), 1) for r in ratios}
    return f"{levels.pop():g}% " if len(levels) == 1 else ""


def _fe_label(term: str, names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    return " x ".join(names.get(part.strip(), part.strip()) for part in term.split("^"))


# --- what each kind of result puts in the table ---------------------------------------

def _kind(result: Any) -> str:
    if hasattr(result, "fits") and hasattr(result, "design"):
        return "ban study"
    if hasattr(result, "shortfall") and hasattr(result, "counterfactual"):
        return "interrupted time series"
    if hasattr(result, "weights") and hasattr(result, "placebos"):
        return "synthetic control"
    if hasattr(result, "tidy"):
        return "regression"
    raise ParameterError(f"cannot make a table of {type(result).__name__}: expected an "
                         "estimator Result (with .tidy()), a ban study, an interrupted "
                         "time series or a synthetic control")


def _regression_table(results: list, names: list[str], *, stats: str, stars: bool,
                      digits: int, scale: str, labels: Mapping[str, str]) -> _Table:
    tidies = [r.tidy() for r in results]
    terms = list(dict.fromkeys(t for tidy in tidies for t in tidy["term"]))
    coefficient_rows: list[_Row] = []
    ratios: list[float] = []
    for term in terms:
        cells = []
        for tidy in tidies:
            found = tidy[tidy["term"] == term]
            if not len(found):
                cells.append(None)
                continue
            row = found.iloc[0]
            cell = tuple(float(row[c]) for c in ("estimate", "std_error", "conf_low",
                                                  "conf_high", "p_value"))
            cells.append(cell)
            if cell[1] > 0:
                ratios.append((cell[3] - cell[0]) / cell[1])
        coefficient_rows += _coefficient_rows(labels.get(term, term), cells, stats=stats,
                                              stars=stars, digits=digits, scale=scale)
    statistics = [_Row("Observations", tuple(
        _count(getattr(r, "n_obs", None) or (t["n_obs"].max() if len(t) else None))
        for r, t in zip(results, tidies, strict=True)))]
    if any(hasattr(r, "fixed_effects") for r in results):
        terms_fe = list(dict.fromkeys(fe for r in results
                                      for fe in getattr(r, "fixed_effects", ()) or ()))
        for fe in terms_fe:
            statistics.append(_Row(_fe_label(fe, labels), tuple(
                ("Yes" if fe in (r.fixed_effects or ()) else "No")
                if hasattr(r, "fixed_effects") else "" for r in results)))
    if any(hasattr(r, "cluster") for r in results):
        statistics.append(_Row("Cluster variable", tuple(
            (_fe_label(r.cluster, labels) if r.cluster else "none (robust)")
            if hasattr(r, "cluster") else "" for r in results)))
        statistics.append(_Row("Clusters", tuple(
            _count(r.n_clusters) if getattr(r, "cluster", None) else "" for r in results)))
    if any(np.isfinite(getattr(r, "pseudo_r2", np.nan)) for r in results):
        statistics.append(_Row("Pseudo R²", tuple(
            _number(getattr(r, "pseudo_r2", np.nan), digits) for r in results),
            tex_label="Pseudo $R^2$"))
    for attribute, label in (("n_separated", "Separated observations"),
                             ("n_singletons", "Singleton observations")):
        if any(hasattr(r, attribute) for r in results):
            statistics.append(_Row(label, tuple(_count(getattr(r, attribute, None))
                                                for r in results)))
    notes = [_scale_note(scale), _second_line_note(stats, scale, _level_text(ratios))]
    if stars:
        notes.append(_star_note())
    return _Table(tuple(names), (tuple(coefficient_rows), tuple(statistics)), tuple(notes))


def _ban_term_label(term: str, periods: Sequence[int]) -> str:
    if term == "anticipation":
        return f"Anticipation, {len(periods)} month(s) before effect"
    if term == "cumulative":
        return f"Cumulative, anticipation + months 1-{max(periods) + 1}"
    return f"{term.capitalize()}, months {min(periods) + 1}-{max(periods) + 1}"


def _ban_table(results: list, *, stats: str, stars: bool, digits: int, scale: str,
               labels: Mapping[str, str], names: list[str] | None) -> _Table:
    columns = []  # (study, outcome or None)
    for study in results:
        outcomes = list(study.fits) or [None]
        columns += [(study, outcome) for outcome in outcomes]
    if names is None:
        several = len(results) > 1
        names = []
        for study, outcome in columns:
            prefix = f"{study.design.event_id} {study.design.basket}"
            if outcome is None:
                names.append(prefix)
            else:
                label = labels.get(outcome, OUTCOME_LABELS.get(outcome, outcome))
                names.append(f"{prefix}: {label}" if several else label)
    elif len(names) != len(columns):
        raise ParameterError(f"model_names has {len(names)} names for {len(columns)} "
                             "columns (one per study and fitted outcome)")
    effects = [{e.term: e for e in study.fits[outcome].profile} if outcome else {}
               for study, outcome in columns]
    coefficient_rows: list[_Row] = []
    for term in BAN_TERMS:
        found = [e[term] for e in effects if term in e]
        if not found:
            continue
        cells = []
        for e in effects:
            effect = e.get(term)
            cells.append(None if effect is None else (
                effect.estimate, effect.std_error, float(np.log1p(effect.pct_low / 100)),
                float(np.log1p(effect.pct_high / 100)), effect.p_value))
        label = labels.get(term, _ban_term_label(term, found[0].periods))
        coefficient_rows += _coefficient_rows(label, cells, stats=stats, stars=stars,
                                              digits=digits, scale=scale)
    fits = [study.fits[outcome] if outcome else None for study, outcome in columns]
    statistics = [_Row("Observations", tuple(_count(f.n_obs) if f else "" for f in fits))]
    fe_terms = list(dict.fromkeys(
        t.strip() for study, _ in columns
        for t in (study.design.fixed_effects.split("+") if study.design.kind != "annual"
                  else ())))
    fe_names = {**BAN_FE_LABELS, **labels}
    for fe in fe_terms:
        statistics.append(_Row(_fe_label(fe, fe_names), tuple(
            ("Yes" if fe in [t.strip() for t in study.design.fixed_effects.split("+")]
             else "No") if fit else "" for (study, _), fit in zip(columns, fits,
                                                                  strict=True))))
    statistics.append(_Row("Cluster variable", tuple(
        ("" if not fit else "destination" if fit.n_clusters
         else "none (randomization inference)") for fit in fits)))
    statistics.append(_Row("Clusters", tuple(
        _count(fit.n_clusters) if fit and fit.n_clusters else "" for fit in fits)))
    if any(getattr(fit, "variance", None) for fit in fits):
        statistics.append(_Row("Standard errors", tuple(
            BAN_VARIANCE.get(getattr(fit, "variance", None) or "",
                             getattr(fit, "variance", None) or "") for fit in fits)))
    statistics.append(_Row("Verdict", tuple(study.verdict for study, _ in columns)))
    notes = [_scale_note(scale, "Figures (means of event-time coefficients)"),
             _second_line_note(stats, scale)]
    if stats == "ci":
        notes[-1] = ("Confidence intervals in brackets, with t(G - 1) critical values "
                     "(G clusters).")
    notes.append("Event time: month 1 is the month the measure took effect; the "
                 "reference is the pre-period before the anticipation window.")
    if stars:
        notes.append(_star_note() + " Tests with t(G - 1) critical values.")
    for study in results:
        estimand = study.design.notes[0] if study.design.notes else ""
        if estimand:
            notes.append(f"{study.design.event_id} {study.design.basket}: {estimand}")
        if study.headline.verdict_reasons:
            notes.append(f"Verdict ({study.verdict}): {study.headline.verdict_reasons[0]}.")
    return _Table(tuple(names), (tuple(coefficient_rows), tuple(statistics)), tuple(notes))


def _its_table(results: list, names: list[str], *, stats: str, stars: bool, digits: int,
               scale: str, labels: Mapping[str, str]) -> _Table:
    tidies = [r.tidy() for r in results]
    terms = [t for t in ITS_TERMS if any((tidy["term"] == t).any() for tidy in tidies)]
    coefficient_rows: list[_Row] = []
    for term in terms:
        cells = []
        for r, tidy in zip(results, tidies, strict=True):
            found = tidy[tidy["term"] == term]
            cells.append(None if not len(found) else tuple(
                float(found.iloc[0][c]) for c in ("estimate", "std_error", "conf_low",
                                                  "conf_high", "p_value")))
            if not r.log and cells[-1] is not None and scale == "percent":
                raise ParameterError("scale='percent' needs intervention terms in log "
                                     "points (interrupted_time_series(..., log=True))")
        coefficient_rows += _coefficient_rows(labels.get(term, ITS_TERMS[term]), cells,
                                              stats=stats, stars=stars, digits=digits,
                                              scale=scale)
    shortfall = [r.shortfall for r in results]

    def interval(s: dict, low: str, high: str) -> str:
        return f"[{_number(s.get(low), digits)}, {_number(s.get(high), digits)}]"

    estimates = [
        _Row("Shortfall (actual - counterfactual)", tuple(
            f"{_number(s.get('estimate'), digits)} {r.unit}".strip()
            for r, s in zip(results, shortfall, strict=True))),
        _Row("", tuple(interval(s, "conf_low", "conf_high") for s in shortfall)),
        _Row("Shortfall, % of counterfactual", tuple(_number(s.get("pct"), 1)
                                                     for s in shortfall)),
        _Row("", tuple(f"[{_number(s.get('pct_low'), 1)}, {_number(s.get('pct_high'), 1)}]"
                       for s in shortfall)),
        _Row("p-value (shortfall)", tuple(_p_value(s.get("p_value"), digits)
                                          for s in shortfall)),
        _Row("Actual total", tuple(_number(s.get("actual_total"), digits)
                                   for s in shortfall)),
        _Row("Counterfactual total", tuple(_number(s.get("counterfactual_total"), digits)
                                           for s in shortfall)),
    ]
    statistics = [
        _Row("Intervention", tuple(f"{r.intervention:%Y-%m}" if r.intervention is not None
                                   else "" for r in results)),
        _Row("Post-period months", tuple(_count(s.get("months")) for s in shortfall)),
        _Row("Observations", tuple(_count(r.series.notna().sum()) for r in results)),
        _Row("Model", tuple(r.method for r in results)),
    ]
    notes = []
    if terms:
        notes.append(_scale_note(scale, "Intervention terms") + " "
                     + _second_line_note(stats, scale))
    notes.append("Shortfall: actual minus counterfactual summed over the post-period "
                 "months, in the series' units; the counterfactual is a forecast from the "
                 "pre-period. Intervals in brackets add pointwise forecast quantiles "
                 "(conservative) and leave out parameter uncertainty.")
    if stars:
        notes.append(_star_note())
    panels = [tuple(coefficient_rows)] if coefficient_rows else []
    return _Table(tuple(names), (*panels, tuple(estimates), tuple(statistics)), tuple(notes))


def _synth_table(results: list, names: list[str], *, digits: int,
                 labels: Mapping[str, str]) -> _Table:
    estimates = [
        _Row("Average post-period gap, %", tuple(_number(r.average_post_gap_pct, 1)
                                                 for r in results)),
        _Row("Permutation p-value", tuple(_p_value(r.p_value, digits) for r in results)),
        _Row("Placebo units", tuple(_count(max(len(r.placebos) - 1, 0)) for r in results)),
        _Row("Pre-period RMSPE", tuple(_number(r.pre_rmspe, digits) for r in results)),
        _Row("Post-period RMSPE", tuple(_number(r.post_rmspe, digits) for r in results)),
        _Row("RMSPE ratio (post / pre)", tuple(
            _number(r.post_rmspe / r.pre_rmspe if r.pre_rmspe else np.nan, digits)
            for r in results)),
    ]
    donors = pd.concat([r.weights.rename(i) for i, r in enumerate(results)], axis=1)
    donors = donors[(donors.fillna(0) >= 0.0005).any(axis=1)]
    donors = donors.loc[donors.max(axis=1).sort_values(ascending=False, kind="stable").index]
    weights = [_Row(f"Weight: {labels.get(str(unit), str(unit))}", tuple(
        _number(donors.at[unit, i], digits) if pd.notna(donors.at[unit, i]) else ""
        for i in range(len(results)))) for unit in donors.index]
    statistics = [
        _Row("Treated unit", tuple(labels.get(r.treated_unit, r.treated_unit)
                                   for r in results)),
        _Row("Intervention", tuple(
            "" if r.intervention is None else f"{r.intervention:%Y-%m}"
            if isinstance(r.intervention, pd.Timestamp) else str(r.intervention)
            for r in results)),
        _Row("Outcome scale", tuple("indexed, pre-period mean = 1"
                                    if r.normalize == "pre_mean" else "levels"
                                    for r in results)),
    ]
    notes = ["Gap: treated minus synthetic, summed over the post period, in percent of the "
             "synthetic. No standard errors: inference is by placebos in space (Abadie, "
             "Diamond and Hainmueller 2010), the p-value the rank of the treated unit's "
             "post/pre RMSPE ratio among all units.",
             "Donor weights are non-negative and sum to one; weights below 0.0005 are "
             "left out."]
    panels = [tuple(estimates), tuple(weights), tuple(statistics)]
    return _Table(tuple(names), tuple(p for p in panels if p), tuple(notes))


# --- writers -------------------------------------------------------------------------

_TEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def escape_tex(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (``_ % & # $ { } ~ ^ \\ < >``)."""
    return "".join(_TEX_SPECIAL.get(c, c) for c in str(text))


def escape_markdown(text: str) -> str:
    """``text`` safe in a Markdown table cell: ``& < >`` as HTML entities (no raw HTML),
    ``\\ ` * _ [ ] |`` escaped with a backslash."""
    text = html.escape(str(text), quote=False)
    return re.sub(r"([\\`*_\[\]|])", r"\\\1", text)


_INTERVAL = re.compile(r"\[-?[0-9.,]*, -?[0-9.,]*\]")  # "[low, high]": no link, no escape


def _tex_cell(text: str, stars: str = "") -> str:
    text = re.sub(r"(?<![\w.])-(?=\d)", "$-$", escape_tex(text))
    return text + (f"$^{{{stars}}}$" if stars else "")


def _cells(row: _Row) -> list[tuple[str, str]]:
    marks = row.stars or ("",) * len(row.cells)
    return list(zip(row.cells, marks, strict=True))


def _markdown(table: _Table, notes: bool) -> str:
    header = ["", *(f"({i}) {name}" if name != f"({i})" else name
                    for i, name in enumerate(table.names, 1))]
    lines = ["| " + " | ".join(escape_markdown(h) for h in header).strip() + " |",
             "|" + "---|" * len(header)]
    for panel in table.panels:
        for row in panel:
            cells = [(text if _INTERVAL.fullmatch(text) else escape_markdown(text))
                     + escape_markdown(stars) for text, stars in _cells(row)]
            lines.append("| " + " | ".join([escape_markdown(row.label), *cells]) + " |")
    text = "\n".join(lines)
    if notes and table.notes:
        text += "\n\n" + " ".join(escape_markdown(note) for note in table.notes)
    return text + "\n"


def _latex(table: _Table, notes: bool) -> str:
    n = len(table.names)
    lines = [rf"\begin{{tabular}}{{l{'c' * n}}}", r"\toprule"]
    numbers = [f"({i})" for i in range(1, n + 1)]
    if list(table.names) != numbers:
        lines.append(" & " + " & ".join(escape_tex(name) for name in table.names) + r" \\")
    lines.append(" & " + " & ".join(numbers) + r" \\")
    for panel in table.panels:
        lines.append(r"\midrule")
        for row in panel:
            label = row.tex_label if row.tex_label is not None else escape_tex(row.label)
            cells = [_tex_cell(text, stars) for text, stars in _cells(row)]
            lines.append(" & ".join([label, *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if notes and table.notes:
        lines += ["", r"\par\smallskip",
                  r"{\footnotesize " + " ".join(_tex_cell(note) for note in table.notes)
                  + r"\par}"]
    return "\n".join(lines) + "\n"


def _html(table: _Table, notes: bool) -> str:
    esc = html.escape
    n = len(table.names)
    numbers = [f"({i})" for i in range(1, n + 1)]
    lines = ['<table class="etable">', "<thead>"]
    if list(table.names) != numbers:
        lines.append("<tr><th></th>" + "".join(f"<th>{esc(name)}</th>"
                                               for name in table.names) + "</tr>")
    lines.append("<tr><th></th>" + "".join(f"<th>{x}</th>" for x in numbers) + "</tr>")
    lines.append("</thead>")
    for panel in table.panels:
        lines.append("<tbody>")
        for row in panel:
            cells = "".join(f"<td>{esc(text)}" + (f"<sup>{esc(stars)}</sup>" if stars
                                                  else "") + "</td>"
                            for text, stars in _cells(row))
            lines.append(f'<tr><th scope="row">{esc(row.label)}</th>{cells}</tr>')
        lines.append("</tbody>")
    if notes and table.notes:
        lines.append(f'<tfoot><tr><td colspan="{n + 1}">'
                     + " ".join(esc(note) for note in table.notes) + "</td></tr></tfoot>")
    lines.append("</table>")
    return "\n".join(lines) + "\n"


def _frame(table: _Table) -> pd.DataFrame:
    columns = [f"({i}) {name}" if name != f"({i})" else name
               for i, name in enumerate(table.names, 1)]
    rows = [[row.label, *(text + stars for text, stars in _cells(row))]
            for panel in table.panels for row in panel]
    frame = pd.DataFrame(rows, columns=["term", *columns])
    frame.attrs["notes"] = list(table.notes)
    return frame


# --- the entry point -----------------------------------------------------------------

def etable(results: Any, *, type: TableType = "md", stats: Stats = "se",  # noqa: A002
           stars: bool = False, digits: int | None = None, scale: Scale = "log points",
           labels: Mapping[str, str] | None = None, model_names: Sequence[str] | None = None,
           notes: bool = True) -> str | pd.DataFrame:
    """A regression table of one or several results, one column per result.

    Parameters
    ----------
    results : a result or a list of results of one kind: estimator Results (PPML, event
        study, ...), ban studies (one column per fitted outcome), interrupted time series
        or synthetic controls.
    type : ``"md"`` (a Markdown pipe table), ``"tex"`` (a booktabs ``tabular``),
        ``"html"`` (a ``<table>``) or ``"df"`` (a DataFrame with a ``term`` column, the
        notes in ``.attrs["notes"]``).
    stats : the line under each estimate: ``"se"`` (standard errors in parentheses) or
        ``"ci"`` (confidence intervals in brackets, at each fit's level).
    stars : add significance stars (``* p < 0.1, ** p < 0.05, *** p < 0.01``) and their
        legend; off by default.
    digits : decimals of estimates, standard errors and statistics; default 3 in log
        points, 1 in percent (numbers from 1,000 on get none, with thousands separators).
    scale : ``"log points"`` (as estimated) or ``"percent"`` (``100 * (exp(b) - 1)``; see
        the module docstring). Synthetic-control tables are in percent already.
    labels : display names for terms, fixed-effect columns and outcomes, e.g.
        ``{"RTA": "Regional trade agreement", "pair_id": "pair"}``.
    model_names : column headings (default: the outcome of each model, or ``(1)``, ...).
    notes : add the notes (scale, second line, stars, estimand) under the table.

    Returns
    -------
    str or DataFrame
        The table in the format asked for; labels are escaped for it (LaTeX specials,
        HTML, Markdown), so any text can go in.

    Raises
    ------
    ParameterError
        An unknown option, no results, results of different kinds or a result this
        module does not know.

    Examples
    --------
    Two PPML fits of a tiny panel; ``y`` doubles with ``x`` (log 2 = 0.693):

    >>> import pandas as pd
    >>> from research.estimate.gravity import ppml
    >>> data = pd.DataFrame({"y": [1, 2, 3, 2, 4, 6, 5, 5], "x": [0, 0, 0, 0, 1, 1, 1, 1],
    ...                      "g": ["a", "b", "a", "b", "a", "b", "a", "b"]})
    >>> print(etable([ppml(data, "y ~ x"), ppml(data, "y ~ x | g")], notes=False))
    | | (1) y | (2) y |
    |---|---|---|
    | Intercept | 0.693 |  |
    |  | (0.189) |  |
    | x | 0.916 | 0.916 |
    |  | (0.204) | (0.201) |
    | Observations | 8 | 8 |
    | g | No | Yes |
    | Cluster variable | none (robust) | none (robust) |
    | Clusters |  |  |
    | Pseudo R² | 0.172 | 0.177 |
    | Separated observations | 0 | 0 |
    | Singleton observations | 0 | 0 |
    """
    _check("type", type, TYPES)
    _check("stats", stats, STATS)
    _check("scale", scale, SCALES)
    if digits is None:
        digits = 1 if scale == "percent" else 3
    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 10:
        raise ParameterError(f"digits={digits!r} must be an integer from 0 to 10")
    if isinstance(results, Sequence) and not isinstance(results, str):
        results = list(results)
    else:
        results = [results]
    if not results:
        raise ParameterError("etable needs at least one result")
    kinds = [_kind(r) for r in results]
    if len(set(kinds)) > 1:
        raise ParameterError(f"results of different kinds ({', '.join(dict.fromkeys(kinds))}) "
                             "do not share rows: make one table per kind")
    labels = dict(labels or {})
    names = None if model_names is None else [str(name) for name in model_names]
    kind = kinds[0]
    if kind == "ban study":
        table = _ban_table(results, stats=stats, stars=stars, digits=digits, scale=scale,
                           labels=labels, names=names)
    else:
        if names is not None and len(names) != len(results):
            raise ParameterError(f"model_names has {len(names)} names for {len(results)} "
                                 "results")
        if names is None:
            names = [_default_name(r, i, kind) for i, r in enumerate(results, 1)]
        if kind == "regression":
            table = _regression_table(results, names, stats=stats, stars=stars,
                                      digits=digits, scale=scale, labels=labels)
        elif kind == "interrupted time series":
            table = _its_table(results, names, stats=stats, stars=stars, digits=digits,
                               scale=scale, labels=labels)
        else:
            table = _synth_table(results, names, digits=digits, labels=labels)
    writers = {"md": _markdown, "tex": _latex, "html": _html}
    if type == "df":
        return _frame(table)
    return writers[type](table, notes)


def _default_name(result: Any, i: int, kind: str) -> str:
    """The outcome of a formula, the series or the treated unit; ``(i)`` otherwise."""
    if kind == "regression" and getattr(result, "formula", ""):
        return result.formula.split("~")[0].strip()
    if kind == "interrupted time series" and getattr(result.series, "name", None):
        return str(result.series.name)
    if kind == "synthetic control" and result.treated_unit:
        outcome = f", {result.outcome}" if result.outcome else ""
        return f"{result.treated_unit}{outcome}"
    return f"({i})"
