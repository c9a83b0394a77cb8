"""``research report run NOTEBOOK -p NAME VALUE``: one ad-hoc run, as papermill takes it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from research.cli import adhoc_spec, app, parameter_value
from research.errors import ResearchError


@pytest.mark.parametrize(("text", "value"), [
    ("B2", "B2"), ("-18", -18), ("0.5", 0.5), ("True", True), ("false", False),
    ("None", None), ("['JPN', 'KOR']", ["JPN", "KOR"]), ('["JPN"]', ["JPN"]),
    ("2023-12", "2023-12"), ("auto", "auto")])
def test_values_are_read_as_papermill_reads_them(text, value):
    assert parameter_value(text) == value


def test_adhoc_spec_names_runs_by_their_parameters():
    one = adhoc_spec("ban_impact", [("event_id", "B2"), ("window_pre", "-18")])
    same = adhoc_spec("notebooks/ban_impact.ipynb", [("window_pre", "-18"),
                                                     ("event_id", "B2")])
    other = adhoc_spec("ban_impact", [("event_id", "B1")])
    assert one.notebook == "ban_impact.ipynb" and same.notebook == "ban_impact.ipynb"
    assert one.parameters == {"event_id": "B2", "window_pre": -18}
    assert one.name == same.name != other.name and one.name.startswith("ban_impact-")
    assert adhoc_spec("ban_impact", [], name="mine").name == "mine"
    with pytest.raises(ResearchError, match="given twice"):
        adhoc_spec("ban_impact", [("event_id", "B2"), ("event_id", "B1")])


def test_a_misspelled_parameter_is_a_named_error_before_any_run(tmp_path):
    result = CliRunner().invoke(app, ["report", "run", "ban_impact", "-p", "evnt_id", "B2",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "unknown parameter 'evnt_id' (did you mean 'event_id'?)" in result.output
    assert not (tmp_path / "out" / "ban_impact").exists()


def test_parameters_need_a_notebook(tmp_path):
    result = CliRunner().invoke(app, ["report", "run", "-p", "event_id", "B2",
                                      "--out", str(tmp_path)])
    assert result.exit_code != 0


@pytest.mark.slow
def test_one_adhoc_run_writes_its_report(tmp_path):
    # A2 is reported descriptively (no untreated pre-period), the quickest ban report.
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", "run", "ban_impact", "-p", "event_id", "A2",
                                      "-p", "basket", "rare_earths", "-p", "outcome",
                                      "quantity", "--name", "a2_adhoc", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "a2_adhoc" / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert manifest["parameters"] == {"event_id": "A2", "basket": "rare_earths",
                                      "outcome": "quantity"}
    headline = json.loads((out / "a2_adhoc" / "headline.json").read_text())
    assert headline["verdict"] == "not identified"
    assert 'href="a2_adhoc/a2_adhoc.html"' in (out / "index.html").read_text()
