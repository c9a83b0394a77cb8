"""World Bank Indicators API v2 (JSON): one indicator by country and year, every page.

A call ``{BASE_URL}/country/{codes}/indicator/{indicator}?format=json&date=Y1:Y2
&per_page=N&page=P`` answers ``[{page, pages, per_page, total, ...}, [records]]``
(the second element is ``null`` when nothing matches); each record holds
``indicator {id, value}``, ``country {id, value}``, ``countryiso3code``, ``date``,
``value`` (``null`` when missing), ``unit``, ``obs_status`` and ``decimal``. Errors come
back as ``[{"message": [{"id", "key", "value"}]}]``, often with HTTP 200; they become
:class:`~research.errors.FetchError` with the server's message.

Every page goes through :mod:`research.http` (retries, throttle) and
:mod:`research.cache`. The result has the columns of the bulk-CSV reader
:func:`research.sources.worldbank.read_worldbank_bulk` (country_code, country,
indicator, year, value, unit; missing values are absent rows), so both give the same
table. The unit is, as there, the last parenthesis of the indicator's name
("Military expenditure (% of GDP)" -> "% of GDP"), else "not stated".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from research.cache import Download, cached
from research.errors import FetchError, ParameterError, SourceFormatError
from research.http import FetchOptions, Response, build_url, server_message, shared_throttle

BASE_URL = "https://api.worldbank.org/v2"
SOURCE = "worldbank_api"
LOADER_VERSION = "1"
PER_PAGE = 1000
MIN_INTERVAL = 0.5  # seconds between calls
MAX_URL_LENGTH = 4000  # the API's documented limit for a whole URL
COLUMNS = ["country_code", "country", "indicator", "year", "value", "unit"]
NO_UNIT = "not stated"  # as the bulk reader says when an indicator name has no unit
META_FIELDS = ("page", "pages", "per_page", "total")


def check_request(indicator: str, countries: str | Sequence[str] = "all",
                  start_year: int | None = None, end_year: int | None = None
                  ) -> tuple[str, str, str | None]:
    """Checked indicator code, country path segment (``;``-joined) and ``date`` range."""
    indicator = str(indicator).strip()
    if not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", indicator):
        raise ParameterError(f"indicator: {indicator!r} is not a WDI code like NY.GDP.MKTP.CD")
    if isinstance(countries, str):
        countries = [countries]
    codes = [str(c).strip().upper() for c in countries]
    if not codes:
        raise ParameterError("countries: give at least one ISO3 code or 'all'")
    if codes != ["ALL"]:
        bad = [c for c in codes if not re.fullmatch(r"[A-Z0-9]{2,3}", c)]
        if bad:
            raise ParameterError(f"countries: {bad} are not ISO3 codes (or 'all')")
    segment = "all" if codes == ["ALL"] else ";".join(dict.fromkeys(codes))
    date = None
    if start_year is not None or end_year is not None:
        first = int(start_year if start_year is not None else end_year)  # type: ignore[arg-type]
        last = int(end_year if end_year is not None else start_year)  # type: ignore[arg-type]
        if last < first:
            raise ParameterError(f"end_year {last} is before start_year {first}")
        date = f"{first}:{last}"
    return indicator, segment, date


def page_url(indicator: str, segment: str, date: str | None, page: int,
             per_page: int = PER_PAGE) -> str:
    """URL of one page."""
    url = build_url(f"{BASE_URL}/country/{segment}/indicator/{indicator}",
                    {"format": "json", "date": date, "per_page": per_page, "page": page})
    if len(url) > MAX_URL_LENGTH:
        raise ParameterError(f"the URL is {len(url)} characters long, over the API's "
                             f"{MAX_URL_LENGTH}; ask for fewer countries per call")
    return url


def parse_page(body: bytes, url: str) -> tuple[dict, list[dict]]:
    """Metadata and records of one page.

    Raises
    ------
    FetchError
        The body is an API error message, or not JSON.
    SourceFormatError
        JSON of another shape than ``[{page, pages, per_page, total}, [records]]``.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise FetchError(url, "the response is not JSON",
                         server_message=server_message(Response(200, {}, body))) from error
    if (isinstance(payload, list) and payload and isinstance(payload[0], dict)
            and "message" in payload[0]):
        raise FetchError(url, "the API returned an error",
                         server_message=server_message(Response(200, {}, body)))
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], dict)):
        raise SourceFormatError(url, "expected [metadata, records]", field="body",
                                value=str(payload)[:80])
    meta, records = payload
    for name in META_FIELDS:
        try:
            meta[name] = int(meta[name])
        except (KeyError, TypeError, ValueError) as error:
            raise SourceFormatError(url, "page metadata lacks a whole number", field=name,
                                    value=meta.get(name)) from error
    records = records or []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SourceFormatError(url, "records are not a list of objects", field="records")
    return meta, records


