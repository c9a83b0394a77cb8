"""``research update``: pull, merge, rerun changed reports, summarize; offline from the cache.

The API answers are built on a real recorded Comtrade record (the first record of
``fixtures/comtrade_api/data_v1_get_C_A_HS-60a6ad.json``, China 2010), with the period,
flow, partner, HS code and values changed for each line asked. No network is used:
the transport is a fake, and the last update runs with a transport that cannot connect,
so it must fall back to the cache.
"""

from __future__ import annotations

import json
import math
import tomllib
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from research import cli, config
from research.countries import from_comtrade_code
from research.errors import FetchError
from research.http import Request, Response
from research.report.regenerate import regenerate
from research.report.runner import load_grid
from research.sources import comtrade_api
from research.update import headline_changes

RUNS = ("ban_impact_B2_graphite", "defense_spending")
MONTHS = ("2024-10", "2025-01")  # two months inside the B2 window (to 2024-12), one new


def recorded_template(fixtures_dir: Path) -> dict:
    path = fixtures_dir / "comtrade_api" / "data_v1_get_C_A_HS-60a6ad.json"
    return json.loads(path.read_text(encoding="utf-8"))["data"][0]


class FakeComtrade:
    """Answers every (month, HS6, partner) asked with a record in the recorded shape."""

    def __init__(self, template: dict) -> None:
        self.template, self.urls = template, []

    def __call__(self, request: Request) -> Response:
        self.urls.append(request.url)
        asked = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
        rows = []
        for period in asked["period"][0].split(","):
            for code in asked["cmdCode"][0].split(","):
                for partner in asked["partnerCode"][0].split(","):
                    value = 1e5 * (1 + int(code) % 97) * (1 + int(partner) % 7)
                    rows.append({**self.template, "freqCode": "M", "period": period,
                                 "refYear": int(period[:4]), "refMonth": int(period[4:]),
                                 "flowCode": "X", "flowDesc": "Export",
                                 "partnerCode": int(partner),
                                 "partnerISO": from_comtrade_code(int(partner)),
                                 "cmdCode": code, "qtyUnitAbbr": "kg", "netWgt": value / 20,
                                 "primaryValue": value, "fobvalue": value, "cifvalue": None})
        body = {"elapsedTime": "0.1 secs", "count": len(rows), "data": rows, "error": ""}
        return Response(200, {}, json.dumps(body).encode())


def no_network(request: Request) -> Response:
    raise FetchError(request.url, "cannot connect: [Errno -3] Temporary failure in name resolution")


