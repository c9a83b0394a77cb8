"""UN Comtrade API v1 loader, replaying the recorded responses of fixtures/comtrade_api.

The fixtures are real API answers recorded by ropensci/comtradr (see their
PROVENANCE.md, which gives the query of the data file). A fake transport serves
them by exact URL, so these tests also pin the URLs the loader builds.
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from research.errors import (
    FetchError,
    OfflineError,
    ParameterError,
    SourceFormatError,
    UnknownCountryError,
)
from research.http import FetchOptions, Request, Response, RetryPolicy, Throttle
from research.schemas import TRADE_FLOWS
from research.sources import comtrade_api as api

KEY = "test-subscription-key"
DATA_FILE = "data_v1_get_C_A_HS-60a6ad.json"
BULK_LIST_FILE = "bulk_v1_get_C_A_HS-4f1d0f.json"
BULK_EMPTY_FILE = "bulk_v1_get_C_A_HS-a503f3.json"
# PROVENANCE.md: "?cmdCode=TOTAL&partnerCode=32,280,276&reporterCode=156&period=2010&motCode=0
# &partner2Code=0&customsCode=C00&includeDesc=TRUE"; the loader adds its record cap.
PROVENANCE_QUERY = ("cmdCode=TOTAL&partnerCode=32,280,276&reporterCode=156&period=2010"
                    "&motCode=0&partner2Code=0&customsCode=C00&includeDesc=TRUE")
DATA_URL = ("https://comtradeapi.un.org/data/v1/get/C/A/HS?" + PROVENANCE_QUERY
            + "&maxRecords=100000")
# ropensci/comtradr tests/testthat/test-ct_get_bulk.R: the listing query for reporter ARG
# (32), period 1962, whose answer is the recorded bulk listing.
BULK_LIST_URL = "https://comtradeapi.un.org/bulk/v1/get/C/A/HS?reporterCode=32&period=1962"
BULK_HASH = "b07f98ee4cfb477c5b86923bbf159d48ca519ccb35c35865b3578b075fc918fb"
# comtradr's recorded download of that file: bulk/v1/file/32/<rowKey>?format=json
BULK_FILE_URL = f"https://comtradeapi.un.org/bulk/v1/file/32/{BULK_HASH}?format=json"


class FakeTransport:
    """Serves responses by exact URL; a list is served in order, a callable is called."""

    def __init__(self, routes: dict) -> None:
        self.routes = routes
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        if request.url not in self.routes:
            raise AssertionError(f"unexpected URL {request.url}")
        route = self.routes[request.url]
        if callable(route):
            return route(request)
        step = route.pop(0) if isinstance(route, list) else route
        if isinstance(step, Exception):
            raise step
        return step


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def ok(body: bytes) -> Response:
    return Response(200, {"Content-Type": "application/json; charset=utf-8"}, body)


def options(transport: FakeTransport, sleeps: Sleeps | None = None,
            attempts: int = 5) -> FetchOptions:
    return FetchOptions(transport=transport, sleep=sleeps if sleeps is not None else Sleeps(),
                        policy=RetryPolicy(max_attempts=attempts))


@pytest.fixture
def comtrade_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "comtrade_api"


@pytest.fixture
def data_body(comtrade_dir: Path) -> bytes:
    return (comtrade_dir / DATA_FILE).read_bytes()


@pytest.fixture
def records(data_body: bytes) -> list[dict]:
    return json.loads(data_body)["data"]


def provenance_query() -> api.Query:
    return api.check_query(156, [32, 280, 276], ["TOTAL"], flows=None, freq="A",
                           periods=["2010"])


# --- URLs ---------------------------------------------------------------------------------

def test_provenance_query_builds_the_recorded_url() -> None:
    requests = api.build_requests(provenance_query(), KEY)
    assert [r.url for r in requests] == [DATA_URL]
    assert requests[0].headers == {"Ocp-Apim-Subscription-Key": KEY}
    assert KEY not in repr(requests[0])


def test_iso3_parameters_become_comtrade_codes() -> None:
    # USA is 842 in Comtrade (ISO 840), India 699 (ISO 356), Taiwan 490; World 0.
    query = api.check_query("CHN", ["USA", "IND", "TWN", "WLD", "JPN"], ["850511", "2805"],
                            flows=["export", "import"], freq="M", start="2025-01",
                            end="2025-02")
    [request] = api.build_requests(query)  # no key: the public preview, cap 500
    assert request.url == (
        "https://comtradeapi.un.org/public/v1/preview/C/M/HS?cmdCode=850511,2805"
        "&flowCode=X,M&partnerCode=842,699,490,0,392&reporterCode=156&period=202501,202502"
        "&motCode=0&partner2Code=0&customsCode=C00&includeDesc=TRUE&maxRecords=500")
    assert request.headers == {}


def test_monthly_periods_split_by_twelve() -> None:
    query = api.check_query("CHN", ["JPN"], ["250410"], start="2024-01", end="2025-06")
    requests = api.build_requests(query, KEY)
    periods = [urllib.parse.parse_qs(urllib.parse.urlsplit(r.url).query)["period"][0]
               for r in requests]
    assert periods == [",".join(f"2024{m:02d}" for m in range(1, 13)),
                       ",".join(f"2025{m:02d}" for m in range(1, 7))]


def test_long_urls_are_split_by_hs_codes() -> None:
    codes = [f"{n:06d}" for n in range(100000, 100600)]  # 600 codes x 7 chars > 4,096
    query = api.check_query("CHN", ["JPN"], codes, periods=["202501"])
    requests = api.build_requests(query, KEY)
    assert len(requests) > 1
    assert all(len(r.url) <= api.MAX_URL_LENGTH for r in requests)
    sent = [c for r in requests for c in r.query.cmd_codes]
    assert sent == codes  # every code once, in order


@pytest.mark.parametrize("arguments, message", [
    ({"hs": ["85051"]}, "2, 4 or 6 digits"),
    ({"hs": [850511]}, "must be text"),
    ({"freq": "Q"}, "freq"),
    ({"reporters": "XXZ"}, "no UN Comtrade code"),
    ({"reporters": "China"}, "not an ISO3 code"),
    ({"start": "2025-03", "end": "2025-01"}, "before start"),
    ({"start": "2025-13", "end": "2025-12"}, "not a period"),
    ({"flows": ["re-export"]}, "flows"),
])
def test_bad_parameters_are_named(arguments: dict, message: str) -> None:
    base = {"reporters": "CHN", "partners": ["JPN"], "hs": ["850511"], "freq": "M",
            "start": "2025-01", "end": "2025-02"}
    base.update(arguments)
    with pytest.raises(ParameterError, match=message):
        api.check_query(base.pop("reporters"), base.pop("partners"), base.pop("hs"), **base)


# --- replaying the recorded data response -------------------------------------------------

def test_recorded_response_parses_to_trade_flows(tmp_path: Path, data_body: bytes) -> None:
    transport = FakeTransport({DATA_URL: ok(data_body)})
    flows = api.get_trade([156], [32, 280, 276], ["TOTAL"], flows=None, freq="A",
                          periods=["2010"], api_key=KEY, options=options(transport),
                          cache_dir=tmp_path)
    assert transport.requests[0].headers["Ocp-Apim-Subscription-Key"] == KEY
    TRADE_FLOWS.validate(flows)
    # primaryValue of the four recorded records (flowCode, partnerISO)
    expected = {("import", "ARG"): 6804128143.0, ("import", "DEU"): 74251272075.0,
                ("export", "ARG"): 6115764185.0, ("export", "DEU"): 68047133397.0}
    got = {(r.flow, r.partner_iso3): r.value_usd for r in flows.itertuples()}
    assert got == expected
    assert set(flows["reporter_iso3"]) == {"CHN"} and set(flows["product"]) == {"TOTAL"}
    assert set(flows["product_level"]) == {"group"} and set(flows["freq"]) == {"A"}
    assert set(flows["period"]) == {pd.Timestamp("2010-01-01")}
    assert flows["quantity"].isna().all()  # netWgt is null in every record
    assert flows["source"].iloc[0].startswith("UN Comtrade API v1 data/v1/get (retrieved 20")
    # the second call is served from the cache, without the transport
    again = api.get_trade([156], [32, 280, 276], ["TOTAL"], flows=None, freq="A",
                          periods=["2010"], api_key=KEY, options=options(transport),
                          cache_dir=tmp_path)
    assert len(transport.requests) == 1
    pd.testing.assert_frame_equal(again, flows)


def test_iso_fields_preferred_then_codes(records: list[dict]) -> None:
    base = records[2]  # CHN export to ARG, 2010
    taiwan = dict(base, partnerCode=490, partnerISO="S19", partnerDesc="Other Asia, nes")
    world = dict(base, partnerCode=0, partnerISO="W00", partnerDesc="World")
    no_iso = {k: v for k, v in base.items() if k not in ("reporterISO", "partnerISO")}
    usa = dict(no_iso, partnerCode=842)
    frame = api.parse_records([taiwan, world, usa], "test")
    assert list(frame["partner_iso3"]) == ["TWN", "WLD", "USA"]
    assert list(frame["reporter_iso3"]) == ["CHN"] * 3
    unknown = dict(no_iso, partnerCode=899)  # "Areas, nes": no single country
    with pytest.raises(UnknownCountryError, match="partnerISO/partnerCode"):
        api.parse_records([unknown], "test", where="a response")


def test_monthly_records_quantities_and_flows(records: list[dict]) -> None:
    base = dict(records[2], freqCode="M", period="202503", refMonth=3, cmdCode="850511")
    weighed = dict(base, primaryValue=1200.0, netWgt=40.0)
    no_weight = dict(base, partnerCode=276, partnerISO="DEU", netWgt=None)
    zero_weight = dict(base, partnerCode=392, partnerISO="JPN", netWgt=0.0)
    re_export = dict(base, flowCode="RX", flowDesc="Re-export")
    frame = api.parse_records([weighed, no_weight, zero_weight, re_export], "test")
    assert len(frame) == 3  # the re-export is dropped
    assert frame["period"].eq(pd.Timestamp("2025-03-01")).all()
    assert set(frame["product_level"]) == {"hs6"}
    assert frame.loc[0, "quantity"] == 40.0 and frame.loc[0, "value_usd"] == 1200.0
    assert math.isnan(frame.loc[1, "quantity"])  # JSON null
    assert math.isnan(frame.loc[2, "quantity"])  # 0 kg against a positive value
    with pytest.raises(SourceFormatError, match="period"):
        api.parse_records([dict(base, period="2025-03")], "test")


def test_empty_result_is_an_empty_frame(tmp_path: Path, comtrade_dir: Path) -> None:
    # the recorded "no data" answer: count 0, empty data, empty error
    body = (comtrade_dir / BULK_EMPTY_FILE).read_bytes()
    query = api.check_query("CHN", ["JPN"], ["850511"], periods=["202512"])
    [request] = api.build_requests(query, KEY)
    transport = FakeTransport({request.url: ok(body)})
    flows = api.get_trade("CHN", ["JPN"], ["850511"], periods=["202512"], api_key=KEY,
                          options=options(transport), cache_dir=tmp_path)
    assert flows.empty and list(flows.columns) == list(TRADE_FLOWS.columns)
    assert str(flows["period"].dtype) == "datetime64[ns]"


# --- API errors ---------------------------------------------------------------------------

def single_request(api_key: str | None = KEY) -> api.ApiRequest:
    return api.build_requests(api.check_query("CHN", ["JPN"], ["850511"],
                                              periods=["202501"]), api_key)[0]


def get_one(transport: FakeTransport, tmp_path: Path, sleeps: Sleeps | None = None,
            attempts: int = 5, api_key: str | None = KEY) -> pd.DataFrame:
    return api.get_trade("CHN", ["JPN"], ["850511"], periods=["202501"], api_key=api_key,
                         options=options(transport, sleeps, attempts), cache_dir=tmp_path)


def test_error_string_in_the_envelope(tmp_path: Path) -> None:
    body = json.dumps({"elapsedTime": "0.01 secs", "count": 0, "data": None,
                       "error": "Parameter period is invalid"}).encode()
    transport = FakeTransport({single_request().url: ok(body)})
    with pytest.raises(FetchError, match="server said: Parameter period is invalid") as caught:
        get_one(transport, tmp_path)
    assert caught.value.url == single_request().url
    assert not list(tmp_path.rglob("*.json"))  # an error is never cached


def test_http_401_with_json_message(tmp_path: Path) -> None:
    body = b'{ "statusCode": 401, "message": "Access denied due to invalid subscription key." }'
    transport = FakeTransport({single_request().url: Response(401, {}, body)})
    with pytest.raises(FetchError) as caught:
        get_one(transport, tmp_path)
    assert caught.value.status == 401
    assert caught.value.server_message == "Access denied due to invalid subscription key."
    assert KEY not in str(caught.value)


def test_non_json_body(tmp_path: Path) -> None:
    transport = FakeTransport({single_request().url: Response(
        200, {"Content-Type": "text/html"}, b"<html><body>Request URL Too Long</body></html>")})
    with pytest.raises(FetchError, match="not JSON.*Request URL Too Long"):
        get_one(transport, tmp_path)


def test_429_run_then_success_honours_retry_after(tmp_path: Path, data_body: bytes) -> None:
    body = json.dumps({"elapsedTime": "0.1 secs", "count": 1, "error": "",
                       "data": [dict(json.loads(data_body)["data"][2], freqCode="M",
                                     period="202501", cmdCode="850511", partnerCode=392,
                                     partnerISO="JPN")]}).encode()
    too_many = b'{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 4 seconds."}'
    transport = FakeTransport({single_request().url: [
        Response(429, {"Retry-After": "4"}, too_many),
        Response(429, {"Retry-After": "4"}, too_many),
        Response(429, {"Retry-After": "9"}, too_many), ok(body)]})
    sleeps = Sleeps()
    flows = get_one(transport, tmp_path, sleeps)
    assert sleeps == [4.0, 4.0, 9.0]
    assert len(transport.requests) == 4 and len(flows) == 1
    assert flows.loc[0, "partner_iso3"] == "JPN" and flows.loc[0, "value_usd"] == 6115764185.0


def test_5xx_run_exhausts_retries(tmp_path: Path) -> None:
    transport = FakeTransport({single_request().url: [
        Response(503, {}, b"Service Unavailable"), Response(500, {}, b"oops"),
        Response(502, {}, b"Bad Gateway")]})
    sleeps = Sleeps()
    with pytest.raises(FetchError) as caught:
        get_one(transport, tmp_path, sleeps, attempts=3)
    assert caught.value.status == 502 and caught.value.attempts == 3
    assert caught.value.server_message == "Bad Gateway"
    assert sleeps == [1.0, 2.0]  # default backoff 1 s, doubling


def test_timeouts_exhaust_retries(tmp_path: Path) -> None:
    transport = FakeTransport({single_request().url: [TimeoutError("read timed out")] * 2})
    sleeps = Sleeps()
    with pytest.raises(FetchError, match="timed out") as caught:
        get_one(transport, tmp_path, sleeps, attempts=2)
    assert caught.value.status is None and sleeps == [1.0]


def test_offline_without_cache(tmp_path: Path) -> None:
    transport = FakeTransport({})
    with pytest.raises(OfflineError, match="comtrade_api query .*reporterCode=156"):
        api.get_trade("CHN", ["JPN"], ["850511"], periods=["202501"], api_key=KEY,
                      options=options(transport), cache_dir=tmp_path, offline=True)
    assert transport.requests == []


def test_default_options_throttle() -> None:
    throttle = api.default_options().throttle
    assert isinstance(throttle, Throttle) and throttle.min_interval == api.MIN_INTERVAL
    assert api.default_options().throttle is throttle  # shared by every call of the process


# --- record cap ---------------------------------------------------------------------------

PARTNERS = ["JPN", "USA", "KOR", "DEU", "VNM"]
ALL_PARTNERS = ["392", "842", "410", "276", "704"]  # what the fake answers for "all partners"
CODES = [f"{c:06d}" for c in range(280500, 280600)]  # 100 codes; 5 partners: 500 a month


def generated(request: Request) -> Response:
    """A fake API: one record per period, code and partner asked, cut at maxRecords."""
    asked = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    partners = asked["partnerCode"][0].split(",") if "partnerCode" in asked else ALL_PARTNERS
    rows = [{"freqCode": "M", "period": period, "reporterCode": 156, "reporterISO": "CHN",
             "flowCode": "X", "partnerCode": int(partner), "cmdCode": code,
             "primaryValue": 1000.0, "netWgt": 10.0}
            for period in asked["period"][0].split(",")
            for code in asked["cmdCode"][0].split(",")
            for partner in partners]
    cap = int(asked["maxRecords"][0])
    return ok(json.dumps({"count": min(len(rows), cap), "data": rows[:cap],
                          "error": ""}).encode())


class Generator(FakeTransport):
    def __init__(self) -> None:
        super().__init__({})

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return generated(request)


def asked_periods(transport: FakeTransport) -> list[str]:
    return [urllib.parse.parse_qs(urllib.parse.urlsplit(r.url).query)["period"][0]
            for r in transport.requests]


def test_periods_grouped_to_stay_under_the_cap(tmp_path: Path) -> None:
    transport = Generator()
    flows = api.get_trade("CHN", PARTNERS, CODES[:40], periods=["202501", "202502", "202503"],
                          api_key=None, options=options(transport), cache_dir=tmp_path)
    # 40 codes x 5 partners x 1 flow = at most 200 records a month; (500 - 1) // 200 = 2
    # months a call under the preview cap of 500
    assert asked_periods(transport) == ["202501,202502", "202503"]
    assert len(flows) == 3 * 40 * 5 and not flows.duplicated(list(TRADE_FLOWS.key)).any()


def test_capped_responses_are_split_until_complete(tmp_path: Path) -> None:
    transport = Generator()
    flows = api.get_trade("CHN", None, CODES[:40], periods=["202501", "202502", "202503"],
                          api_key=None, options=options(transport), cache_dir=tmp_path)
    # all partners (the fake has 5): 200 records a month, 600 for 3 months > 500: the
    # capped answer is split into months [202501, 202502] (400) and [202503] (200)
    assert asked_periods(transport) == ["202501,202502,202503", "202501,202502", "202503"]
    assert len(flows) == 3 * 40 * 5 and not flows.duplicated(list(TRADE_FLOWS.key)).any()


def test_cap_reached_by_one_month_splits_codes(tmp_path: Path) -> None:
    transport = Generator()
    flows = api.get_trade("CHN", None, CODES, periods=["202501"], api_key=None,
                          options=options(transport), cache_dir=tmp_path)
    # 100 codes x 5 partners = 500 = the cap: split into 50 + 50 codes (250 records each)
    assert len(flows) == 500 and len(transport.requests) == 3
    codes = [urllib.parse.parse_qs(urllib.parse.urlsplit(r.url).query)["cmdCode"][0]
             for r in transport.requests]
    assert codes == [",".join(CODES), ",".join(CODES[:50]), ",".join(CODES[50:])]


def test_unsplittable_capped_query_raises(tmp_path: Path) -> None:
    def all_partners(request: Request) -> Response:
        row = {"freqCode": "M", "period": "202501", "reporterCode": 156, "flowCode": "X",
               "partnerCode": 392, "cmdCode": "850511", "primaryValue": 1.0}
        return ok(json.dumps({"count": 500, "data": [row] * 500, "error": ""}).encode())

    request = api.build_requests(api.check_query("CHN", None, ["850511"],
                                                 periods=["202501"]))[0]
    transport = FakeTransport({request.url: all_partners})
    with pytest.raises(FetchError, match="cannot be split further.*COMTRADE_API_KEY"):
        api.get_trade("CHN", None, ["850511"], periods=["202501"], api_key=None,
                      options=options(transport), cache_dir=tmp_path)


# --- bulk files ---------------------------------------------------------------------------

def test_bulk_listing_replay(tmp_path: Path, comtrade_dir: Path) -> None:
    request = api.bulk_list_request("ARG", ["1962"], freq="A", api_key=KEY)
    assert request.url == BULK_LIST_URL
    transport = FakeTransport({BULK_LIST_URL: ok((comtrade_dir / BULK_LIST_FILE).read_bytes())})
    files = api.list_bulk_files("ARG", ["1962"], freq="A", api_key=KEY,
                                options=options(transport), cache_dir=tmp_path)
    assert list(files.columns) == api.BULK_COLUMNS and len(files) == 1
    entry = files.iloc[0]
    assert entry["reporter_code"] == 32 and entry["reporter_iso3"] == "ARG"
    assert entry["classification"] == "S1" and entry["period"] == "1962"
    assert entry["file_size"] == "183.34 KB" and entry["file_hash"] == BULK_HASH
    assert entry["download_url"] + "?format=json" == BULK_FILE_URL


def test_bulk_listing_empty_and_key_required(tmp_path: Path, comtrade_dir: Path) -> None:
    # comtradr test-ct_get_bulk.R: ARG in 1920 has no files; the recorded answer is count 0
    url = "https://comtradeapi.un.org/bulk/v1/get/C/A/HS?reporterCode=32&period=1920"
    transport = FakeTransport({url: ok((comtrade_dir / BULK_EMPTY_FILE).read_bytes())})
    files = api.list_bulk_files("ARG", ["1920"], freq="A", api_key=KEY,
                                options=options(transport), cache_dir=tmp_path)
    assert files.empty and list(files.columns) == api.BULK_COLUMNS
    with pytest.raises(ParameterError, match="COMTRADE_API_KEY"):
        api.bulk_list_request("ARG", ["1920"], freq="A", api_key="")


def test_bulk_file_download_and_parse(tmp_path: Path, records: list[dict]) -> None:
    # A bulk file built from the recorded records: tab-separated, gzipped, and without
    # the ISO and description columns, so areas come from the numeric codes.
    fields = [f for f in records[0] if not f.endswith(("ISO", "Desc"))]
    lines = ["\t".join(fields)]
    for record in records:
        lines.append("\t".join("" if record[f] is None else str(record[f]) for f in fields))
    by_sea = dict(records[0], motCode=2100)  # a mode-of-transport breakdown: not a total
    lines.append("\t".join("" if by_sea[f] is None else str(by_sea[f]) for f in fields))
    payload = gzip.compress(("\n".join(lines) + "\n").encode())
    transport = FakeTransport({BULK_FILE_URL: Response(200, {"Content-Type": "application/TSV"},
                                                       payload)})
    entry = {"download_url": BULK_FILE_URL.split("?")[0], "file_hash": BULK_HASH}
    flows = api.bulk_trade(entry, api_key=KEY, options=options(transport), cache_dir=tmp_path)
    assert len(flows) == 4  # the motCode 2100 row is dropped
    assert sorted(flows["partner_iso3"].unique()) == ["ARG", "DEU"]
    assert flows["value_usd"].sum() == 6804128143.0 + 74251272075.0 + 6115764185.0 \
        + 68047133397.0
    assert flows["source"].iloc[0].startswith("UN Comtrade API v1 bulk/v1/file")
    with pytest.raises(SourceFormatError, match="bulk file"):
        api.read_bulk_payload(gzip.compress(b"a\tb\n1\t2\n"), "x.gz")


def test_no_copy_of_fixture_is_mutated(records: list[dict]) -> None:
    before = copy.deepcopy(records)
    api.parse_records(records, "test")
    assert records == before
