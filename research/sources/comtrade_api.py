"""UN Comtrade API v1: goods trade by reporter, partner, flow, HS code and period.

Steps, each a short function: :func:`check_query` (parameters) ->
:func:`build_requests` (URLs within the API's limits) -> :func:`fetch_records`
(cached, throttled, retried) -> :func:`parse_records` (tidy
:data:`~research.schemas.TRADE_FLOWS` rows) -> :func:`validate`. :func:`get_trade`
runs them all.

Endpoints (base ``https://comtradeapi.un.org``):

- with a subscription key (env ``COMTRADE_API_KEY``, sent as the header
  ``Ocp-Apim-Subscription-Key``): ``data/v1/get/C/{A|M}/HS``, at most 100,000
  records a call;
- without a key: the public preview ``public/v1/preview/C/{A|M}/HS``, at most 500;
- bulk files (key required): the listing ``bulk/v1/get/C/{freq}/{classification}``
  and each file at ``bulk/v1/file/{reporterCode}/{rowKey}`` (gzipped TSV).

Limits: 12 periods a call and URLs of at most 4,096 characters; longer queries are
split, and periods are grouped so that the records a call can hold stay under the cap
(one per reporter, partner, flow, HS code and period). A response holding as many records as the cap may be truncated: the query is
split (periods, then HS codes, partners, reporters, flows) and fetched again, and a
query that cannot be split further raises :class:`~research.errors.FetchError`.

Every request is sent with ``motCode=0`` (all modes of transport), ``partner2Code=0``
and ``customsCode=C00`` (all customs procedures), so one record per reporter,
partner, flow, HS code and period comes back.

Parsing: reporter and partner come from ``reporterISO``/``partnerISO`` when they are
ISO3 codes and from the numeric codes otherwise (Comtrade writes ``W00`` for the
world, code 0, and ``S19`` for "Other Asia, nes", code 490 = Taiwan). Flows ``X``
and ``M`` become export and import; re-exports, re-imports and other flows are
dropped. Value is ``primaryValue`` (current USD); quantity is ``netWgt`` in kg, with
JSON null -> NaN and 0 kg against a positive value -> NaN, as in
:mod:`research.sources.comtrade_monthly`. Six-digit codes are ``product_level``
"hs6"; ``TOTAL``, HS2 and HS4 codes are "group".

Empty results: a query with no records gives an empty frame with the
TRADE_FLOWS columns (see :func:`empty_trade_flows`), not an error: months not yet
reported are ordinary, and the caller decides (``research data pull`` reports it).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from research.cache import Download, cached
from research.countries import from_comtrade_code, to_comtrade_code, to_iso3
from research.errors import (
    FetchError,
    ParameterError,
    SourceFormatError,
    UnknownCountryError,
)
from research.http import FetchOptions, Response, build_url, server_message, shared_throttle
from research.schemas import TRADE_FLOWS

BASE_URL = "https://comtradeapi.un.org"
DATA_PATH = "data/v1/get/C/{freq}/HS"
PREVIEW_PATH = "public/v1/preview/C/{freq}/HS"
BULK_LIST_PATH = "bulk/v1/get/C/{freq}/{classification}"
BULK_FILE_PATH = "bulk/v1/file/{reporter}/{file_hash}"
API_KEY_ENV = "COMTRADE_API_KEY"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
SOURCE = "comtrade_api"
BULK_SOURCE = "comtrade_bulk"
LOADER_VERSION = "1"
ROW_CAP_KEY = 100_000
ROW_CAP_PREVIEW = 500
MAX_PERIODS = 12
MAX_URL_LENGTH = 4096
MIN_INTERVAL = 1.0  # seconds between calls (the free tier allows about one a second)
FLOW_CODES = {"export": "X", "import": "M"}
FLOW_NAMES = {code: name for name, code in FLOW_CODES.items()}
CLASSIFICATIONS = frozenset({"HS", "H0", "H1", "H2", "H3", "H4", "H5", "H6"})


@dataclass(frozen=True)
class Query:
    """A checked query in Comtrade's terms: numeric areas, flow letters, HS codes, periods."""

    reporters: tuple[int, ...]
    partners: tuple[int, ...] | None  # None: every partner
    flows: tuple[str, ...] | None  # None: every flow (re-exports etc. are dropped on parse)
    cmd_codes: tuple[str, ...]
    freq: str
    periods: tuple[str, ...]


