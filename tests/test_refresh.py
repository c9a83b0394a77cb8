"""Pulling new Comtrade months, merging them into the bundled table, the updated folder, CLI.

The bundled rows used are the real ``china_exports_monthly`` (graphite for JPN, KOR and
the world). A fake Comtrade API answers the HS6 lines 250410 and 380110 for 2024-12
(overlapping the bundled table) and 2025-01 (new).
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from research import cli, datasets, refresh
from research.errors import CoverageWarning, OfflineError, ParameterError, RevisionWarning
from research.files import sha256_file
from research.http import FetchOptions, Request, Response
from research.schemas import TRADE_FLOWS
from research.sources import comtrade_api

# Bundled values (data/trade/china_exports_monthly.parquet, from the raw
# deep_dive_hs6_monthly.csv and country_monthly_stats.csv), 2024-12:
#   JPN 250410: 1,992,802 USD, 1,933,090 kg;  JPN 380110: 5,209,723 USD, 7,032,740 kg
#   KOR 250410: 4,037,137 USD, 2,897,137 kg;  KOR 380110: 8,000,541 USD, 3,434,150 kg
#   graphite group: JPN 7,202,525 (= 1,992,802 + 5,209,723), KOR 12,037,678, WLD 87,671,031
JPN, KOR, WLD = 392, 410, 0
ANSWERS = {
    # (period, HS6, partner code): (primaryValue, netWgt)
    ("202412", "250410", JPN): (1992802.0, 1933090.0),
    ("202412", "380110", JPN): (5209723.0 * 1.02, 7032740.0),  # revised up 2%
    ("202412", "250410", KOR): (4037137.0, 2897137.0),
    ("202412", "380110", KOR): (8000541.0, 3434150.0),
    ("202412", "250410", WLD): (30000000.0, 20000000.0),  # world lines summing to the
    ("202412", "380110", WLD): (57671031.0, 46344026.0),  # bundled world group
    ("202501", "250410", JPN): (1000000.0, 800000.0),
    ("202501", "380110", JPN): (2000000.0, None),  # no weight reported
    ("202501", "250410", KOR): (500.0, 0.0),  # 0 kg against a value: missing
    ("202501", "250410", WLD): (20000000.0, 15000000.0),
    ("202501", "380110", WLD): (40000000.0, 30000000.0),
}


def fake_api(request: Request) -> Response:
    """Answers from ANSWERS for the periods, codes and partners asked."""
    asked = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    rows = []
    for period in asked["period"][0].split(","):
        for code in asked["cmdCode"][0].split(","):
            for partner in asked["partnerCode"][0].split(","):
                found = ANSWERS.get((period, code, int(partner)))
                if found is not None:
                    rows.append({"freqCode": "M", "period": period, "reporterCode": 156,
                                 "reporterISO": "CHN", "flowCode": "X",
                                 "partnerCode": int(partner), "cmdCode": code,
                                 "primaryValue": found[0], "netWgt": found[1]})
    return Response(200, {}, json.dumps({"count": len(rows), "data": rows,
                                         "error": ""}).encode())


class Transport:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: Request) -> Response:
        self.urls.append(request.url)
        return fake_api(request)


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    table = datasets.load("china_exports_monthly")
    keep = (table["partner_iso3"].isin(["JPN", "KOR", "WLD"])
            & table["product"].isin(["graphite", "250410", "380110"]))
    return table[keep].reset_index(drop=True)


def pull(bundled: pd.DataFrame, tmp_path: Path, transport: Transport, **kwargs) -> pd.DataFrame:
    options = FetchOptions(transport=transport, sleep=lambda s: None)
    return refresh.pull_comtrade_monthly(bundled=bundled, start="2024-12", end="2025-01",
                                         api_key="k", options=options,
                                         cache_dir=tmp_path / "cache", **kwargs)


def value(frame: pd.DataFrame, partner: str, product: str, month: str) -> pd.Series:
    rows = frame[frame["partner_iso3"].eq(partner) & frame["product"].eq(product)
                 & frame["period"].eq(pd.Timestamp(month))]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_default_spec_from_the_bundled_table(bundled: pd.DataFrame) -> None:
    spec = refresh.default_spec(bundled, today=pd.Timestamp("2026-03-15"))
    assert spec.reporter == "CHN" and spec.partners == ("JPN", "KOR", "WLD")
    assert spec.hs == ("250410", "380110") and spec.flows == ("export",)
    # 12 months back from the last bundled month 2024-12, to this month
    assert (spec.start, spec.end, spec.freq) == ("2024-01", "2026-03", "M")
    full = refresh.default_spec(datasets.load("china_exports_monthly"),
                                today=pd.Timestamp("2026-03-15"))
    assert full.hs == ("250410", "280461", "280530", "282560", "282590", "284690", "285000",
                       "285390", "380110", "811292", "811299", "850511")  # GROUP_CODES
    assert len(full.partners) == 40 and "WLD" in full.partners
    basket = refresh.default_spec(bundled, basket="gallium", start="2025-01", end="2025-02")
    assert basket.hs == ("282590", "285000", "285390", "811292", "811299")
    with pytest.raises(ParameterError):
        refresh.default_spec(bundled, basket="gallium", hs=["811292"])


def test_pull_builds_groups_from_hs6(bundled: pd.DataFrame, tmp_path: Path) -> None:
    transport = Transport()
    fresh = pull(bundled, tmp_path, transport)
    TRADE_FLOWS.validate(fresh)
    assert len(transport.urls) == 1  # 2 months x 3 partners x 2 lines: one call
    assert "period=202412,202501" in transport.urls[0]
    assert "partnerCode=392,410,0" in transport.urls[0]
    # 11 HS6 rows answered + graphite groups for JPN, KOR and WLD in both months
    assert (fresh["product_level"] == "hs6").sum() == 11
    assert (fresh["product_level"] == "group").sum() == 6
    jan = value(fresh, "JPN", "graphite", "2025-01-01")
    assert jan["value_usd"] == 3000000.0  # 1,000,000 + 2,000,000
    assert jan["quantity"] == 800000.0  # only 250410 has a weight
    kor = value(fresh, "KOR", "graphite", "2025-01-01")
    assert kor["value_usd"] == 500.0 and math.isnan(kor["quantity"])  # 0 kg -> missing
    assert value(fresh, "WLD", "graphite", "2024-12-01")["value_usd"] == 87671031.0


@pytest.mark.filterwarnings("ignore::research.errors.CoverageWarning")
def test_merge_replaces_overlap_and_reports_revisions(bundled: pd.DataFrame,
                                                      tmp_path: Path) -> None:
    fresh = pull(bundled, tmp_path, Transport())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        merged, revisions = refresh.merge_monthly(bundled, fresh)
    messages = {w.category: str(w.message) for w in caught}
    assert set(messages) == {RevisionWarning, CoverageWarning}
    assert re.search(r"2 value\(s\).*0\.5%.*1 period\(s\): 2024-12", messages[RevisionWarning])
    # KOR 380110 has no 2025-01 record: 1 of the 7 series of 2024-12 lacks the new month
    assert "2025-01: 1 of 7 (e.g. KOR 380110)" in messages[CoverageWarning]
    TRADE_FLOWS.validate(merged)
    # no double counting: one row per key; 2025-01 adds JPN 250410, 380110, KOR 250410 and
    # the JPN, KOR and WLD graphite groups; WLD HS6 rows are a new series and are left out
    assert len(merged) == len(bundled) + 6
    assert not merged.duplicated(list(TRADE_FLOWS.key)).any()
    assert not ((merged["partner_iso3"] == "WLD") & (merged["product_level"] == "hs6")).any()
    december = value(merged, "JPN", "380110", "2024-12-01")
    assert december["value_usd"] == pytest.approx(5209723.0 * 1.02)
    assert december["source"].startswith("UN Comtrade API v1 data/v1/get")
    assert value(merged, "JPN", "380110", "2024-11-01")["value_usd"] == 6732459.0  # bundled
    # revisions: 380110 to JPN +2%, and the JPN graphite group by the same 104,194.46 USD:
    # 104,194.46 / 7,202,525 = 1.4466%
    assert list(revisions["product"]) == ["graphite", "380110"]
    assert set(revisions["measure"]) == {"value_usd"}
    group = revisions.iloc[0]
    assert group["old"] == 7202525.0
    assert group["new"] == pytest.approx(1992802.0 + 5209723.0 * 1.02)
    assert group["relative_change"] == pytest.approx(104194.46 / 7202525.0)
    assert revisions.iloc[1]["relative_change"] == pytest.approx(0.02)
    # a looser tolerance keeps only the 2% revision; new_series adds the WLD lines
    with pytest.warns(RevisionWarning, match=r"1 value\(s\)"):
        _, loose = refresh.merge_monthly(bundled, fresh, tolerance=0.015)
    assert list(loose["product"]) == ["380110"]
    with pytest.warns(RevisionWarning):
        wide, _ = refresh.merge_monthly(bundled, fresh, new_series=True)
    assert len(wide) == len(merged) + 4  # WLD 250410 and 380110 in 2024-12 and 2025-01


def test_merge_with_nothing_fresh(bundled: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        merged, revisions = refresh.merge_monthly(bundled, comtrade_api.empty_trade_flows())
    assert len(merged) == len(bundled) and revisions.empty
    assert list(revisions.columns) == refresh.REVISION_COLUMNS


@pytest.mark.filterwarnings("ignore::research.errors.CoverageWarning")
def test_write_updated_data(bundled: pd.DataFrame, tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    full = datasets.load("china_exports_monthly")
    fresh = pull(bundled, tmp_path, Transport())
    with pytest.warns(RevisionWarning):
        merged, _ = refresh.merge_monthly(full, fresh)
    out = tmp_path / "updated"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier pull")
    written = refresh.write_updated_data({"china_exports_monthly": merged}, out)
    assert written == out.resolve() and not (out / "stale.txt").exists()  # replaced whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".updated")]
    manifest = json.loads((out / refresh.MANIFEST).read_text())
    assert manifest["updated_tables"]["china_exports_monthly"]["last_period"] == "2025-01-01"
    monkeypatch.setenv("RESEARCH_DATA_DIR", str(out))
    datasets.load.cache_clear()
    for name in datasets.registry():  # every bundled table is there and passes its schema
        datasets.load(name)
    reread = datasets.load("china_exports_monthly")
    pd.testing.assert_frame_equal(reread, merged)
    assert reread["period"].max() == pd.Timestamp("2025-01-01")
    monkeypatch.delenv("RESEARCH_DATA_DIR")
    datasets.load.cache_clear()
    with pytest.raises(ParameterError, match="bundled data folder"):
        refresh.write_updated_data({}, datasets.get("events").path().parent.parent)


# --- CLI ----------------------------------------------------------------------------------

@pytest.fixture
def cli_env(api_sandbox, monkeypatch: pytest.MonkeyPatch) -> Transport:
    transport = Transport()
    api_sandbox(transport)
    monkeypatch.setenv("COMTRADE_API_KEY", "test-key")
    return transport


PULL = ["data", "pull", "--partner", "JPN", "--partner", "KOR", "--hs", "250410",
        "--hs", "380110", "--start", "2024-12", "--end", "2025-01"]


def test_cli_pull_and_status(cli_env: Transport, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli.app, PULL)
    assert result.exit_code == 0, result.output
    assert len(cli_env.urls) == 1
    assert "new periods: 2025-01" in result.output and "revisions: 2" in result.output
    assert "changed by more than 0.5%" in result.output  # the RevisionWarning
    assert "lack series" in result.output  # the CoverageWarning: only JPN and KOR pulled
    monthly = pd.read_parquet(tmp_path / "updated" / "trade" / "china_exports_monthly.parquet")
    assert monthly["period"].max() == pd.Timestamp("2025-01-01")
    status = runner.invoke(cli.app, ["data", "status"])
    assert status.exit_code == 0, status.output
    assert "comtrade_api" in status.output and "yes" in status.output
    assert "reporterCode=156" in status.output
    # offline: the same pull is served from the cache, a new one fails clearly
    again = runner.invoke(cli.app, [*PULL, "--offline"])
    assert again.exit_code == 0, again.output
    assert len(cli_env.urls) == 1
    missing = runner.invoke(cli.app, ["data", "pull", "--hs", "250410", "--start", "2025-02",
                                      "--end", "2025-02", "--offline"])
    assert missing.exit_code == 1
    assert "offline mode" in missing.output and "not in the cache" in missing.output
    assert len(cli_env.urls) == 1


def test_cli_offline_env_and_empty_cache(cli_env: Transport,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESEARCH_OFFLINE", "1")
    runner = CliRunner()
    result = runner.invoke(cli.app, PULL)
    assert result.exit_code == 1 and "RESEARCH_OFFLINE is set" in result.output
    assert cli_env.urls == []
    status = runner.invoke(cli.app, ["data", "status"])
    assert status.exit_code == 0 and "the cache is empty" in status.output


def test_offline_error_from_the_function(bundled: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(OfflineError):
        pull(bundled, tmp_path, Transport(), offline=True)


@pytest.mark.filterwarnings("ignore::research.errors.CoverageWarning")
@pytest.mark.slow
def test_notebook_runs_unchanged_on_the_updated_data(bundled: pd.DataFrame,
                                                     tmp_path: Path) -> None:
    """The trade overview notebook, extended to 2025-01, on the updated folder."""
    from dataclasses import replace

    from research.report.runner import load_grid, run_one

    full = datasets.load("china_exports_monthly")
    with pytest.warns(RevisionWarning):
        merged, _ = refresh.merge_monthly(full, pull(bundled, tmp_path, Transport()))
    out = refresh.write_updated_data({"china_exports_monthly": merged}, tmp_path / "updated")
    spec = next(s for s in load_grid() if s.name == "trade_overview_graphite")
    spec = replace(spec, parameters={**spec.parameters, "destinations": ["JPN", "KOR"],
                                     "end": "2025-01"})
    manifest = run_one(spec, reports_dir=tmp_path / "reports", data_dir=out)
    assert manifest["status"] == "succeeded", manifest.get("error")
    used = out / "trade" / "china_exports_monthly.parquet"  # the run read the updated table
    assert manifest["inputs"]["trade/china_exports_monthly.parquet"] == sha256_file(used)
