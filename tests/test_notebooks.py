"""Every notebook of the default report set runs through papermill on the bundled data."""

import json

import pytest

from research.report.runner import load_grid, run_all


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
    for name in ("ban_impact_B2_graphite", "ban_impact_B1_gallium", "ban_impact_A2_rare_earths"):
        folder = tmp_path / name
        assert (folder / "figures" / "event_study.png").exists()
        assert (folder / "tables" / "event_time.csv").exists()
        headline = json.loads((folder / "headline.json").read_text())
        assert headline["conf_low"] <= headline["estimate"] <= headline["conf_high"]
