"""World Bank API v2 loader with a fake transport.

Shape followed (World Bank Data Help Desk, "API Basic Call Structures" and
"Indicator API Queries", API v2): a JSON call answers a two-element array,
``[{"page", "pages", "per_page", "total", "sourceid", "lastupdated"}, [records]]``,
each record ``{"indicator": {"id", "value"}, "country": {"id", "value"},
"countryiso3code", "date", "value", "unit", "obs_status", "decimal"}`` with ``value``
null when missing, and ``null`` instead of the records when nothing matches. Errors
are ``[{"message": [{"id": "120", "key": "Invalid value", "value": "The provided
parameter value is not valid"}]}]``, served with HTTP 200.

The values served here are those of the real WDI bulk file in the shared raw data,
so the API reader and the bulk reader can be compared on the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from research.errors import FetchError, OfflineError, ParameterError, SourceFormatError
from research.http import FetchOptions, Request, Response
from research.sources import worldbank_api as wb
from research.sources.worldbank import read_worldbank_bulk

INDICATOR = "MS.MIL.XPND.GD.ZS"
BULK_FILE = "defense/worldbank_API_MS.MIL.XPND.GD.ZS_DS2_en_csv_v2_2018-02-22.csv"
ISO2 = {"JPN": "JP", "CHN": "CN", "WLD": "1W"}
BASE = f"https://api.worldbank.org/v2/country/JPN;CHN;WLD/indicator/{INDICATOR}"
ERROR_BODY = (b'[{"message":[{"id":"120","key":"Invalid value",'
              b'"value":"The provided parameter value is not valid"}]}]')


class Routes:
    def __init__(self, routes: dict[str, Response | list]) -> None:
        self.routes, self.urls = routes, []

    def __call__(self, request: Request) -> Response:
        self.urls.append(request.url)
        route = self.routes[request.url]
        return route.pop(0) if isinstance(route, list) else route


def options(transport: Routes) -> FetchOptions:
    return FetchOptions(transport=transport, sleep=lambda seconds: None)


@pytest.fixture(scope="module")
def bulk(raw_dir: Path) -> pd.DataFrame:
    """The real bulk file's rows for JPN, CHN, WLD, 2012-2017 (2017 is empty in it)."""
    table = read_worldbank_bulk(raw_dir / BULK_FILE)
    keep = table["country_code"].isin(list(ISO2)) & table["year"].between(2012, 2017)
    return table[keep].reset_index(drop=True)


def api_records(bulk: pd.DataFrame) -> list[dict]:
    """API v2 records for every country and year 2012-2017: null where the bulk cell is empty."""
    names = dict(zip(bulk["country_code"], bulk["country"], strict=False))
    values = {(r.country_code, r.year): r.value for r in bulk.itertuples()}
    return [{"indicator": {"id": INDICATOR, "value": "Military expenditure (% of GDP)"},
             "country": {"id": ISO2[code], "value": names[code]}, "countryiso3code": code,
             "date": str(year), "value": values.get((code, year)), "unit": "",
             "obs_status": "", "decimal": 1}
            for code in ISO2 for year in range(2017, 2011, -1)]  # newest first, as the API


