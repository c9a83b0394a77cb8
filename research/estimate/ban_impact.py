"""Ban-impact designs: turn a registry event and a basket into an event study.

Three designs, chosen from the event's targets and date:

* ``products``: a measure on every destination (e.g. the December 2023
  graphite licensing). Units are destination x product group on the monthly
  data; the treated group is the basket's, controls are groups no measure in
  the registry touched inside the window. Period fixed effects absorb common
  shocks to China's exports, unit fixed effects each destination-product level.
* ``destinations``: a measure on one destination (e.g. No. 46 on the US).
  Units are destinations for the basket's group; the target is treated.
* ``annual``: events before the monthly data start (the 2010 halt to Japan) use
  the WITS annual HS6 panel, destination x product, with quantities (kg)
  because the 2011 price spike inflates values. 2010 is the first year of
  data and is already partly treated (21 September to 20 November), so it is
  the reference year: the estimates say how Japan's flows moved after 2010
  relative to other destinations and cannot identify the 2010 drop itself.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from research import datasets
from research.errors import IdentificationWarning, ParameterError
from research.estimate.event_study import EventStudyResult, Method, event_study
from research.reference import baskets as basket_reference
from research.reference.events import get_event, load_events

MONTHLY_START = pd.Timestamp("2017-01-01")


@dataclass
class BanDesign:
    """The estimation panel and a plain description of the comparison."""

    panel: pd.DataFrame
    design: str
    freq: str
    event: pd.Timestamp
    treated_label: str
    controls: list[str]
    outcome: str
    notes: list[str]


def event_date(event: pd.Series) -> pd.Timestamp:
    """The date a measure bites: its effective date, else its announcement date."""
    date = event["effective"] if pd.notna(event["effective"]) else event["announced"]
    if pd.isna(date):
        raise ParameterError(f"event {event['event_id']} has no effective or announced date")
    return pd.Timestamp(date)


def _targets(event: pd.Series) -> list[str]:
    return [t for t in str(event["targets"]).split(";") if t]


def _groups_hit_between(start: pd.Timestamp, end: pd.Timestamp, exclude: str) -> set[str]:
    """Monthly product groups named by any registry measure dated inside [start, end]."""
    hit = set()
    for _, other in load_events().iterrows():
        if other["event_id"] == exclude or pd.isna(other["basket"]):
            continue
        date = other["effective"] if pd.notna(other["effective"]) else other["announced"]
        if pd.isna(date) or not start <= date <= end:
            continue
        for basket in str(other["basket"]).split(";"):
            group = basket_reference.BASKET_GROUP.get(basket)
            if group:
                hit.add(group)
    return hit


def ban_design(event_id: str, basket: str, controls: list[str] | str = "auto",
               outcome: str = "value_usd", window: tuple[int, int] = (-24, 12),
               flows: pd.DataFrame | None = None) -> BanDesign:
    """Build the estimation panel for ``event_id`` and ``basket``.

    Parameters
    ----------
    event_id : id in the event registry, e.g. ``"B2"``.
    basket : named basket, e.g. ``"graphite"``.
    controls : control product groups (``products`` design) or control destinations
        as ISO3 (``destinations`` design), or ``"auto"``.
    outcome : ``"value_usd"`` or ``"quantity"`` (annual design always uses quantity).
    window : event-time window in months (monthly designs).
    flows : a tidy trade table to use instead of the bundled one (e.g. refreshed data).
    """
    if outcome not in ("value_usd", "quantity"):
        raise ParameterError(f"outcome={outcome!r} is not one of ['value_usd', 'quantity']")
    event = get_event(event_id)
    date = event_date(event)
    targets = _targets(event)
    notes: list[str] = []
    if date < MONTHLY_START:
        return _annual_design(event, basket, date, targets, controls, flows, notes)
    group = basket_reference.BASKET_GROUP.get(basket)
    if group is None:
        raise ParameterError(f"basket {basket!r} has no monthly product group; baskets with "
                             f"one: {sorted(basket_reference.BASKET_GROUP)}")
    monthly = flows if flows is not None else datasets.load("china_exports_monthly")
    monthly = monthly[(monthly["product_level"] == "group") & (monthly["freq"] == "M")
                      & (monthly["partner_iso3"] != "WLD")]
    start = date + pd.DateOffset(months=window[0])
    end = date + pd.DateOffset(months=window[1])
    if date > monthly["period"].max():
        raise ParameterError(f"event {event_id} ({date:%Y-%m}) is after the last month of the "
                             f"trade data ({monthly['period'].max():%Y-%m}); pull newer data "
                             "or use the scenario notebook")
    if targets == ["ALL"] or not targets:
        if controls == "auto":
            hit = _groups_hit_between(start, end, exclude=event_id)
            controls = sorted(set(monthly["product"]) - hit - {group})
        controls = list(controls)
        unknown = sorted(set(controls) - set(monthly["product"]))
        if unknown or not controls:
            raise ParameterError(f"controls {unknown or controls} are not product groups of "
                                 f"the monthly data: {sorted(set(monthly['product']))}")
        panel = monthly[monthly["product"].isin([group, *controls])].copy()
        panel["unit"] = panel["partner_iso3"] + ":" + panel["product"]
        panel["treated"] = panel["product"] == group
        design = "products"
        notes.append(f"Treated product group {group} against control groups "
                     f"{', '.join(controls)} for the same destinations, monthly; "
                     "each group's panel lists the 8 destinations chosen by the source.")
        treated_label = group
    else:
        panel = monthly[monthly["product"] == group].copy()
        present = sorted(set(targets) & set(panel["partner_iso3"]))
        if not present:
            raise ParameterError(f"target(s) {targets} of event {event_id} are not "
                                 f"destinations of the {group} panel: "
                                 f"{sorted(set(panel['partner_iso3']))}")
        if controls != "auto":
            panel = panel[panel["partner_iso3"].isin([*present, *controls])]
        panel["unit"] = panel["partner_iso3"]
        panel["treated"] = panel["partner_iso3"].isin(present)
        design = "destinations"
        controls = sorted(set(panel["partner_iso3"]) - set(present))
        treated_label = ", ".join(present)
        notes.append(f"Exports of {group} to {treated_label} against other destinations "
                     f"({', '.join(controls)}), monthly.")
    post_months = int(((panel["period"] >= date) & (panel["period"] <= end)).sum()
                      / max(panel["unit"].nunique(), 1))
    if post_months < 6:
        message = (f"only {post_months} post-event month(s) in the data: the effect is "
                   "barely identified")
        warnings.warn(message, IdentificationWarning, stacklevel=2)
        notes.append(message[0].upper() + message[1:] + ".")
    return BanDesign(panel=panel, design=design, freq="M", event=date,
                     treated_label=treated_label, controls=list(controls), outcome=outcome,
                     notes=notes)


def _annual_basket_panel(basket: str, flows: pd.DataFrame | None
                         ) -> tuple[pd.DataFrame, list[str]]:
    """The annual WITS rows (no world total) of the basket's HS6 lines, and those lines."""
    annual = flows if flows is not None else datasets.load("china_exports_annual")
    annual = annual[(annual["freq"] == "A") & (annual["partner_iso3"] != "WLD")]
    codes = sorted(set(basket_reference.basket_codes(basket)) & set(annual["product"]))
    if not codes:
        raise ParameterError(f"basket {basket!r} has no HS6 line in the annual data "
                             f"({sorted(set(annual['product']))})")
    return annual[annual["product"].isin(codes)].copy(), codes