def test_headline_changes_is_after_minus_before() -> None:
    changes = headline_changes({"a": {"estimate": -43.0, "label": "x"}, "b": {"estimate": 1.0}},
                               {"a": {"estimate": -40.5, "label": "x"}})
    row = changes.set_index("name")
    assert row.loc["a", "change"] == pytest.approx(2.5)  # -40.5 - (-43.0)
    assert math.isnan(row.loc["b", "change"])  # b was not rerun: no new estimate


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    """Two runs of the default grid: one reads the monthly trade table, one does not."""
    document = tomllib.loads((config.REPO_ROOT / "reports.toml").read_text(encoding="utf-8"))
    chosen = [run for run in document["run"] if run["name"] in RUNS]
    assert [run["name"] for run in chosen] == list(RUNS)
    lines = []
    for run in chosen:
        lines += ["[[run]]", f"name = {json.dumps(run['name'])}",
                  f"notebook = {json.dumps(run['notebook'])}",
                  f"title = {json.dumps(run.get('title', run['name']))}",
                  "[run.parameters]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in run["parameters"].items()]
    path = tmp_path / "grid.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_update_offline_from_recorded_responses(grid: Path, tmp_path: Path, fixtures_dir: Path,
                                                api_sandbox,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    reports = tmp_path / "reports"
    transport = FakeComtrade(recorded_template(fixtures_dir))
    api_sandbox(transport)
    monkeypatch.setenv("COMTRADE_API_KEY", "test-key")
    runner = CliRunner()
    window = ["--start", MONTHS[0], "--end", MONTHS[1], "--grid", str(grid), "--out",
              str(reports), "--jobs", "1"]

    # nothing cached yet: offline fails clearly, before any report runs
    empty = runner.invoke(cli.app, ["update", "--offline", *window])
    assert empty.exit_code == 1
    assert "not in the cache" in empty.output and transport.urls == []

    # the reports as `make report` leaves them, on the bundled data
    _, first = regenerate(load_grid(grid), reports)
    assert [m["status"] for m in first] == ["succeeded", "succeeded"]
    before = json.loads((reports / RUNS[0] / "headline.json").read_text(encoding="utf-8"))

    # record the API answers into the cache (online, fake transport); into another folder,
    # as a pull into the updated folder would be merged onto by the update (no revisions)
    pulled = runner.invoke(cli.app, ["data", "pull", "--start", MONTHS[0], "--end", MONTHS[1],
                                     "--out", str(tmp_path / "pulled")])
    assert pulled.exit_code == 0, pulled.output
    assert transport.urls and all(u.startswith(f"{comtrade_api.BASE_URL}/data/v1/get/C/M/HS?")
                                  for u in transport.urls)
    asked = len(transport.urls)

    # no network: update falls back to the cache, merges, reruns only the trade run
    api_sandbox(no_network)
    result = runner.invoke(cli.app, ["update", *window])
    assert result.exit_code == 0, result.output
    assert "falling back to the cache" in result.output
    assert len(transport.urls) == asked
    summary = json.loads((reports / "update.json").read_text(encoding="utf-8"))
    assert summary["source"] == "cache"
    assert summary["added_periods"] == ["2025-01"]
    assert summary["revisions"] > 0  # the answers for 2024-10..12 differ from the bundled data
    runs = {run["name"]: run for run in summary["runs"]}
    assert runs[RUNS[0]]["rerun"] and runs[RUNS[0]]["reasons"] == [
        "input changed: trade/china_exports_monthly.parquet"]
    assert not runs[RUNS[1]]["rerun"]
    assert summary["failed"] == []
    monthly = pd.read_parquet(tmp_path / "updated" / "trade" / "china_exports_monthly.parquet")
    assert monthly["period"].max() == pd.Timestamp("2025-01-01")
    assert not monthly.duplicated(["partner_iso3", "product", "period"]).any()
    # the headline moved, and the summary reports after - before
    after = json.loads((reports / RUNS[0] / "headline.json").read_text(encoding="utf-8"))
    [change] = summary["headline_changes"]
    assert change["before"] == pytest.approx(before["estimate"])
    assert change["after"] == pytest.approx(after["estimate"])
    assert change["change"] == pytest.approx(after["estimate"] - before["estimate"])
    assert change["change"] != 0  # revised months inside the window moved the estimate
    markdown = (reports / "UPDATE.md").read_text(encoding="utf-8")
    assert "new periods: 2025-01" in markdown and RUNS[0] in markdown

    # a second update with nothing new reruns nothing
    again = runner.invoke(cli.app, ["update", "--offline", *window])
    assert again.exit_code == 0, again.output
    assert not any(run["rerun"] for run in
                   json.loads((reports / "update.json").read_text(encoding="utf-8"))["runs"])


def test_ci_workflow_example_runs_the_update() -> None:
    """The workflow the README points to is valid YAML and calls the README's commands."""
    import yaml

    path = config.REPO_ROOT / "examples" / "ci" / "update-reports.yml"
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["update"]["steps"]
    commands = [step.get("run") for step in steps if "run" in step]
    assert commands == ["make test", "make report", ".venv/bin/research update"]
    # YAML reads the key `on` as True; the schedule is monthly
    assert workflow[True]["schedule"] == [{"cron": "0 6 1 * *"}]
    readme = (config.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "examples/ci/update-reports.yml" in readme and "research update" in readme
    # the publish job puts the update job's reports/ (index plus pages) on GitHub Pages
    publish = workflow["jobs"]["publish"]
    assert publish["needs"] == "update"
    uses = [step.get("uses", "") for step in publish["steps"]]
    assert uses[0].startswith("actions/download-artifact")
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert uses[-1].startswith("actions/deploy-pages")
    assert publish["steps"][1]["with"]["path"] == "reports/"


# The documented pull of issue 3 (README "The bundled data"): China -> JPN, KOR, USA, DEU,
# VNM (and the world total, which the overview notebook's shares need), the rare-earth,
# magnet and graphite baskets, 2025-2026.
PULL = ["data", "pull", "--partner", "JPN", "--partner", "KOR", "--partner", "USA",
        "--partner", "DEU", "--partner", "VNM", "--partner", "WLD", "--basket", "rare_earths",
        "--basket", "magnets", "--basket", "graphite", "--start", "2025-01", "--end", "2026-12"]


@pytest.mark.slow
def test_documented_pull_offline_feeds_the_notebooks(tmp_path: Path, fixtures_dir: Path,
                                                      api_sandbox,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from research.report.runner import run_one

    transport = FakeComtrade(recorded_template(fixtures_dir))
    api_sandbox(transport)
    monkeypatch.delenv("COMTRADE_API_KEY", raising=False)  # the public preview endpoint
    runner = CliRunner()
    recorded = runner.invoke(cli.app, PULL)  # records the answers into the cache
    assert recorded.exit_code == 0, recorded.output
    assert all("/public/v1/preview/C/M/HS?" in url for url in transport.urls)
    # offline, with no network at all: the same documented command, from the cache
    api_sandbox(no_network)
    result = runner.invoke(cli.app, [*PULL, "--offline"])
    assert result.exit_code == 0, result.output
    monthly = pd.read_parquet(tmp_path / "updated" / "trade" / "china_exports_monthly.parquet")
    new = monthly[monthly["period"] >= "2025-01-01"]
    assert new["period"].nunique() == 24  # 2025-01 .. 2026-12
    assert set(new["partner_iso3"]) == {"JPN", "KOR", "USA", "DEU", "VNM", "WLD"}
    assert {"850511", "280530", "284610", "284690", "250410", "380110", "rare_earths",
            "graphite"} <= set(new["product"])  # magnet line 850511 added as a new series
    assert not monthly.duplicated(["partner_iso3", "product", "period", "freq"]).any()
    # a group is the sum of its lines: rare_earths = 280530 + 284690 + 850511 (GROUP_CODES);
    # FakeComtrade answers value = 1e5 * (1 + code % 97) * (1 + partner code % 7), JPN = 392
    jpn = new[(new["partner_iso3"] == "JPN") & (new["period"] == "2026-01-01")].set_index(
        "product")["value_usd"]
    expected = sum(1e5 * (1 + int(code) % 97) * (1 + 392 % 7)
                   for code in ("280530", "284690", "850511"))
    assert jpn["rare_earths"] == pytest.approx(expected)
    # the same notebooks run on it: the rare-earth overview follows the new months
    spec = next(s for s in load_grid() if s.name == "trade_overview_rare_earths")
    spec = replace(spec, parameters={**spec.parameters,
                                     "destinations": ["JPN", "KOR", "USA", "DEU", "VNM"]})
    manifest = run_one(spec, reports_dir=tmp_path / "reports", data_dir=tmp_path / "updated")
    assert manifest["status"] == "succeeded", manifest.get("error")
    headline = json.loads((tmp_path / "reports" / spec.name / "headline.json").read_text())
    assert "12 months to 2026-12" in headline["label"]