def records_frame(records: list[dict], where: str) -> pd.DataFrame:
    """API records as the bulk reader's long table; null values dropped, sorted."""
    rows = []
    for position, record in enumerate(records):
        try:
            country, indicator = record["country"], record["indicator"]
            code = (record.get("countryiso3code") or "").strip() or str(country["id"])
            year_text = str(record["date"]).strip()
            value = record["value"]
        except (KeyError, TypeError) as error:
            raise SourceFormatError(where, f"record lacks a field: {error}",
                                    row=position) from error
        if value is None:
            continue
        if not re.fullmatch(r"\d{4}", year_text):
            raise SourceFormatError(where, "date is not a year", field="date",
                                    value=year_text, row=position)
        try:
            number = float(value)
        except (TypeError, ValueError) as error:
            raise SourceFormatError(where, "value is not a number", field="value",
                                    value=value, row=position) from error
        unit = re.search(r"\(([^()]*)\)\s*$", str(indicator.get("value") or ""))
        rows.append({"country_code": code, "country": str(country.get("value", "")),
                     "indicator": str(indicator.get("id", "")), "year": int(year_text),
                     "value": number, "unit": unit.group(1) if unit else NO_UNIT})
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = table.astype({"country_code": "str", "country": "str", "indicator": "str",
                          "year": "int64", "value": "float64", "unit": "str"})
    return table.sort_values(["country_code", "indicator", "year"]).reset_index(drop=True)


def default_options() -> FetchOptions:
    """Default retries, at most one call per MIN_INTERVAL."""
    return FetchOptions(throttle=shared_throttle("worldbank", MIN_INTERVAL))


def fetch_page(url: str, options: FetchOptions, *, offline: bool | None = None,
               refresh: bool = False, cache_dir: Path | None = None
               ) -> tuple[dict, list[dict]]:
    """One page through the cache."""
    def download() -> Download:
        return Download(options.get(url).body, url=url)

    result = cached(SOURCE, {"url": url}, LOADER_VERSION, download,
                    lambda body: parse_page(body, url), lambda page: len(page[1]),
                    offline=offline, refresh=refresh, cache_dir=cache_dir)
    return result.value


def get_indicator(indicator: str, countries: str | Sequence[str] = "all",
                  start_year: int | None = None, end_year: int | None = None, *,
                  per_page: int = PER_PAGE, options: FetchOptions | None = None,
                  offline: bool | None = None, refresh: bool = False,
                  cache_dir: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """An indicator for countries and years, all pages, as the bulk reader's table.

    Parameters
    ----------
    indicator : WDI code, e.g. ``NY.GDP.MKTP.CD``.
    countries : ISO3 codes or ``"all"`` (aggregates such as WLD included).
    start_year, end_year : the year range (default: every year).
    per_page : records per page (the API's default is 50).
    options, offline, refresh, cache_dir : see :mod:`research.http` and :mod:`research.cache`.
    progress : called with (pages done, pages) after each page.

    Returns
    -------
    country_code, country, indicator, year, value, unit; one row per non-null value, sorted
    by country_code, indicator and year; empty (same columns) when nothing matches.

    Raises
    ------
    FetchError
        An API error message, or pages whose counts disagree with the metadata.
    """
    indicator, segment, date = check_request(indicator, countries, start_year, end_year)
    options = options or default_options()
    first_url = page_url(indicator, segment, date, 1, per_page)
    meta, records = fetch_page(first_url, options, offline=offline, refresh=refresh,
                               cache_dir=cache_dir)
    pages = max(meta["pages"], 1)
    collected = list(records)
    if progress is not None:
        progress(1, pages)
    for page in range(2, pages + 1):
        url = page_url(indicator, segment, date, page, per_page)
        page_meta, page_records = fetch_page(url, options, offline=offline, refresh=refresh,
                                             cache_dir=cache_dir)
        if page_meta["page"] != page or page_meta["total"] != meta["total"]:
            raise FetchError(url, f"page {page_meta['page']} of {page_meta['pages']} with "
                             f"total {page_meta['total']} does not continue page 1 "
                             f"(total {meta['total']}); the data changed while paging, "
                             "fetch again with refresh=True")
        collected.extend(page_records)
        if progress is not None:
            progress(page, pages)
    if len(collected) != meta["total"]:
        raise FetchError(first_url, f"{len(collected)} records over {pages} page(s), the "
                         f"metadata says {meta['total']}")
    table = records_frame(collected, first_url)
    table.attrs["lastupdated"] = meta.get("lastupdated")
    return table