def _annual_design(event: pd.Series, basket: str, date: pd.Timestamp, targets: list[str],
                   controls, flows: pd.DataFrame | None, notes: list[str]) -> BanDesign:
    if not targets or targets == ["ALL"]:
        raise ParameterError(f"event {event['event_id']} has no specific target; the annual "
                             "design compares a target destination with the others")
    panel, codes = _annual_basket_panel(basket, flows)
    if controls != "auto":
        panel = panel[panel["partner_iso3"].isin([*targets, *controls])]
    panel["unit"] = panel["partner_iso3"] + ":" + panel["product"]
    panel["treated"] = panel["partner_iso3"].isin(targets)
    first_year = panel["period"].min().year
    event_year = pd.Timestamp(year=date.year, month=1, day=1)
    if first_year >= date.year:
        event_year = pd.Timestamp(year=date.year + 1, month=1, day=1)
        message = (f"the annual data start in {first_year}, the year of the measure "
                   f"({date:%Y-%m-%d}): {first_year} is the reference year and is itself "
                   "partly treated, so the estimates show the path after it relative to "
                   "other destinations; neither the drop within that year nor pre-trends "
                   "can be identified")
        warnings.warn(message, IdentificationWarning, stacklevel=3)
        notes.append(message[0].upper() + message[1:] + ".")
    notes.append(f"Annual WITS HS6 panel ({', '.join(codes)}), destination x product, "
                 "quantities in kg (values are inflated by the 2011 price spike); only "
                 "destination-years reported in WITS are used.")
    return BanDesign(panel=panel, design="annual", freq="A", event=event_year,
                     treated_label=", ".join(targets),
                     controls=sorted(set(panel["partner_iso3"]) - set(targets)),
                     outcome="quantity", notes=notes)