@dataclass(frozen=True)
class ApiRequest:
    """One call: the query chunk it covers, its URL, headers and record cap."""

    query: Query
    url: str
    headers: dict[str, str]
    max_records: int
    endpoint: str

    def __repr__(self) -> str:  # never show the key
        return f"ApiRequest(url={self.url!r}, max_records={self.max_records})"


# --- step 1: check parameters -------------------------------------------------------------

def _area_codes(values: Iterable[str | int], field: str) -> tuple[int, ...]:
    codes = []
    for value in values:
        if isinstance(value, int | np.integer) or str(value).strip().isdigit():
            codes.append(int(value))  # already a Comtrade area code
            continue
        text = str(value).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", text):
            raise ParameterError(f"{field}: {value!r} is not an ISO3 code (e.g. CHN, JPN, WLD)")
        try:
            codes.append(to_comtrade_code(text))
        except UnknownCountryError as error:
            raise ParameterError(f"{field}: {value!r} has no UN Comtrade code") from error
    if not codes:
        raise ParameterError(f"{field}: give at least one country")
    return tuple(dict.fromkeys(codes))


def _cmd_codes(values: Iterable[str]) -> tuple[str, ...]:
    codes = []
    for value in values:
        if not isinstance(value, str):
            raise ParameterError(f"hs: {value!r} must be text (digit strings keep leading "
                                 "zeros, e.g. '030110')")
        text = value.strip().upper()
        if text != "TOTAL" and not re.fullmatch(r"\d{2}|\d{4}|\d{6}", text):
            raise ParameterError(f"hs: {value!r} is not an HS code of 2, 4 or 6 digits "
                                 "nor TOTAL")
        codes.append(text)
    if not codes:
        raise ParameterError("hs: give at least one HS code")
    return tuple(dict.fromkeys(codes))


def _period(value: str, freq: str, field: str) -> pd.Timestamp:
    text = str(value).strip()
    formats = {"M": (r"\d{4}-\d{2}", "%Y-%m", r"\d{6}", "%Y%m"),
               "A": (r"\d{4}", "%Y", r"\d{4}", "%Y")}[freq]
    for pattern, fmt in (formats[:2], formats[2:]):
        if re.fullmatch(pattern, text):
            try:
                return pd.Timestamp(pd.to_datetime(text, format=fmt))
            except ValueError:
                break
    expected = "YYYY-MM or YYYYMM" if freq == "M" else "YYYY"
    raise ParameterError(f"{field}: {value!r} is not a period {expected} for freq {freq!r}")


def periods_between(start: str, end: str, freq: str) -> tuple[str, ...]:
    """Comtrade period codes from ``start`` to ``end`` inclusive (``YYYYMM`` or ``YYYY``)."""
    first, last = _period(start, freq, "start"), _period(end, freq, "end")
    if last < first:
        raise ParameterError(f"end {end!r} is before start {start!r}")
    if freq == "M":
        months = pd.period_range(first, last, freq="M")
        return tuple(p.strftime("%Y%m") for p in months)
    return tuple(str(year) for year in range(first.year, last.year + 1))


def check_query(reporters: str | int | Sequence[str | int], partners: Sequence[str | int] | None,
                hs: Sequence[str], *, flows: Sequence[str] | None = ("export",),
                freq: str = "M", start: str | None = None, end: str | None = None,
                periods: Sequence[str] | None = None) -> Query:
    """Check the parameters and translate them to Comtrade codes.

    Parameters
    ----------
    reporters : ISO3 code(s) (or Comtrade numeric codes) of the reporting countries.
    partners : ISO3 codes (``WLD`` for the world); ``None`` for every partner.
    hs : HS codes as digit strings of 2, 4 or 6 digits, or ``TOTAL``.
    flows : ``export`` and/or ``import``; ``None`` for every flow.
    freq : ``M`` (monthly) or ``A`` (annual).
    start, end : first and last period, ``YYYY-MM`` (monthly) or ``YYYY`` (annual).
    periods : Comtrade period codes instead of start/end.

    Raises
    ------
    ParameterError
        Naming the parameter and the value that cannot be used.
    """
    freq = str(freq).strip().upper()
    if freq not in ("M", "A"):
        raise ParameterError(f"freq: {freq!r} must be 'M' (monthly) or 'A' (annual)")
    if isinstance(reporters, str | int):
        reporters = [reporters]
    reporter_codes = _area_codes(reporters, "reporter")
    partner_codes = None if partners is None else _area_codes(partners, "partner")
    flow_codes = None
    if isinstance(flows, str):
        flows = [flows]
    if flows is not None:
        unknown = sorted(set(flows) - set(FLOW_CODES))
        if unknown or not flows:
            raise ParameterError(f"flows: {unknown or flows!r}; allowed: {sorted(FLOW_CODES)}")
        flow_codes = tuple(dict.fromkeys(FLOW_CODES[f] for f in flows))
    if periods is not None:
        if start is not None or end is not None:
            raise ParameterError("give either periods or start/end, not both")
        checked = []
        for value in periods:
            stamp = _period(value, freq, "periods")
            checked.append(stamp.strftime("%Y%m") if freq == "M" else str(stamp.year))
        period_codes = tuple(dict.fromkeys(checked))
        if not period_codes:
            raise ParameterError("periods: give at least one period")
    else:
        if start is None or end is None:
            raise ParameterError("start and end are required (or periods)")
        period_codes = periods_between(start, end, freq)
    return Query(reporter_codes, partner_codes, flow_codes, _cmd_codes(hs), freq, period_codes)


