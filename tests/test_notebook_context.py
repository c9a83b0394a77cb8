"""The context reports (defense spending, Japan's exposure) run and show what they claim."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from research.errors import ParameterError
from research.report.parameters import check_parameters
from research.report.runner import RunSpec, run_one

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run(notebook: str, tmp_path: Path, parameters: dict | None = None) -> Path:
    name = notebook.removesuffix(".ipynb")
    manifest = run_one(RunSpec(name=name, notebook=notebook, title=name,
                               parameters=parameters or {}), reports_dir=tmp_path)
    assert manifest["status"] == "succeeded", manifest.get("error")
    return tmp_path / name


def test_defense_notebook_takes_a_gdp_growth_parameter() -> None:
    notebook = NOTEBOOKS / "defense_spending.ipynb"
    check_parameters(notebook, {"gdp_growth": 0.03})
    check_parameters(notebook, {"gdp_growth": 0})  # an integer rate is a valid float
    with pytest.raises(ParameterError, match="gdp_growth"):
        check_parameters(notebook, {"gdp_growth": "3%"})


@pytest.mark.slow
def test_defense_report_shows_numbers_and_the_gdp_assumption(tmp_path: Path) -> None:
    folder = _run("defense_spending.ipynb", tmp_path, {"gdp_growth": 0.03})
    growth = pd.read_csv(folder / "tables" / "real_growth.csv")
    assert pd.api.types.is_float_dtype(growth["growth_pct"])
    japan = growth.set_index(["iso3", "year"])["growth_pct"]
    # SIPRI constant 2023 US$ m: 58,399.280 / 48,189.109 - 1 = +21.19% (see
    # test_indicators_defense.py for the numbers read from the workbook)
    assert japan[("JPN", 2024)] == pytest.approx(21.19, abs=0.005)
    html = (folder / "defense_spending.html").read_text()
    assert "real (constant prices)</td>" not in html
    headline = json.loads((folder / "headline.json").read_text())
    assert "GDP = CY2024 grown 3% a year nominal, assumed" in headline["label"]
    # FY2026: 9.04e12 / (6.1044e14 * 1.03**2) = 9.04e12 / 6.4761e14 = 1.396%
    assert headline["estimate"] == pytest.approx(1.396, abs=0.001)


@pytest.mark.slow
def test_exposure_report_labels_magnets_and_splits_price_and_quantity(tmp_path: Path) -> None:
    folder = _run("japan_exposure.ipynb", tmp_path)
    exposure = pd.read_csv(folder / "tables" / "exposure.csv").set_index("product")
    assert "850511 magnets" in exposure.at["rare_earths", "product_label"]
    assert exposure.at["rare_earths", "mixed_scope_lines"] == "280530;284690;850511"
    headline = json.loads((folder / "headline.json").read_text())
    assert "850511 magnets" in headline["label"]
    split = pd.read_csv(folder / "tables" / "price_quantity_groups.csv").set_index("product")
    # -42.26% value, +13.01% quantity: derived from the raw table in
    # test_indicators_exposure.py
    assert split.at["rare_earths", "value_change_pct"] == pytest.approx(-42.26, abs=0.005)
    assert split.at["rare_earths", "quantity_change_pct"] == pytest.approx(13.01, abs=0.005)
    lines = pd.read_csv(folder / "tables" / "group_lines.csv", dtype={"hs6": str})
    assert {"hs6", "mixed_scope", "magnets", "note"} <= set(lines.columns)
    html = (folder / "japan_exposure.html").read_text()
    assert "driven by unit value" in html and "mixed_scope" in html
