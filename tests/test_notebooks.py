"""Every notebook of the default report set runs through papermill on the bundled data."""

import json

import pandas as pd
import pytest

from research.report.runner import RunSpec, load_grid, run_all, run_one


def _run_defaults(notebook: str, tmp_path) -> tuple[dict, object]:
    """Run a notebook with its own default parameters; return its manifest and folder."""
    name = notebook.removesuffix(".ipynb")
    manifest = run_one(RunSpec(name=name, notebook=notebook, title=name), reports_dir=tmp_path)
    assert manifest["status"] == "succeeded", manifest.get("error")
    return manifest, tmp_path / name


@pytest.mark.slow
def test_gravity_notebook_reproduces_yotov(tmp_path):
    manifest, folder = _run_defaults("gravity.ipynb", tmp_path)
    headline = json.loads((folder / "headline.json").read_text())
    # Yotov et al. (2016), ch. 2 app. 2: RTA 0.557 (SE 0.102), N = 28,482
    assert round(headline["coefficient"], 3) == 0.557
    assert headline["n_obs"] == 28482
    assert headline["std_error"] == pytest.approx(0.102, abs=0.003)
    table = pd.read_csv(folder / "tables" / "published_vs_ours.csv")
    assert table["source"].str.contains("published").sum() == 1 and len(table) == 2
    assert (folder / "figures" / "rta_published_vs_ours.png").exists()


@pytest.mark.slow
def test_scenario_notebook_is_labelled_scenario(tmp_path):
    manifest, folder = _run_defaults("scenario.ipynb", tmp_path)
    headline = json.loads((folder / "headline.json").read_text())
    assert headline["label"].startswith("SCENARIO (not an estimate)")
    assert headline["method"].startswith("scenario: B2 profile applied to")
    assert headline["conf_low"] <= headline["estimate"] <= headline["conf_high"]
    for figure in ("scenario_fan", "scenario_profile", "scenario_by_episode"):
        assert (folder / "figures" / f"{figure}.png").exists()
    monthly = pd.read_csv(folder / "tables" / "scenario_monthly.csv")
    assert not any("estimate" in c for c in monthly.columns)
    assert (monthly["event_time"] >= 0).sum() == 12  # horizon = 12 months
    episodes = pd.read_csv(folder / "tables" / "scenario_by_episode.csv")
    assert {"A2", "B1", "B2"} <= set(episodes["episode"])
    html = (folder / "scenario.html").read_text()
    assert "SCENARIO" in html and "This is a scenario, not an estimate" in html


@pytest.mark.slow
def test_ban_impact_notebook_verdict_profile_and_other_methods(tmp_path):
    manifest, folder = _run_defaults("ban_impact.ipynb", tmp_path)
    for figure in ("flows", "profile"):
        assert (folder / "figures" / f"{figure}.png").exists(), figure
    for table in ("profile", "event_time", "checks", "sensitivity", "lines",
                  "method_comparison", "leave_one_out", "placebo"):
        assert (folder / "tables" / f"{table}.csv").exists(), table
    profile = pd.read_csv(folder / "tables" / "profile.csv")
    # the default (B2) profile on value and on quantity, four aggregates each
    assert sorted(set(profile["outcome"])) == ["quantity", "unit_value", "value_usd"]
    assert profile.groupby("outcome")["term"].apply(list).iloc[0] == \
        ["anticipation", "impact", "persistence", "cumulative"]
    comparison = pd.read_csv(folder / "tables" / "method_comparison.csv")
    assert comparison["method"].tolist()[:2] == ["event study (impact)",
                                                 "event study (cumulative)"]
    assert {"interrupted time series", "synthetic control"} <= set(comparison["method"])
    headline = json.loads((folder / "headline.json").read_text())
    assert headline["conf_low"] <= headline["estimate"] <= headline["conf_high"]
    assert headline["verdict"] in ("supported", "fragile") and headline["verdict_reasons"]
    html = (folder / f"{folder.name}.html").read_text()
    assert "Key findings" in html and "Why this verdict" in html


@pytest.mark.slow
def test_default_report_set_runs(tmp_path):
    specs = load_grid()
    manifests = run_all(specs, reports_dir=tmp_path, jobs=2)
    failed = {m["name"]: (m.get("error") or {}).get("evalue") for m in manifests
              if m["status"] != "succeeded"}
    assert not failed, failed
    index = (tmp_path / "index.html").read_text()
    for spec in specs:
        folder = tmp_path / spec.name
        assert f'href="{spec.name}/{spec.name}.html"' in index
        html = (folder / f"{spec.name}.html").read_text()
        assert "<img" in html or "image/png" in html  # figures are embedded
        assert any((folder / "figures").glob("*.png"))
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["parameters"] == spec.parameters
        assert all(len(h) == 64 for h in manifest["inputs"].values())
    verdicts = {}
    for name in ("ban_impact_B2_graphite", "ban_impact_B1_gallium", "ban_impact_A2_rare_earths"):
        folder = tmp_path / name
        assert (folder / "tables" / "checks.csv").exists()
        assert (folder / "tables" / "method_comparison.csv").exists()
        headline = json.loads((folder / "headline.json").read_text())
        verdicts[name] = headline["verdict"]
        if headline["estimate"] is not None:
            assert headline["conf_low"] <= headline["estimate"] <= headline["conf_high"]
        assert f"verdict: {headline['verdict']}" in index
    # B1's only destination-level line mixes Ga/Ge with other metals; A2 has no untreated
    # pre-period (annual data start in 2010, the year of the halt)
    assert verdicts["ban_impact_B1_gallium"] == "not identified"
    assert verdicts["ban_impact_A2_rare_earths"] == "not identified"
    assert verdicts["ban_impact_B2_graphite"] in ("supported", "fragile")
    scenarios = [s.name for s in specs if s.notebook == "scenario.ipynb"]
    assert scenarios
    for name in scenarios:
        headline = json.loads((tmp_path / name / "headline.json").read_text())
        assert headline["label"].startswith("SCENARIO")
        assert (tmp_path / name / "figures" / "scenario_fan.png").exists()
    gravity = json.loads((tmp_path / "gravity_yotov_rta" / "headline.json").read_text())
    assert round(gravity["coefficient"], 3) == 0.557