# --- step 2: build requests ---------------------------------------------------------------

def api_key_from_env() -> str | None:
    """The subscription key in ``COMTRADE_API_KEY``, or ``None``."""
    key = os.environ.get(API_KEY_ENV, "").strip()
    return key or None


def query_params(query: Query) -> dict[str, str | None]:
    """The query string parameters of a data call, in the order the API documents them."""
    def joined(values: Iterable[object] | None) -> str | None:
        return None if values is None else ",".join(str(v) for v in values)

    return {
        "cmdCode": joined(query.cmd_codes),
        "flowCode": joined(query.flows),
        "partnerCode": joined(query.partners),
        "reporterCode": joined(query.reporters),
        "period": joined(query.periods),
        "motCode": "0",
        "partner2Code": "0",
        "customsCode": "C00",
        "includeDesc": "TRUE",
    }


def request_for(query: Query, api_key: str | None) -> ApiRequest:
    """The single call for ``query`` (no splitting)."""
    path = (DATA_PATH if api_key else PREVIEW_PATH).format(freq=query.freq)
    cap = ROW_CAP_KEY if api_key else ROW_CAP_PREVIEW
    params = {**query_params(query), "maxRecords": str(cap)}
    headers = {KEY_HEADER: api_key} if api_key else {}
    return ApiRequest(query, build_url(f"{BASE_URL}/{path}", params), headers, cap,
                      path.rsplit("/", 3)[0])


ROW_SPLIT_ORDER = ("periods", "cmd_codes", "partners", "reporters", "flows")
URL_SPLIT_ORDER = ("cmd_codes", "partners", "reporters", "periods", "flows")


def split_query(query: Query, order: Sequence[str] = ROW_SPLIT_ORDER) -> list[Query]:
    """Two halves of ``query`` along the first dimension of ``order`` with several values.

    By default periods, then HS codes, partners, reporters and flows. Returns ``[]``
    when the query is one period, code, partner, reporter and flow (or all
    partners/flows).
    """
    for name in order:
        values = getattr(query, name)
        if values is not None and len(values) > 1:
            half = (len(values) + 1) // 2
            return [replace(query, **{name: values[:half]}),
                    replace(query, **{name: values[half:]})]
    return []