def estimate_design(design: BanDesign, method: Method = "ppml",
                    window: tuple[int, int] = (-24, 12),
                    anticipation: int = 0) -> EventStudyResult:
    """Event study of a :class:`BanDesign`, clustered by destination.

    Annual designs use every year in the panel (reference: the year before the event)
    and no anticipation window; monthly designs use ``window`` and ``anticipation``.
    """
    if design.freq == "A":
        years = design.panel["period"].dt.year
        annual_window = (min(-1, years.min() - design.event.year),
                         years.max() - design.event.year)
        result = event_study(design.panel, outcome=design.outcome, unit="unit", time="period",
                             treated="treated", event=design.event, freq="A",
                             window=annual_window, anticipation=0, cluster="partner_iso3",
                             method=method)
    else:
        result = event_study(design.panel, outcome=design.outcome, unit="unit", time="period",
                             treated="treated", event=design.event, freq="M", window=window,
                             anticipation=anticipation, cluster="partner_iso3", method=method)
    result.notes = design.notes + result.notes
    return result


def ban_event_study(event_id: str, basket: str, controls: list[str] | str = "auto",
                    outcome: str = "value_usd", window: tuple[int, int] = (-24, 12),
                    anticipation: int = 0, method: Method = "ppml",
                    flows: pd.DataFrame | None = None) -> tuple[EventStudyResult, BanDesign]:
    """Event study of a registry event on a basket, clustered by destination.

    The design (products, destinations or annual) follows from the event's targets and
    date, as the module docstring explains; :func:`ban_design` builds it and
    :func:`estimate_design` estimates it.

    Parameters
    ----------
    event_id : id in the event registry (bundled or your own), e.g. ``"B2"``.
    basket : named basket, e.g. ``"graphite"``.
    controls : control product groups (products design) or control destinations as
        ISO3 codes (destinations design), or ``"auto"``: the groups no registry measure
        touched inside the window, or every other destination.
    outcome : ``"value_usd"`` or ``"quantity"`` (the annual design always uses quantity).
    window : first and last event month kept (monthly designs).
    anticipation : months before the event allowed to respond (front-loading between
        announcement and effective date); the reference month is ``-(anticipation + 1)``.
    method : ``"ppml"`` (Poisson pseudo-ML) or ``"ols_log"`` (OLS on the log outcome).
    flows : a tidy trade table to use instead of the bundled one (e.g. refreshed data).

    Returns
    -------
    The EventStudyResult (effects in log points, ``post_effect`` and the event-time table
    also in %) and the BanDesign (panel, design name, treated units, controls, notes).

    Examples
    --------
    The December 2023 graphite licensing (B2), which hit every destination: graphite
    against product groups no measure touched in the window, with one month of
    front-loading.

    >>> result, design = ban_event_study("B2", "graphite", anticipation=1)
    >>> design.design, design.treated_label, design.controls
    ('products', 'graphite', ['polysilicon', 'rare_earths'])
    >>> round(float(result.post_effect["pct"]), 1)  # average post-event change, %
    -43.0
    """
    design = ban_design(event_id, basket, controls, outcome, window, flows)
    return estimate_design(design, method, window, anticipation), design


