"""Chinese export-control and coercion events, 2010-2026: a curated reference table.

Built from the hand-compiled timeline ``events/TIMELINE_NOTES.md`` (sections A, B
and C; one row per dated event, A1-A12, B1-B11, C1-C11). What can be read
reliably is parsed by code:

- dates: ``ann. D``, ``eff. D``, ``D (ann. and eff.)``, ``D (eff. immediately)``,
  ``D (start), D (GTA removal date)``, ``D (ann.)``; a bare date (also ``by D``,
  ``~D``, ``D/08``, ``D to 10``) is read as the date the event took effect or
  happened and goes into ``effective``;
- instrument numbers: the **bold** ``No. N [YYYY]`` / ``No. N of YYYY`` of the row,
  normalised to ``No. N [YYYY]``. Unbolded numbers refer to *other* instruments
  (B2's "No. 50 of 2006", B11's "No. 46 (2024)") and are ignored; a bold number
  without a year takes the year of the announcement (B8's Nos. 55-62);
- customs codes: every 10-digit number in the products cell, with their distinct
  6-digit prefixes as ``hs6``; products ``same`` repeats the row above;
- targets: ``all`` -> ``ALL``, ``–`` -> empty, else names through
  :func:`research.countries.normalize` (``US, EU`` -> ``USA;EUN``);
- authority: ``MOFCOM & GAC`` or ``MOFCOM`` when the measure text names it;
- page addresses: every ``http(s)://`` address in the pages cell, ';'-separated.

What needs judgement is in ``OVERLAY`` below, one documented entry per event:
event_type, basket(s), authority where the text does not name it, end dates,
and dates the text gives only as a period ("2010 (Oct)", "2010 full year": the
first day of the period; ``date_text`` keeps the cell verbatim).

Users add their own events, without editing the package, in YAML or TOML files in
the folder ``RESEARCH_USER_DIR`` (:mod:`research.reference.user_files`);
:func:`load_events` and :func:`get_event` return them after the bundled ones.
User ids are any name matching :data:`~research.reference.tables.USER_EVENT_ID` except
the bundled form ``A1``..``C99`` (:data:`~research.reference.tables.BUNDLED_EVENT_ID`),
which is reserved for the timeline.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from research import datasets
from research.countries import normalize
from research.datasets import Dataset
from research.errors import ParameterError, SourceFormatError
from research.markup import url_problem
from research.reference import user_files
from research.reference.tables import BUNDLED_EVENT_ID as BUNDLED_EVENT_ID
from research.reference.tables import REGISTRY_EVENTS as REGISTRY_EVENTS
from research.reference.tables import USER_EVENT_ID as USER_EVENT_ID
from research.schemas import EVENTS

TIMELINE_FILE = "events/TIMELINE_NOTES.md"
SECTIONS = ("A", "B", "C")
HEADER = ("#", "date", "measure", "products", "target", "pages")  # first word of each cell
DATE = r"\d{4}-\d{2}-\d{2}"
CUSTOMS_CODE = re.compile(r"(?<!\d)\d{10}(?!\d)")
URL = re.compile(r"https?://[^\s;]+")
BOLD_INSTRUMENT = re.compile(r"\*\*No\.\s*(?P<number>\d+)(?:\s*\[(?P<year1>\d{4})\]|"
                             r"\s+of\s+(?P<year2>\d{4}))?\*\*")
NONE_CELL = {"–", "-", "—", ""}

# Curated judgements, one entry per event. Keys: event_type (always), basket,
# authority (overrides the parsed one), announced / effective / end (ISO dates),
# instrument_no, targets; "why" records the reasoning and is not written to the table.
OVERLAY: dict[str, dict[str, str | None]] = {
    "A1": {"event_type": "context", "authority": "Japan Coast Guard",
           "why": "Arrest of the trawler captain; context for A2. 7 Sep (arrest) is the date."},
    "A2": {"event_type": "ban", "basket": "rare_earths", "authority": "China customs (de facto)",
           "end": "2010-11-20",
           "why": "GTA state act 2092 records an export ban, inception 2010-09-21, removal "
                  "2010-11-20 (duration evidence mixed). Not announced: China denied a ban."},
    "A3": {"event_type": "ban", "basket": "rare_earths", "authority": "China customs (de facto)",
           "effective": "2010-10-01",
           "why": "Reported suspension of shipments to the US and EU (single source), dated "
                  "only to October 2010: first day of the month."},
    "A4": {"event_type": "quota", "basket": "rare_earths", "authority": "MOFCOM",
           "effective": "2010-01-01", "end": "2010-12-31",
           "why": "Annual quota for 2010: first and last day of the quota year. MOFCOM "
                  "allocated the rare-earth export quotas."},
    "A5": {"event_type": "quota", "basket": "rare_earths", "authority": "MOFCOM",
           "why": "Announcement of the first 2011 batch; only the announcement date is given."},
    "A6": {"event_type": "quota", "basket": "rare_earths", "authority": "MOFCOM",
           "effective": "2011-01-01", "end": "2011-12-31",
           "why": "Annual quota for 2011: first and last day of the quota year."},
    "A7": {"event_type": "quota", "basket": "rare_earths", "authority": "MOFCOM",
           "why": "First 2012 tranche; only the announcement date is given."},
    "A8": {"event_type": "legal", "basket": "rare_earths;tungsten", "authority": "WTO",
           "instrument_no": "DS431; DS432; DS433",
           "why": "Requests for WTO consultations by the US (DS431), EU (DS432), Japan "
                  "(DS433) against China: China is the respondent, so no export target. "
                  "Molybdenum has no named basket."},
    "A9": {"event_type": "legal", "basket": "rare_earths;tungsten", "authority": "WTO",
           "instrument_no": "DS431; DS432; DS433", "why": "Panel reports."},
    "A10": {"event_type": "legal", "basket": "rare_earths;tungsten", "authority": "WTO",
            "instrument_no": "DS431; DS432; DS433", "why": "Appellate Body reports."},
    "A11": {"event_type": "licensing", "basket": "rare_earths;tungsten",
            "why": "Quotas abolished but licences still required: the regime becomes licensing. "
                   "Fluorspar and molybdenum have no named basket."},
    "A12": {"event_type": "legal", "basket": "rare_earths;tungsten", "authority": "MOFCOM",
            "why": "Compliance step reported to the WTO; the measure is not spelled out."},
    "B1": {"event_type": "licensing", "basket": "gallium;germanium",
           "why": "No. 23 [2023]: licence requirement for all destinations."},
    "B2": {"event_type": "licensing", "basket": "graphite",
           "why": "2023 graphite licensing; its own announcement number was not stated on the "
                  "pages (No. 50 of 2006 in the text is the earlier measure)."},
    "B3": {"event_type": "licensing", "basket": "antimony",
           "why": "No. 33 [2024]: antimony and superhard materials; superhard materials have "
                  "no named basket."},
    "B4": {"event_type": "legal", "basket": "dual_use_catalogue", "authority": "State Council",
           "why": "The Regulations on Export Control of Dual-Use Items (a State Council "
                  "regulation) and the unified control list take effect."},
    "B5": {"event_type": "ban", "targets": "USA",
           "basket": "gallium;germanium;antimony;graphite;dual_use_catalogue",
           "end": "2025-11-09",
           "why": "No. 46 [2024]: (1) all dual-use items to US military users; (2) in "
                  "principle no Ga/Ge/Sb/superhard licences to the US, stricter graphite "
                  "review. End 2025-11-09: clause 2 suspended by No. 72 [2025] (B11) until "
                  "2026-11-27; clause 1 (the military end-user ban) stays in force."},
    "B6": {"event_type": "licensing", "basket": "tungsten",
           "why": "W, Te, Bi, Mo, In licensing; only tungsten has a named basket."},
    "B7": {"event_type": "licensing", "basket": "rare_earths;magnets",
           "why": "No. 18 [2025]: 7 medium/heavy rare earths including magnets; not suspended "
                  "by No. 70."},
    "B8": {"event_type": "licensing", "basket": "rare_earths;graphite", "effective": "2025-10-09",
           "end": "2025-11-07",
           "why": "Nos. 55-62 [2025]. Effective 2025-10-09: No. 62 and the China-origin part of "
                  "No. 61 took effect on publication; Nos. 55-58 were due 2025-11-08 and the "
                  "extraterritorial parts of No. 61 2025-12-01. End 2025-11-07: all six "
                  "announcements suspended by No. 70 [2025] (B10) until 2026-11-10, so Nos. "
                  "55-58 never took effect. Graphite: No. 58 anode materials."},
    "B9": {"event_type": "context", "authority": "US and PRC leaders",
           "why": "Busan Trump-Xi meeting: one-year truce, context for B10/B11."},
    "B10": {"event_type": "suspension", "basket": "rare_earths;graphite", "end": "2026-11-10",
            "why": "No. 70 [2025] suspends Nos. 55-58, 61, 62 (B8) until 2026-11-10."},
    "B11": {"event_type": "suspension", "basket": "gallium;germanium;antimony;graphite",
            "end": "2026-11-27",
            "why": "No. 72 [2025] suspends clause 2 of No. 46 (B5) until 2026-11-27."},
    "C1": {"event_type": "context", "authority": "Prime Minister of Japan",
           "why": "Takaichi's Diet remark on a Taiwan contingency."},
    "C2": {"event_type": "context", "authority": "PRC government",
           "why": "Travel advisory; exact date unconfirmed, 'by 2025-11-15' read as that date."},
    "C3": {"event_type": "import ban", "authority": "PRC government",
           "why": "Seafood import suspension (an import measure, no export basket)."},
    "C4": {"event_type": "context", "authority": "Cabinet of Japan",
           "why": "Japan's FY2026 defence budget; see the japan_defense_budget dataset."},
    "C5": {"event_type": "legal", "basket": "dual_use_catalogue", "authority": "MOFCOM & GAC",
           "why": "The annual dual-use licence catalogue (issued jointly by MOFCOM and GAC) "
                  "takes effect."},
    "C6": {"event_type": "end-user ban", "basket": "dual_use_catalogue",
           "why": "No. 1 [2026]: all dual-use items to Japanese military users/uses; no "
                  "product list, so the whole dual-use catalogue."},
    "C7": {"event_type": "context", "basket": "rare_earths", "authority": "MOFA (Japan)",
           "why": "Japan's protest; Chinese state media float tighter REE review (B7 items)."},
    "C8": {"event_type": "investigation", "authority": "MOFCOM",
           "why": "Anti-dumping investigation (MOFCOM's trade-remedy bureau); date approximate."},
    "C9": {"event_type": "context",
           "why": "MOFCOM clarification that only military users are affected."},
    "C10": {"event_type": "ban", "basket": "rare_earths;magnets",
            "authority": "China (de facto, press reports)",
            "why": "Reported de facto halt of heavy-REE and magnet licences to Japanese firms "
                   "(WSJ, Jiji, Kyodo); not a published measure."},
    "C11": {"event_type": "entity listing", "basket": "dual_use_catalogue",
            "why": "No. 11 [2026]: 20 Japanese entities on the Export Control List."},
}
OVERLAY_FIELDS = {"event_type", "basket", "authority", "announced", "effective", "end",
                  "instrument_no", "targets", "why"}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _plain(text: str) -> str:
    return text.replace("**", "").strip()


def _none_if_empty(text: str) -> str | None:
    return None if text.strip() in NONE_CELL else text


def parse_dates(text: str) -> dict[str, str | None]:
    """Announcement, effective and end dates (ISO strings) written in a date cell.

    ``ann. 2023-07-03, eff. 2023-08-01`` gives both; ``2024-12-03 (eff. immediately)``
    and ``2025-02-04 (ann. and eff.)`` give the same date for both; ``2010-09-21
    (start), 2010-11-20 (GTA removal date)`` gives effective and end; ``2010-12-28
    (ann.)`` gives the announcement only; any other date is the effective date.
    Cells with no ISO date (``2010 (Oct)``) give nothing.
    """
    plain = _plain(text)
    dates: dict[str, str | None] = {"announced": None, "effective": None, "end": None}
    if match := re.search(rf"ann\.\s*({DATE})", plain):
        dates["announced"] = match[1]
    if match := re.search(rf"eff\.\s*({DATE})", plain):
        dates["effective"] = match[1]
    if match := re.search(rf"({DATE})\s*\((?:ann\. and eff\.|eff\. immediately)[^)]*\)", plain):
        dates["announced"] = dates["effective"] = match[1]
    if match := re.search(rf"({DATE})\s*\(start\)", plain):
        dates["effective"] = match[1]
    if match := re.search(rf"({DATE})\s*\([^)]*removal[^)]*\)", plain):
        dates["end"] = match[1]
    if match := re.search(rf"({DATE})\s*\(ann\.\)", plain):
        dates["announced"] = match[1]
    if not any(dates.values()) and (match := re.search(DATE, plain)):
        dates["effective"] = match[0]
    return dates


def parse_instruments(measure: str, announced: str | None) -> str | None:
    """The row's own announcement numbers, normalised to ``No. N [YYYY]``, ';'-separated."""
    found = []
    for match in BOLD_INSTRUMENT.finditer(measure):
        year = match["year1"] or match["year2"] or (announced[:4] if announced else None)
        label = f"No. {int(match['number'])}" + (f" [{year}]" if year else "")
        if label not in found:
            found.append(label)
    return "; ".join(found) or None