def periods_per_call(query: Query, cap: int) -> int:
    """Periods a call can hold: 12, fewer when the records a period can have reach the cap.

    A period has at most one record per reporter, partner, flow and HS code; with all
    partners or all flows asked that bound is unknown and 12 is used.
    """
    if query.partners is None or query.flows is None:
        return MAX_PERIODS
    per_period = (len(query.reporters) * len(query.partners) * len(query.flows)
                  * len(query.cmd_codes))
    return max(1, min(MAX_PERIODS, (cap - 1) // per_period))


def build_requests(query: Query, api_key: str | None = None) -> list[ApiRequest]:
    """The calls covering ``query``: at most 12 periods each (fewer when the record cap
    could be reached, see :func:`periods_per_call`), URLs within 4,096 characters."""
    size = periods_per_call(query, ROW_CAP_KEY if api_key else ROW_CAP_PREVIEW)
    chunks = [replace(query, periods=query.periods[i:i + size])
              for i in range(0, len(query.periods), size)]
    requests: list[ApiRequest] = []
    while chunks:
        chunk = chunks.pop(0)
        request = request_for(chunk, api_key)
        if len(request.url) <= MAX_URL_LENGTH:
            requests.append(request)
            continue
        halves = split_query(chunk, URL_SPLIT_ORDER)
        if not halves:
            raise ParameterError(f"a single call is {len(request.url)} characters long, over "
                                 f"the API's {MAX_URL_LENGTH}: {request.url[:200]}...")
        chunks[:0] = halves
    return requests


# --- step 3: fetch (cached) ---------------------------------------------------------------

def parse_envelope(body: bytes, url: str) -> list[dict]:
    """The ``data`` records of a response ``{elapsedTime, count, data, error}``.

    Raises
    ------
    FetchError
        The body is not JSON (the server's text is quoted), or ``error`` is not empty.
    SourceFormatError
        JSON without a ``data`` list of objects.
    """
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        message = server_message(Response(200, {}, body))
        raise FetchError(url, "the response is not JSON", server_message=message) from error
    if not isinstance(payload, dict):
        raise SourceFormatError(url, "expected a JSON object {count, data, error}",
                                field="envelope", value=type(payload).__name__)
    error = payload.get("error")
    if isinstance(error, str) and error.strip():
        raise FetchError(url, "the API returned an error", server_message=error.strip())
    if payload.get("statusCode") not in (None, 200) and payload.get("message"):
        raise FetchError(url, "the API returned an error", status=payload.get("statusCode"),
                         server_message=str(payload["message"]))
    data = payload.get("data")
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise SourceFormatError(url, "no 'data' list of records in the response",
                                field="data", value=type(data).__name__)
    return data


def default_options() -> FetchOptions:
    """Retries as :data:`research.http.DEFAULT_POLICY`, at most one call per MIN_INTERVAL."""
    return FetchOptions(throttle=shared_throttle("comtrade", MIN_INTERVAL))


@dataclass(frozen=True)
class Fetched:
    """Records of one call and the cache record describing them."""

    request: ApiRequest
    records: list[dict]
    retrieved: str
    from_cache: bool


def fetch_request(request: ApiRequest, options: FetchOptions | None = None, *,
                  offline: bool | None = None, refresh: bool = False,
                  cache_dir: Path | None = None) -> Fetched:
    """Fetch one call through the cache (the key never enters the cache or errors)."""
    options = options or default_options()

    def download() -> Download:
        response = options.get(request.url, headers=request.headers)
        return Download(response.body, url=request.url)

    result = cached(SOURCE, {"url": request.url}, LOADER_VERSION, download,
                    lambda body: parse_envelope(body, request.url), len, offline=offline,
                    refresh=refresh, cache_dir=cache_dir)
    return Fetched(request, result.value, result.record["retrieved"], result.from_cache)


def fetch_records(query: Query, api_key: str | None = None,
                  options: FetchOptions | None = None, *, offline: bool | None = None,
                  refresh: bool = False, cache_dir: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> list[Fetched]:
    """Fetch every call of ``query``, splitting calls whose response reached the cap.

    ``progress(done, total)`` is called after each call; ``total`` grows when a call
    is split.

    Raises
    ------
    FetchError
        A call reached the record cap and cannot be split further.
    """
    options = options or default_options()
    pending = build_requests(query, api_key)
    done: list[Fetched] = []
    while pending:
        request = pending.pop(0)
        fetched = fetch_request(request, options, offline=offline, refresh=refresh,
                                cache_dir=cache_dir)
        if len(fetched.records) >= request.max_records:
            halves = split_query(request.query)
            if not halves:
                raise FetchError(request.url, f"the response holds {len(fetched.records)} "
                                 f"records, the cap of this endpoint ({request.max_records}), "
                                 "so it may be truncated, and the query cannot be split "
                                 "further (one reporter, partner, HS code, flow and period)"
                                 + ("" if api_key else f"; set {API_KEY_ENV} to use the "
                                    f"data endpoint (cap {ROW_CAP_KEY})"))
            pending[:0] = [r for half in halves for r in build_requests(half, api_key)]
            continue
        done.append(fetched)
        if progress is not None:
            progress(len(done), len(done) + len(pending))
    return done


# --- step 4: parse ------------------------------------------------------------------------

def empty_trade_flows() -> pd.DataFrame:
    """A TRADE_FLOWS frame with no rows and the usual dtypes."""
    return pd.DataFrame({
        name: pd.Series(dtype={"date": "datetime64[ns]", "float": "float64"}.get(
            column.kind, "str")) for name, column in TRADE_FLOWS.columns.items()})


def _areas(iso: pd.Series | None, codes: pd.Series, field: str, where: str) -> pd.Series:
    """ISO3 per row: the ISO field when it is an ISO3 code, else the numeric code mapped."""
    codes = codes.astype(str).str.strip()
    iso_text = (iso.fillna("").astype(str).str.strip().str.upper() if iso is not None
                else pd.Series("", index=codes.index))
    pairs = pd.DataFrame({"iso": iso_text, "code": codes})
    mapping = {}
    for iso_value, code in pairs.drop_duplicates().itertuples(index=False):
        if re.fullmatch(r"[A-Z]{3}", iso_value) and to_iso3(iso_value) == iso_value:
            mapping[(iso_value, code)] = iso_value
            continue
        try:
            mapping[(iso_value, code)] = from_comtrade_code(code)
        except UnknownCountryError as error:
            raise UnknownCountryError(where, "area neither an ISO3 code nor a known UN "
                                      "Comtrade code", field=field,
                                      value=f"{iso_value or '-'} / {code}") from error
    return pd.Series([mapping[pair] for pair in zip(iso_text, codes, strict=True)],
                     index=codes.index)


def _numbers(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index, dtype="float64")
    values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    bad = values.isna() & frame[column].notna() & frame[column].astype(str).str.strip().ne("")
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceFormatError(where, "not a number", field=column,
                                value=frame[column].iloc[position], row=position)
    return values


REQUIRED_FIELDS = ("freqCode", "period", "reporterCode", "flowCode", "partnerCode",
                   "cmdCode", "primaryValue")


def parse_records(records: list[dict] | pd.DataFrame, source: str,
                  where: str = "UN Comtrade API response") -> pd.DataFrame:
    """Comtrade records (API JSON or bulk rows) as tidy TRADE_FLOWS rows.

    Parameters
    ----------
    records : the ``data`` records, or a frame with the same fields.
    source : the ``source`` column (with the vintage), e.g. the retrieval date.
    where : URL or file, for error messages.
    """
    frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(records)
    if frame.empty:
        return empty_trade_flows()
    missing = [f for f in REQUIRED_FIELDS if f not in frame.columns]
    if missing:
        raise SourceFormatError(where, f"records lack the field(s) {missing}", field=missing[0])
    for column, value in (("motCode", "0"), ("customsCode", "C00"), ("partner2Code", "0")):
        if column in frame:  # bulk files carry breakdowns; keep the totals only
            frame = frame[frame[column].astype(str).str.strip().eq(value)]
    flows = frame["flowCode"].astype(str).str.strip()
    frame = frame[flows.isin(FLOW_NAMES)].reset_index(drop=True)
    if frame.empty:
        return empty_trade_flows()
    freq = frame["freqCode"].astype(str).str.strip()
    if freq.nunique() != 1 or freq.iloc[0] not in ("M", "A"):
        raise SourceFormatError(where, "expected one frequency, M or A", field="freqCode",
                                value=sorted(freq.unique()))
    period_text = frame["period"].astype(str).str.strip()
    fmt, pattern = ("%Y%m", r"\d{6}") if freq.iloc[0] == "M" else ("%Y", r"\d{4}")
    bad = ~period_text.str.fullmatch(pattern)
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceFormatError(where, f"period is not {fmt}", field="period",
                                value=period_text.iloc[position], row=position)
    value = _numbers(frame, "primaryValue", where)
    quantity = _numbers(frame, "netWgt", where)
    quantity = quantity.where(~(quantity.eq(0) & value.gt(0)))
    product = frame["cmdCode"].astype(str).str.strip()
    tidy = pd.DataFrame({
        "reporter_iso3": _areas(frame.get("reporterISO"), frame["reporterCode"],
                                "reporterISO/reporterCode", where),
        "partner_iso3": _areas(frame.get("partnerISO"), frame["partnerCode"],
                               "partnerISO/partnerCode", where),
        "flow": frame["flowCode"].astype(str).str.strip().map(FLOW_NAMES),
        "product": product,
        "product_level": np.where(product.str.fullmatch(r"\d{6}"), "hs6", "group"),
        "period": pd.to_datetime(period_text, format=fmt).astype("datetime64[ns]"),
        "freq": freq,
        "value_usd": value,
        "quantity": quantity,
        "quantity_unit": "kg",
        "source": source,
    })
    return tidy.astype({c: "str" for c in ("reporter_iso3", "partner_iso3", "flow",
                                           "product", "product_level", "freq",
                                           "quantity_unit", "source")})


def source_label(endpoint: str, retrieved: str) -> str:
    """The ``source`` column: API, endpoint and retrieval date (the vintage)."""
    return f"UN Comtrade API v1 {endpoint} (retrieved {retrieved[:10]})"


# --- step 5: validate ---------------------------------------------------------------------

def validate(frame: pd.DataFrame, where: str = "UN Comtrade API") -> pd.DataFrame:
    """Check against TRADE_FLOWS (an empty frame passes with the right columns); sort."""
    if frame.empty:
        missing = [c for c in TRADE_FLOWS.columns if c not in frame.columns]
        if missing:
            raise SourceFormatError(where, "missing column", field=missing[0])
        return frame[list(TRADE_FLOWS.columns)]
    frame = frame[list(TRADE_FLOWS.columns)]
    TRADE_FLOWS.validate(frame, source=where)
    order = ["reporter_iso3", "flow", "product_level", "product", "partner_iso3", "period"]
    return frame.sort_values(order, kind="mergesort", ignore_index=True)


def get_trade(reporters: str | Sequence[str], partners: Sequence[str] | None,
              hs: Sequence[str], *, flows: Sequence[str] | None = ("export",),
              freq: str = "M", start: str | None = None, end: str | None = None,
              periods: Sequence[str] | None = None, api_key: str | None = None,
              options: FetchOptions | None = None, offline: bool | None = None,
              refresh: bool = False, cache_dir: Path | None = None,
              progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Trade flows from the Comtrade API as a TRADE_FLOWS table.

    Parameters are those of :func:`check_query`, plus: ``api_key`` (default
    ``COMTRADE_API_KEY``; without one the 500-record preview is used), ``options``
    (transport, retries, throttle), ``offline`` / ``refresh`` / ``cache_dir`` (see
    :func:`research.cache.cached`) and ``progress(done, total)`` (after each call).

    Returns
    -------
    TRADE_FLOWS rows, sorted; an empty frame with the same columns when the API has
    no records for the query. ``source`` names the endpoint and retrieval date.
    """
    query = check_query(reporters, partners, hs, flows=flows, freq=freq, start=start,
                        end=end, periods=periods)
    api_key = api_key if api_key is not None else api_key_from_env()
    results = fetch_records(query, api_key, options, offline=offline, refresh=refresh,
                            cache_dir=cache_dir, progress=progress)
    frames = [parse_records(r.records, source_label(r.request.endpoint, r.retrieved),
                            where=r.request.url) for r in results]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_trade_flows()
    return validate(pd.concat(frames, ignore_index=True))


# --- bulk files ---------------------------------------------------------------------------

BULK_COLUMNS = ["reporter_code", "reporter_iso3", "freq", "classification", "period",
                "publication_date", "file_size", "file_hash", "download_url"]


def bulk_list_request(reporters: str | Sequence[str], periods: Sequence[str], *,
                      freq: str = "M", classification: str = "HS",
                      api_key: str | None = None) -> ApiRequest:
    """The bulk-file listing call (``bulk/v1/get``); needs a subscription key."""
    api_key = api_key if api_key is not None else api_key_from_env()
    if not api_key:
        raise ParameterError(f"bulk files need a subscription key; set {API_KEY_ENV}")
    if classification not in CLASSIFICATIONS:
        raise ParameterError(f"classification: {classification!r}; allowed: "
                             f"{sorted(CLASSIFICATIONS)}")
    query = check_query(reporters, None, ["TOTAL"], flows=None, freq=freq, periods=periods)
    path = BULK_LIST_PATH.format(freq=query.freq, classification=classification)
    params = {"reporterCode": ",".join(map(str, query.reporters)),
              "period": ",".join(query.periods)}
    return ApiRequest(query, build_url(f"{BASE_URL}/{path}", params), {KEY_HEADER: api_key},
                      ROW_CAP_KEY, "bulk/v1/get")


def parse_bulk_listing(records: list[dict], where: str) -> pd.DataFrame:
    """The listing's file entries as a table (columns :data:`BULK_COLUMNS`)."""
    rows = []
    for position, entry in enumerate(records):
        missing = [f for f in ("reporterCode", "rowKey", "period", "fileUrl") if f not in entry]
        if missing:
            raise SourceFormatError(where, "bulk file entry lacks a field", field=missing[0],
                                    row=position)
        file_url = str(entry["fileUrl"])
        download = file_url if file_url.startswith("http") else (
            f"{BASE_URL}/" + BULK_FILE_PATH.format(reporter=entry["reporterCode"],
                                                   file_hash=entry["rowKey"]))
        rows.append({
            "reporter_code": int(entry["reporterCode"]),
            "reporter_iso3": from_comtrade_code(entry["reporterCode"]),
            "freq": entry.get("freqCode"), "classification": entry.get("classificationCode"),
            "period": str(entry["period"]), "publication_date": entry.get("publicationDate"),
            "file_size": entry.get("fileSize"), "file_hash": entry["rowKey"],
            "download_url": download,
        })
    return pd.DataFrame(rows, columns=BULK_COLUMNS)


def list_bulk_files(reporters: str | Sequence[str], periods: Sequence[str], *,
                    freq: str = "M", classification: str = "HS", api_key: str | None = None,
                    options: FetchOptions | None = None, offline: bool | None = None,
                    refresh: bool = False, cache_dir: Path | None = None) -> pd.DataFrame:
    """The bulk files available for the reporters and periods (empty frame when none)."""
    request = bulk_list_request(reporters, periods, freq=freq, classification=classification,
                                api_key=api_key)
    fetched = fetch_request(request, options, offline=offline, refresh=refresh,
                            cache_dir=cache_dir)
    return parse_bulk_listing(fetched.records, request.url)


def read_bulk_payload(payload: bytes, where: str) -> pd.DataFrame:
    """A bulk file (gzipped, tab-separated, one header line) as a frame of text columns."""
    try:
        text = gzip.decompress(payload) if payload[:2] == b"\x1f\x8b" else payload
        frame = pd.read_csv(io.BytesIO(text), sep="\t", dtype=str, keep_default_na=False,
                            na_values=[""])
    except (OSError, EOFError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SourceFormatError(where, f"cannot read the bulk file: {error}") from error
    missing = [f for f in REQUIRED_FIELDS if f not in frame.columns]
    if missing:
        raise SourceFormatError(where, "bulk file lacks a column", field=missing[0])
    return frame


def download_bulk_file(entry: pd.Series | dict, *, api_key: str | None = None,
                       options: FetchOptions | None = None, offline: bool | None = None,
                       refresh: bool = False, cache_dir: Path | None = None
                       ) -> tuple[pd.DataFrame, dict]:
    """Download (or read from the cache) one bulk file of :func:`list_bulk_files`.

    Returns the file's rows (text columns) and the cache record.
    """
    api_key = api_key if api_key is not None else api_key_from_env()
    if not api_key:
        raise ParameterError(f"bulk files need a subscription key; set {API_KEY_ENV}")
    options = options or default_options()
    url = str(entry["download_url"])
    # the recorded reference client asks for format=json; the answer is a gzipped TSV
    full_url = build_url(url, {"format": "json"}) if "/bulk/v1/file/" in url else url

    def download() -> Download:
        response = options.get(full_url, headers={KEY_HEADER: api_key})
        return Download(response.body, url=full_url)

    result = cached(BULK_SOURCE, {"url": full_url, "file_hash": str(entry["file_hash"])},
                    LOADER_VERSION, download, lambda body: read_bulk_payload(body, full_url),
                    len, suffix=".gz", offline=offline, refresh=refresh, cache_dir=cache_dir)
    return result.value, result.record


def bulk_trade(entry: pd.Series | dict, hs: Sequence[str] | None = None, **options: object
               ) -> pd.DataFrame:
    """One bulk file as TRADE_FLOWS rows, optionally only the HS codes ``hs``."""
    rows, record = download_bulk_file(entry, **options)  # type: ignore[arg-type]
    if hs is not None:
        rows = rows[rows["cmdCode"].astype(str).str.strip().isin(_cmd_codes(hs))]
    frame = parse_records(rows.reset_index(drop=True),
                          source_label("bulk/v1/file", record["retrieved"]), record["url"])
    return validate(frame, record["url"])