# Candidate transit or substitute destinations for rerouting tests: China's South-East
# Asian neighbours, Korea and Mexico. A default to start from, not a finding; pass your own.
THIRD_COUNTRIES = ("VNM", "THA", "MYS", "KOR", "MEX")
_MIN_SHARE_OBSERVED = 0.5  # series observed in fewer window periods than this are dropped


def _monthly_basket_panel(monthly: pd.DataFrame, basket: str) -> tuple[pd.DataFrame, str]:
    """The basket's HS6 lines in the monthly table (more destinations), else its group."""
    codes = set(basket_reference.basket_codes(basket))
    hs6 = monthly[(monthly["product_level"] == "hs6") & monthly["product"].isin(codes)]
    if not hs6.empty:
        present = sorted(hs6["product"].unique())
        mixed = [line.hs6 for line in basket_reference.BASKETS.get(basket, ())
                 if line.mixed_scope and line.hs6 in present]
        label = f"HS6 line(s) {', '.join(present)}"
        if mixed:
            label += f" (mixed scope, with uncontrolled goods: {', '.join(mixed)})"
        return hs6, label
    group = basket_reference.BASKET_GROUP.get(basket)
    if group is None:
        raise ParameterError(f"basket {basket!r} has no HS6 line and no product group in the "
                             f"monthly data; baskets with a group: "
                             f"{sorted(basket_reference.BASKET_GROUP)}")
    return (monthly[(monthly["product_level"] == "group") & (monthly["product"] == group)],
            f"product group {group}")


def _drop_sparse(panel: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp,
                 notes: list[str]) -> pd.DataFrame:
    inside = panel[(panel["period"] >= start) & (panel["period"] <= end)]
    n_periods = max(inside["period"].nunique(), 1)
    share = inside.groupby("unit")["period"].nunique() / n_periods
    sparse = share[share < _MIN_SHARE_OBSERVED].index
    if len(sparse):
        notes.append(f"{len(sparse)} destination-product series reported in fewer than "
                     f"{_MIN_SHARE_OBSERVED:.0%} of the window's months dropped "
                     f"({', '.join(sorted(sparse)[:8])}{', ...' if len(sparse) > 8 else ''}).")
    return panel[~panel["unit"].isin(sparse)]