def page_body(records: list[dict], page: int, per_page: int, total: int | None = None) -> bytes:
    total = len(records) if total is None else total
    pages = -(-total // per_page)
    chunk = records[(page - 1) * per_page: page * per_page]
    return json.dumps([{"page": page, "pages": pages, "per_page": per_page, "total": total,
                        "sourceid": "2", "lastupdated": "2018-02-22"}, chunk]).encode()


def url(page: int, per_page: int = 10) -> str:
    return f"{BASE}?format=json&date=2012:2017&per_page={per_page}&page={page}"


def test_paged_api_equals_bulk_reader(tmp_path: Path, bulk: pd.DataFrame) -> None:
    records = api_records(bulk)
    assert len(records) == 18  # 3 countries x 6 years, with nulls for 2017
    transport = Routes({url(1): Response(200, {}, page_body(records, 1, 10)),
                        url(2): Response(200, {}, page_body(records, 2, 10))})
    pages = []
    table = wb.get_indicator(INDICATOR, ["JPN", "CHN", "WLD"], 2012, 2017, per_page=10,
                             options=options(transport), cache_dir=tmp_path,
                             progress=lambda done, total: pages.append((done, total)))
    assert transport.urls == [url(1), url(2)]
    assert pages == [(1, 2), (2, 2)]
    pd.testing.assert_frame_equal(table, bulk)
    # Japan 2016 in the bulk file: 0.934480 (% of GDP)
    japan = table[table["country_code"].eq("JPN") & table["year"].eq(2016)]
    assert japan["value"].iloc[0] == pytest.approx(0.93448, abs=1e-5)
    assert table.attrs["lastupdated"] == "2018-02-22"
    assert set(table["unit"]) == {"% of GDP"}  # from "Military expenditure (% of GDP)"
    again = wb.get_indicator(INDICATOR, ["JPN", "CHN", "WLD"], 2012, 2017, per_page=10,
                             options=options(transport), cache_dir=tmp_path, offline=True)
    pd.testing.assert_frame_equal(again, bulk)  # every page from the cache
    assert len(transport.urls) == 2


def test_error_message_body(tmp_path: Path) -> None:
    bad = "https://api.worldbank.org/v2/country/all/indicator/NOT.A.CODE?format=json&per_page=1000&page=1"
    transport = Routes({bad: Response(200, {}, ERROR_BODY)})
    with pytest.raises(FetchError) as caught:
        wb.get_indicator("NOT.A.CODE", options=options(transport), cache_dir=tmp_path)
    assert caught.value.url == bad
    assert caught.value.server_message == ("Invalid value: The provided parameter value is "
                                           "not valid")
    assert not list(tmp_path.rglob("*.json"))


def test_no_data_is_an_empty_table(tmp_path: Path) -> None:
    empty = json.dumps([{"page": 1, "pages": 0, "per_page": 1000, "total": 0,
                         "sourceid": None, "lastupdated": "2024-06-28"}, None]).encode()
    address = ("https://api.worldbank.org/v2/country/TWN/indicator/NY.GDP.MKTP.CD"
               "?format=json&date=2020:2023&per_page=1000&page=1")
    table = wb.get_indicator("NY.GDP.MKTP.CD", "TWN", 2020, 2023,
                             options=options(Routes({address: Response(200, {}, empty)})),
                             cache_dir=tmp_path)
    assert table.empty and list(table.columns) == wb.COLUMNS


def test_pages_that_disagree_raise(tmp_path: Path, bulk: pd.DataFrame) -> None:
    records = api_records(bulk)
    transport = Routes({url(1): Response(200, {}, page_body(records, 1, 10)),
                        url(2): Response(200, {}, page_body(records, 2, 10, total=19))})
    with pytest.raises(FetchError, match="does not continue page 1"):
        wb.get_indicator(INDICATOR, ["JPN", "CHN", "WLD"], 2012, 2017, per_page=10,
                         options=options(transport), cache_dir=tmp_path)


def test_retry_then_success_and_offline(tmp_path: Path, bulk: pd.DataFrame) -> None:
    records = api_records(bulk)
    one_page = url(1, per_page=50)
    transport = Routes({one_page: [Response(503, {}, b"Service Unavailable"),
                                   Response(200, {}, page_body(records, 1, 50))]})
    with pytest.raises(OfflineError):
        wb.get_indicator(INDICATOR, ["JPN", "CHN", "WLD"], 2012, 2017, per_page=50,
                         options=options(transport), cache_dir=tmp_path, offline=True)
    table = wb.get_indicator(INDICATOR, ["JPN", "CHN", "WLD"], 2012, 2017, per_page=50,
                             options=options(transport), cache_dir=tmp_path)
    assert len(transport.urls) == 2 and len(table) == len(bulk)


def test_malformed_bodies() -> None:
    with pytest.raises(FetchError, match="not JSON"):
        wb.parse_page(b"<html>Gateway Timeout</html>", "u")
    with pytest.raises(SourceFormatError, match="metadata, records"):
        wb.parse_page(b'{"page": 1}', "u")
    with pytest.raises(SourceFormatError, match="pages"):
        wb.parse_page(b'[{"page": 1, "per_page": 50, "total": 0}, []]', "u")
    record = {"indicator": {"id": "X"}, "country": {"id": "JP", "value": "Japan"},
              "countryiso3code": "JPN", "date": "2012M01", "value": 1.0}
    with pytest.raises(SourceFormatError, match="not a year"):
        wb.records_frame([record], "u")


@pytest.mark.parametrize("arguments, message", [
    (("NY GDP",), "not a WDI code"),
    (("NY.GDP.MKTP.CD", ["Japan"]), "not ISO3"),
    (("NY.GDP.MKTP.CD", "JPN", 2020, 2010), "before start_year"),
])
def test_bad_parameters(arguments: tuple, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        wb.check_request(*arguments)