def parse_targets(text: str, source: str) -> str:
    """``ALL``, ``''`` or ';'-separated ISO3 codes from a target cell."""
    plain = re.sub(r"\([^)]*\)", "", _plain(text)).strip()
    if plain in NONE_CELL:
        return ""
    if plain.lower() == "all":
        return "ALL"
    names = [name.strip() for name in plain.split(",") if name.strip()]
    return ";".join(normalize(names, source=source, field="target"))


def parse_codes(products: str | None) -> tuple[str | None, str | None]:
    """(customs codes, hs6 prefixes): sorted, distinct, ';'-separated, or None."""
    codes = sorted(set(CUSTOMS_CODE.findall(products or "")))
    if not codes:
        return None, None
    return ";".join(codes), ";".join(sorted({code[:6] for code in codes}))


def parse_authority(measure: str) -> str | None:
    """``MOFCOM & GAC`` or ``MOFCOM`` when the measure text names it."""
    if "MOFCOM & GAC" in measure:
        return "MOFCOM & GAC"
    if "MOFCOM" in measure:
        return "MOFCOM"
    return None


def read_timeline(path: Path | str) -> pd.DataFrame:
    """Parse the event tables of sections A, B and C of ``TIMELINE_NOTES.md``.

    Returns
    -------
    One row per dated event in the EVENTS layout, before the curated overlay:
    event_type is empty and basket missing.

    Raises
    ------
    SourceFormatError
        A section or its table is missing, a row has the wrong number of cells or an
        unexpected id, an id repeats, or a row has no page address; the message names
        the file and line.
    """
    path = Path(path)
    source = str(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    records: list[dict] = []
    for letter in SECTIONS:
        heading = next((i for i, line in enumerate(lines)
                        if re.match(rf"##\s+{letter}\.\s", line)), None)
        if heading is None:
            raise SourceFormatError(source, f"no section heading '## {letter}. ...'")
        section = re.sub(rf"^##\s+{letter}\.\s+", "", lines[heading]).strip()
        start = next((i for i in range(heading + 1, len(lines))
                      if lines[i].startswith("|")), None)
        if start is None or tuple(c.split(" ")[0] for c in _cells(lines[start])) != HEADER:
            raise SourceFormatError(source, f"section {letter}: no table with header "
                                    f"{list(HEADER)}", row=(start or heading) + 1)
        previous_products = None
        for number in range(start + 2, len(lines)):
            line = lines[number]
            if not line.startswith("|"):
                break
            cells = _cells(line)
            if len(cells) != len(HEADER):
                raise SourceFormatError(source, f"expected {len(HEADER)} cells, got "
                                        f"{len(cells)}", row=number + 1, value=line[:80])
            event_id, date_text, measure, products, target, pages = cells
            if not re.fullmatch(rf"{letter}\d{{1,2}}", event_id):
                raise SourceFormatError(source, f"event id does not belong to section {letter}",
                                        field="#", value=event_id, row=number + 1)
            urls = URL.findall(pages)
            if not urls:
                raise SourceFormatError(source, "no page address", field="pages",
                                        value=pages[:80], row=number + 1)
            for url in urls:
                problem = url_problem(url)
                if problem is not None:
                    raise SourceFormatError(source, f"not a plain http(s) address: it {problem}",
                                            field="pages", value=url, row=number + 1)
            products_text = _none_if_empty(_plain(products))
            if products_text == "same":
                products_text = previous_products
            previous_products = products_text
            dates = parse_dates(date_text)
            codes, hs6 = parse_codes(products_text)
            records.append({
                "event_id": event_id, "section": section, "date_text": _plain(date_text),
                **dates, "authority": parse_authority(measure),
                "instrument_no": parse_instruments(measure, dates["announced"]),
                "event_type": "", "targets": parse_targets(target, f"{source} ({event_id})"),
                "products": products_text, "customs_codes": codes, "hs6": hs6,
                "basket": None, "measure": _plain(measure), "source_urls": ";".join(urls)})
        if not any(r["event_id"].startswith(letter) for r in records):
            raise SourceFormatError(source, f"section {letter}: the table has no rows")
    ids = [r["event_id"] for r in records]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise SourceFormatError(source, "event id repeated", field="#", value=repeated)
    return pd.DataFrame.from_records(records, columns=list(EVENTS.columns))


def apply_overlay(events: pd.DataFrame, overlay: dict[str, dict] = OVERLAY) -> pd.DataFrame:
    """Apply the curated judgements; every event must have an entry and vice versa."""
    ids = set(events["event_id"])
    unknown, uncovered = sorted(set(overlay) - ids), sorted(ids - set(overlay))
    if unknown or uncovered:
        raise SourceFormatError("research.reference.events.OVERLAY", "overlay and timeline "
                                "disagree", field="event_id",
                                value={"not in timeline": unknown, "no overlay": uncovered})
    records = events.to_dict("records")
    for record in records:
        entry = overlay[record["event_id"]]
        bad = set(entry) - OVERLAY_FIELDS
        if bad:
            raise ParameterError(f"OVERLAY[{record['event_id']!r}]: unknown field(s) "
                                 f"{sorted(bad)}")
        record.update({field: value for field, value in entry.items() if field != "why"})
        record.update({field: None for field, value in record.items()
                       if not isinstance(value, str) and pd.isna(value)})
    return pd.DataFrame.from_records(records, columns=list(events.columns))


def _event_order(event_id: pd.Series) -> pd.Series:
    return event_id.str[0] + event_id.str[1:].str.zfill(2)


def build_events(raw_dir: Path) -> pd.DataFrame:
    """The bundled events table: parsed timeline plus the curated overlay."""
    events = apply_overlay(read_timeline(Path(raw_dir) / TIMELINE_FILE))
    for column in ("announced", "effective", "end"):
        events[column] = pd.to_datetime(events[column], format="%Y-%m-%d").astype(
            "datetime64[ns]")
    events = events.sort_values("event_id", key=_event_order).reset_index(drop=True)
    return events


def load_events(user: bool = True) -> pd.DataFrame:
    """The events table (``research.datasets.load('events')``).

    With ``RESEARCH_USER_DIR`` set, the user's events follow the bundled ones
    (``user=False`` leaves them out).

    Parameters
    ----------
    user : include the events of the user folder (``RESEARCH_USER_DIR``).

    Examples
    --------
    >>> events = load_events(user=False)
    >>> events.loc[events["event_id"].eq("C6"), "instrument_no"].item()
    'No. 1 [2026]'
    """
    return datasets.load("events", user=user)


def get_event(event_id: str) -> pd.Series:
    """One event by id (e.g. ``'B1'``), bundled or from the user folder.

    Parameters
    ----------
    event_id : the event's id: ``A1``..``C99`` for the bundled timeline, any other for
        your own.

    Raises
    ------
    ParameterError
        Unknown id; the message lists the valid ids.

    Examples
    --------
    >>> event = get_event("B2")
    >>> event["event_type"], f"{event['effective']:%Y-%m-%d}", event["basket"]
    ('licensing', '2023-12-01', 'graphite')
    """
    events = load_events()
    match = events[events["event_id"] == event_id]
    if match.empty:
        valid = events["event_id"].tolist()
        raise ParameterError(f"unknown event id {event_id!r}; valid ids: {', '.join(valid)}")
    return match.iloc[0]


def _merge_user_events(table: pd.DataFrame, user_dir: Path) -> pd.DataFrame:
    return user_files.merge_events(table, user_dir)


DATASETS = [
    Dataset(
        name="events",
        filename="reference/events.parquet",
        title="Chinese export-control and coercion events, 2010-2026 (curated timeline)",
        publisher="Compiled for this project from public news, law-firm, WTO and government "
                  "pages (addresses in source_urls)",
        vintage="TIMELINE_NOTES.md (events to 2026-02-24)",
        licence="Facts compiled by hand; page addresses kept per row",
        citation="Hand-compiled timeline of Chinese export-control measures (events/"
                 "TIMELINE_NOTES.md), with the pages listed per event",
        raw_inputs=(TIMELINE_FILE,),
        build=build_events,
        schema=EVENTS,
        user_rows=_merge_user_events,
        notes=("Dates, instrument numbers, customs codes, targets and URLs parsed from the "
               "timeline's tables by code; event_type, baskets, end dates, period dates and "
               "some authorities from the curated OVERLAY in research/reference/events.py, "
               "each entry with its reasoning. effective holds the date a bare-dated event "
               "happened."),
    ),
]