def diversion_design(event_id: str, basket: str,
                     third_countries: tuple[str, ...] | list[str] = THIRD_COUNTRIES,
                     controls: list[str] | str = "auto", outcome: str = "value_usd",
                     window: tuple[int, int] = (-24, 12),
                     flows: pd.DataFrame | None = None) -> BanDesign:
    """Rerouting test: China's exports of a basket to third countries vs other destinations.

    Treated units are the ``third_countries`` (x HS6 line); controls are the other
    destinations, leaving out the measure's own targets (hit directly). A rise of flows to
    the third countries relative to the others after the measure is what rerouting (or
    substitution of demand towards them) would produce; it is not proof of either.

    Parameters
    ----------
    event_id, basket : registry event and basket, e.g. ``"B2"`` and ``"graphite"``.
    third_countries : ISO3 codes of candidate transit or substitute destinations.
    controls : control destinations (ISO3) or ``"auto"`` (all others in the data).
    outcome : ``"value_usd"`` or ``"quantity"``.
    window : event-time window in months (monthly data).
    flows : tidy trade table to use instead of the bundled one.

    Examples
    --------
    >>> design = diversion_design("B2", "graphite")
    >>> design.design, design.treated_label, design.outcome
    ('diversion', 'KOR, MEX, MYS, THA, VNM', 'value_usd')

    Notes
    -----
    Monthly events use the basket's HS6 lines of the monthly table (about 35 destinations)
    or, for baskets without an HS6 line there, its product group (8 destinations); events
    before 2017 use the annual WITS lines. Destination-product series reported in fewer
    than half the window's periods are dropped.
    """
    if outcome not in ("value_usd", "quantity"):
        raise ParameterError(f"outcome={outcome!r} is not one of ['value_usd', 'quantity']")
    third = sorted({c.upper() for c in third_countries})
    if not third:
        raise ParameterError("third_countries is empty")
    event = get_event(event_id)
    date = event_date(event)
    targets = [t for t in _targets(event) if t != "ALL"]
    overlap = sorted(set(third) & set(targets))
    if overlap:
        raise ParameterError(f"third countries {overlap} are targets of event {event_id}; a "
                             "rerouting test needs destinations the measure does not hit")
    notes: list[str] = []
    if date < MONTHLY_START:
        panel, codes = _annual_basket_panel(basket, flows)
        freq, event_period, source = "A", pd.Timestamp(year=date.year, month=1, day=1), \
            f"annual WITS HS6 line(s) {', '.join(codes)}"
        start, end = panel["period"].min(), panel["period"].max()
        if start.year >= date.year:  # the event year is the first year: use it as reference
            event_period = pd.Timestamp(year=date.year + 1, month=1, day=1)
            message = (f"the annual data start in {start.year}, the year of the measure: "
                       f"{start.year} is the reference year and partly treated")
            warnings.warn(message, IdentificationWarning, stacklevel=2)
            notes.append(message[0].upper() + message[1:] + ".")
        if outcome == "value_usd":
            notes.append("Annual values are inflated by the 2011 price spike; consider "
                         "outcome='quantity'.")
    else:
        monthly = flows if flows is not None else datasets.load("china_exports_monthly")
        monthly = monthly[(monthly["freq"] == "M") & (monthly["partner_iso3"] != "WLD")]
        if date > monthly["period"].max():
            raise ParameterError(f"event {event_id} ({date:%Y-%m}) is after the last month of "
                                 f"the trade data ({monthly['period'].max():%Y-%m})")
        panel, source = _monthly_basket_panel(monthly, basket)
        panel = panel.copy()
        freq, event_period = "M", date
        start = date + pd.DateOffset(months=window[0])
        end = date + pd.DateOffset(months=window[1])
    panel = panel[~panel["partner_iso3"].isin(targets)]
    present = sorted(set(third) & set(panel["partner_iso3"]))
    if not present:
        raise ParameterError(f"none of the third countries {third} is a destination of "
                             f"{basket!r} in the data ({source}): "
                             f"{sorted(set(panel['partner_iso3']))}")
    missing = sorted(set(third) - set(present))
    if missing:
        notes.append(f"Third countries not in the data: {', '.join(missing)}.")
    if controls != "auto":
        panel = panel[panel["partner_iso3"].isin([*present, *controls])]
    panel["unit"] = panel["partner_iso3"] + ":" + panel["product"].astype(str)
    panel["treated"] = panel["partner_iso3"].isin(present)
    panel = _drop_sparse(panel, start, end, notes)
    control_list = sorted(set(panel["partner_iso3"]) - set(present))
    if not control_list or not panel["treated"].any():
        raise ParameterError(f"the diversion design for {event_id}/{basket} needs both third "
                             "countries and control destinations with data")
    notes.insert(0, f"Diversion test ({source}): China's exports to {', '.join(present)} "
                    f"against {len(control_list)} other destinations"
                 + (f", leaving out the measure's targets {', '.join(targets)}" if targets
                    else "") + ". A relative rise after the measure is consistent with "
                 "rerouting through (or demand shifting to) the third countries.")
    return BanDesign(panel=panel, design="diversion", freq=freq, event=event_period,
                     treated_label=", ".join(present), controls=control_list,
                     outcome=outcome, notes=notes)


def diversion_event_study(event_id: str, basket: str,
                          third_countries: tuple[str, ...] | list[str] = THIRD_COUNTRIES,
                          controls: list[str] | str = "auto", outcome: str = "value_usd",
                          window: tuple[int, int] = (-24, 12), anticipation: int = 0,
                          method: Method = "ppml", flows: pd.DataFrame | None = None
                          ) -> tuple[EventStudyResult, BanDesign]:
    """Event study of :func:`diversion_design` (third countries vs other destinations)."""
    design = diversion_design(event_id, basket, third_countries, controls, outcome, window,
                              flows)
    return estimate_design(design, method, window, anticipation), design


def unit_value_design(event_id: str, basket: str, controls: list[str] | str = "auto",
                      window: tuple[int, int] = (-24, 12),
                      flows: pd.DataFrame | None = None) -> BanDesign:
    """Price effect: the design of :func:`ban_design` with unit values as the outcome.

    The outcome ``unit_value`` is ``value_usd / quantity`` in USD per kg, missing where the
    quantity is missing or zero (and where the value is zero); estimate it log-linearly
    (``method="ols_log"``), so coefficients are proportional changes of the treated
    flows' unit values relative to the controls'. Unit values mix product grades and
    destinations: a shift of the mix towards dearer grades shows up as a price rise.

    Parameters
    ----------
    event_id, basket : registry event and basket, e.g. ``"B2"`` and ``"graphite"``.
    controls : as for :func:`ban_design`.
    window : event-time window in months (monthly designs).
    flows : tidy trade table to use instead of the bundled one.

    Examples
    --------
    >>> design = unit_value_design("B2", "graphite")
    >>> design.design, design.outcome
    ('products (unit values)', 'unit_value')
    """
    design = ban_design(event_id, basket, controls, "value_usd", window, flows)
    panel = design.panel.copy()
    value = panel["value_usd"].astype(float)
    quantity = panel["quantity"].astype(float)
    defined = (quantity > 0) & (value > 0)
    panel["unit_value"] = (value / quantity).where(defined)
    n_undefined = int((~defined).sum())
    notes = [n for n in design.notes if "quantities in kg" not in n]
    notes.append("Outcome: unit value, USD per kg (value / quantity)"
                 + (f"; {n_undefined} rows without a positive quantity and value have no unit "
                    "value" if n_undefined else "") + ".")
    return BanDesign(panel=panel, design=f"{design.design} (unit values)", freq=design.freq,
                     event=design.event, treated_label=design.treated_label,
                     controls=design.controls, outcome="unit_value", notes=notes)


def unit_value_event_study(event_id: str, basket: str, controls: list[str] | str = "auto",
                           window: tuple[int, int] = (-24, 12), anticipation: int = 0,
                           method: Method = "ols_log", flows: pd.DataFrame | None = None
                           ) -> tuple[EventStudyResult, BanDesign]:
    """Log-linear event study of :func:`unit_value_design` (the price effect)."""
    design = unit_value_design(event_id, basket, controls, window, flows)
    return estimate_design(design, method, window, anticipation), design


def design_series(design: BanDesign) -> pd.DataFrame:
    """Treated and control flows summed by period, each indexed to its pre-event mean = 100.

    Returns a tidy frame (period, group, value, index_pre_mean_100) for plotting.
    """
    panel = design.panel.dropna(subset=[design.outcome])
    grouped = (panel.assign(group=panel["treated"].map(
        {True: f"treated: {design.treated_label}", False: "controls"}))
        .groupby(["period", "group"], as_index=False)[design.outcome].sum()
        .rename(columns={design.outcome: "value"}))
    pre = grouped[grouped["period"] < design.event].groupby("group")["value"].mean()
    grouped["index_pre_mean_100"] = 100 * grouped["value"] / grouped["group"].map(pre)
    return grouped


def event_summary(event: pd.Series) -> str:
    """A short markdown description of a registry event.

    Every field is escaped (:func:`research.markup.escape_markdown`: a user's event
    text shows literally, never as markup) and only plain http/https source addresses
    become links.

    Parameters
    ----------
    event : one row of the event registry (:func:`research.reference.events.get_event`).

    Examples
    --------
    >>> from research.reference.events import get_event
    >>> print(event_summary(get_event("B2")).splitlines()[2])
    - Announced 2023-10-20, effective 2023-12-01, ended or suspended –
    """
    from research.markup import escape_markdown, markdown_link

    def day(value) -> str:
        return "–" if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d}"

    def text(value) -> str:
        return "–" if value is None or (not isinstance(value, str) and pd.isna(value)) \
            or value == "" else escape_markdown(value)

    lines = [f"**{text(event['event_id'])}**: {text(event['measure'])}", "",
             f"- Announced {day(event['announced'])}, effective {day(event['effective'])}, "
             f"ended or suspended {day(event['end'])}",
             f"- Authority: {text(event['authority'])}; instrument: "
             f"{text(event['instrument_no'])}; type: {text(event['event_type'])}",
             f"- Targets: {text(event['targets'])}; baskets: {text(event['basket'])}",
             "- Sources: " + ", ".join(markdown_link(u)
                                       for u in str(event["source_urls"]).split(";") if u)]
    return "\n".join(lines)
