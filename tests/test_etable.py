"""Regression tables (research.report.etable): a golden LaTeX table of two PPML fits
derived by hand and checked against statsmodels, Markdown and HTML structure, stars,
escaping, ban-study, ITS and synthetic-control tables, and save_etable."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import research
from research.errors import ParameterError
from research.estimate.ban_study import BanStudyDesign, BanStudyResult, ProfileFit
from research.estimate.gravity import ppml
from research.estimate.its import ITSResult
from research.estimate.profile import Effect
from research.estimate.result import Headline, Result, tidy_row
from research.estimate.synth import SynthResult
from research.report import outputs
from research.report.etable import escape_markdown, escape_tex, etable

GOLDEN = Path(__file__).parent / "data" / "etable" / "two_ppml.tex"
HOSTILE = "<script>alert('x')</script> log_value 100% & #1 $5 {a}~^\\"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    # 3 groups x 4 rows; x is 0 in the first two rows of each group and 1 in the last two
    return pd.DataFrame({"y": [1, 3, 4, 6, 2, 2, 6, 8, 3, 5, 9, 9], "x": [0, 0, 1, 1] * 3,
                         "g": list("aaaabbbbcccc")})


@pytest.fixture(scope="module")
def two_fits(panel: pd.DataFrame) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 3 clusters: FewClustersWarning, expected
        return [ppml(panel, "y ~ x"), ppml(panel, "y ~ x | g", cluster="g")]


def test_two_ppml_fits_by_hand_and_against_statsmodels(panel, two_fits) -> None:
    pooled, within = two_fits
    # Pooled Poisson on a binary regressor is saturated: exp(Intercept) is the mean of y at
    # x = 0 (16 / 6 = 8/3) and exp(b) the ratio of means (7 / (8/3) = 21/8).
    assert pooled.coef["Intercept"] == pytest.approx(np.log(8 / 3), abs=1e-7)
    assert pooled.coef["x"] == pytest.approx(np.log(21 / 8), abs=1e-7)
    # Its robust variance is the sum over the two cells of sum((y - mean)^2) / total^2,
    # times n / (n - 1): x = 0 cell: 84/9 / 16^2; x = 1 cell: 20 / 42^2.
    var_b = 12 / 11 * (20 / 42**2 + (84 / 9) / 16**2)
    assert pooled.tidy()["std_error"].tolist() == pytest.approx(
        [np.sqrt(12 / 11 * (84 / 9) / 16**2), np.sqrt(var_b)], abs=1e-6)  # 0.199, 0.228
    # With the group effects, x is balanced within every group (two rows each), so the
    # first-order conditions give the pooled ratio again: b = log(42 / 16) = log(21/8).
    assert within.coef["x"] == pytest.approx(np.log(21 / 8), abs=1e-7)
    # statsmodels oracle: GLM with group dummies; cluster SE times G / (G - 1) (ppmlhdfe)
    design = pd.concat([panel[["x"]].astype(float), pd.get_dummies(panel["g"], dtype=float)],
                       axis=1)
    oracle = sm.GLM(panel["y"], design, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["g"])[0],
                                      "use_correction": False}, tol=1e-12)
    assert within.coef["x"] == pytest.approx(oracle.params["x"], abs=1e-7)
    assert within.tidy()["std_error"].iloc[0] == pytest.approx(
        oracle.bse["x"] * np.sqrt(3 / 2), abs=1e-6)  # 0.135
    assert within.pseudo_r2 == pytest.approx(1 - oracle.llf / oracle.llnull, abs=1e-8)
    pooled_oracle = sm.GLM(panel["y"], sm.add_constant(panel[["x"]].astype(float)),
                           family=sm.families.Poisson()).fit(tol=1e-12)
    assert pooled.pseudo_r2 == pytest.approx(1 - pooled_oracle.llf / pooled_oracle.llnull,
                                             abs=1e-8)  # 0.209


def test_latex_matches_golden_file(two_fits) -> None:
    # tests/data/etable/two_ppml.tex was written by hand from the numbers checked above
    # (0.981 (0.199), 0.965 (0.228) and (0.135), pseudo R2 0.209 and 0.274): booktabs
    # rules, names then column numbers, the "_" of the label escaped, minus signs none.
    tex = etable(two_fits, type="tex", labels={"x": "ban_x"},
                 model_names=["Pooled", "Within g"])
    assert tex == GOLDEN.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="no TeX engine (pdflatex) on this machine: the golden-file test "
                           "checks the LaTeX instead")
def test_latex_compiles(two_fits, tmp_path: Path) -> None:
    table = etable(two_fits, type="tex", stars=True, stats="ci",
                   labels={"x": HOSTILE}, model_names=["100% & _", "#2 $"])
    (tmp_path / "table.tex").write_text(table, encoding="utf-8")
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        "\\begin{document}\n\\input{table}\n\\end{document}\n", encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "main.tex"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "main.pdf").stat().st_size > 0


def _markdown_rows(text: str) -> list[list[str]]:
    table = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table]


def test_markdown_structure(two_fits) -> None:
    text = etable(two_fits)
    rows = _markdown_rows(text)
    assert rows[0] == ["", "(1) y", "(2) y"]
    assert rows[1] == ["---|---|---"]  # the separator line has one --- per column
    assert all(len(row) == 3 for row in rows[2:])
    body = {row[0]: row[1:] for row in rows[2:] if row[0]}
    assert body["x"] == ["0.965", "0.965"]
    assert body["Observations"] == ["12", "12"]
    assert body["g"] == ["No", "Yes"]
    assert body["Cluster variable"] == ["none (robust)", "g"]
    assert body["Clusters"] == ["", "3"]
    assert body["Pseudo R²"] == ["0.209", "0.274"]
    assert text.rstrip().endswith("Standard errors in parentheses.")
    assert "log points" in text


def test_stars_off_by_default_and_legend_when_on(two_fits) -> None:
    plain = etable(two_fits)
    assert "*" not in plain and "p <" not in plain
    starred = etable(two_fits, stars=True)
    # p-values of x: 2.4e-5 and 9.5e-13, below 0.01: three stars each, escaped in Markdown
    assert r"0.965\*\*\*" in starred
    assert r"\* p < 0.1, \*\* p < 0.05, \*\*\* p < 0.01" in starred.replace("&lt;", "<")
    assert "0.965$^{***}$" in etable(two_fits, type="tex", stars=True)
    assert "0.965<sup>***</sup>" in etable(two_fits, type="html", stars=True)


def test_intervals_and_percent_scale(two_fits) -> None:
    pooled = two_fits[0]
    row = pooled.tidy().set_index("term").loc["x"]
    text = etable(pooled, stats="ci", notes=False)
    assert f"[{row['conf_low']:.3f}, {row['conf_high']:.3f}]" in text
    assert "95% Confidence intervals" in etable(pooled, stats="ci")
    # exp(log(21/8)) - 1 = 1.625: +162.5%; SE by the delta method 100 * 2.625 * se
    percent = etable(pooled, scale="percent")
    assert "| x | 162.5 |" in percent
    assert f"({100 * 2.625 * row['std_error']:.1f})" in percent
    assert "percent changes" in percent
    low, high = 100 * np.expm1(row["conf_low"]), 100 * np.expm1(row["conf_high"])
    assert f"[{low:.1f}, {high:.1f}]" in etable(pooled, scale="percent", stats="ci")


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.open.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")

    def handle_endtag(self, tag) -> None:
        assert self.open.pop() == tag  # well nested

    def handle_data(self, data) -> None:
        if self.open and self.open[-1] in ("td", "th", "sup"):
            self.rows[-1][-1] += data


def test_html_structure(two_fits) -> None:
    text = etable(two_fits, type="html", model_names=["Pooled", "Within g"])
    parser = _Cells()
    parser.feed(text)
    assert not parser.open
    assert parser.tags[0] == "table" and "script" not in parser.tags
    assert parser.tags.count("thead") == 1 and parser.tags.count("tbody") == 2
    assert parser.rows[0] == ["", "Pooled", "Within g"]
    assert parser.rows[1] == ["", "(1)", "(2)"]
    assert all(len(row) == 3 for row in parser.rows[:-1])  # the footer spans the columns
    assert ["Clusters", "", "3"] in parser.rows


def test_hostile_labels_are_escaped(two_fits) -> None:
    options = {"labels": {"x": HOSTILE, "g": "fe_<b>"}, "model_names": [HOSTILE, "50%_b"]}
    html_text = etable(two_fits, type="html", **options)
    assert "<script>" not in html_text and "&lt;script&gt;" in html_text
    assert "<b>" not in html_text
    md = etable(two_fits, **options)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert r"log\_value" in md and r"fe\_&lt;b&gt;" in md
    tex = etable(two_fits, type="tex", **options)
    assert r"log\_value 100\% \& \#1 \$5 \{a\}\textasciitilde{}\textasciicircum{}" \
           r"\textbackslash{}" in tex
    assert r"\textless{}script\textgreater{}" in tex
    assert r"50\%\_b" in tex
    assert escape_tex("a_b%") == r"a\_b\%"
    assert escape_markdown("a|b*c") == r"a\|b\*c"
    # a pipe in a label stays inside its Markdown cell
    assert all(len(row) == 3 for row in _markdown_rows(etable(two_fits,
                                                               labels={"x": "a|b"}))[2:])


def test_dataframe_and_entry_points(two_fits) -> None:
    frame = etable(two_fits, type="df")
    assert frame.columns.tolist() == ["term", "(1) y", "(2) y"]
    assert frame["term"].tolist()[:4] == ["Intercept", "", "x", ""]
    assert "log points" in frame.attrs["notes"][0]
    assert research.etable is etable
    assert two_fits[0].etable(stars=True) == etable([two_fits[0]], stars=True)


def test_option_checks(two_fits) -> None:
    with pytest.raises(ParameterError, match="'md', 'tex', 'html', 'df'"):
        etable(two_fits, type="latex")
    with pytest.raises(ParameterError, match="stats"):
        etable(two_fits, stats="sd")
    with pytest.raises(ParameterError, match="scale"):
        etable(two_fits, scale="pct")
    with pytest.raises(ParameterError, match="digits"):
        etable(two_fits, digits=-1)
    with pytest.raises(ParameterError, match="at least one"):
        etable([])
    with pytest.raises(ParameterError, match="2 results"):
        etable(two_fits, model_names=["one"])
    with pytest.raises(ParameterError, match="different kinds"):
        etable([two_fits[0], _synth()])
    with pytest.raises(ParameterError, match="cannot make a table"):
        etable([object()])


def test_generic_result_and_big_numbers() -> None:
    row = tidy_row("post", -1234567.891, 2345.6, n_obs=48, method="difference")
    result = Result(method="difference", table=pd.DataFrame([row]))
    text = etable(result, notes=False)
    # from 1,000 on: no decimals, thousands separators; no FE, cluster or R2 rows
    assert text.splitlines()[2:] == ["| post | -1,234,568 |", "|  | (2,346) |",
                                     "| Observations | 48 |"]


# --- ban studies, ITS, synthetic control -----------------------------------------------

def _effect(term: str, periods: tuple[int, ...], estimate: float, std_error: float,
            c: float, p_value: float) -> Effect:
    pct = lambda v: 100 * np.expm1(v)  # noqa: E731
    return Effect(term, term, periods, estimate, std_error, pct(estimate),
                  pct(estimate - c * std_error), pct(estimate + c * std_error), p_value)


def _ban_study(verdict: str = "supported") -> BanStudyResult:
    c = 2.262  # t(9) 97.5% quantile, 10 clusters
    fits = {}
    for outcome, shift in (("value_usd", 0.0), ("quantity", 0.1)):
        profile = (_effect("anticipation", (-2, -1), 0.4 + shift, 0.2, c, 0.08),
                   _effect("impact", (0, 1, 2), -1.3 + shift, 0.2, c, 0.0001),
                   _effect("persistence", tuple(range(3, 12)), 0.0, 0.25, c, 0.9),
                   _effect("cumulative", tuple(range(-2, 12)), -0.2 + shift, 0.2, c, 0.3))
        fits[outcome] = ProfileFit(outcome, pd.Series(dtype=float), pd.DataFrame(), 962, 10,
                                   profile)
    design = BanStudyDesign("B2", "graphite", "lines", pd.DataFrame(),
                            pd.Timestamp("2023-12-01"), pd.Timestamp("2023-10-01"), 2,
                            (-24, 12), ("250410",), notes=("Treated line 250410 against "
                                                           "comparison series.",))
    headline = Headline("impact", "impact", -72.7, verdict=verdict,
                        verdict_reasons=("every valid check holds",))
    return BanStudyResult(method="PPML event study", headline=headline, design=design,
                          fits=fits)


def test_ban_study_table() -> None:
    study = _ban_study()
    rows = _markdown_rows(etable(study))
    assert rows[0] == ["", "(1) value (USD)", "(2) quantity (kg)"]
    body = {row[0]: row[1:] for row in rows[2:] if row[0]}
    assert list(body)[:4] == ["Anticipation, 2 month(s) before effect", "Impact, months 1-3",
                              "Persistence, months 4-12",
                              "Cumulative, anticipation + months 1-12"]
    assert body["Impact, months 1-3"] == ["-1.300", "-1.200"]
    assert body["Observations"] == ["962", "962"]
    for fe in ("destination x month", "destination x series", "series x calendar month"):
        assert body[fe] == ["Yes", "Yes"]
    assert body["Cluster variable"] == ["destination", "destination"]
    assert body["Clusters"] == ["10", "10"]
    assert body["Verdict"] == ["supported", "supported"]
    text = etable(study, scale="percent", stats="ci")
    # impact on value: 100 * (exp(-1.3) - 1) = -72.7, interval exp(-1.3 -/+ 2.262 * 0.2)
    assert "| Impact, months 1-3 | -72.7 |" in text
    assert f"[{100 * np.expm1(-1.3 - 2.262 * 0.2):.1f}, " \
           f"{100 * np.expm1(-1.3 + 2.262 * 0.2):.1f}]" in text
    assert "t(G - 1)" in text and "B2 graphite: Treated line 250410" in text
    assert "Verdict (supported): every valid check holds." in text


def test_ban_studies_side_by_side_and_not_identified() -> None:
    empty = BanStudyResult(method="descriptive", headline=Headline(
        "none", "no estimate", None, verdict="not identified"),
        design=BanStudyDesign("A2", "rare_earths", "annual", pd.DataFrame(),
                              pd.Timestamp("2010-09-01"), pd.Timestamp("2010-09-01"), 0,
                              (0, 0), ()))
    rows = _markdown_rows(etable([_ban_study(), empty]))
    assert rows[0] == ["", "(1) B2 graphite: value (USD)", "(2) B2 graphite: quantity (kg)",
                       r"(3) A2 rare\_earths"]
    body = {row[0]: row[1:] for row in rows[2:] if row[0]}
    assert body["Verdict"] == ["supported", "supported", "not identified"]
    assert body["Observations"] == ["962", "962", ""]


@pytest.mark.slow
def test_b2_graphite_table() -> None:
    from research.estimate.ban_study import ban_study

    study = ban_study("B2", "graphite", sensitivity=False)
    text = etable(study)
    body = {row[0]: row[1:] for row in _markdown_rows(text)[2:] if row[0]}
    impact = study.fits["value_usd"].effect("impact")
    assert body["Impact, months 1-3"][0] == f"{impact.estimate:.3f}"
    assert body["Verdict"][0] == study.verdict


def _its() -> ITSResult:
    index = pd.date_range("2020-01-01", periods=36, freq="MS")
    series = pd.Series(np.full(36, 1000.0), index=index, name="graphite exports")
    rows = [tidy_row("step", -0.5, 0.1, 36, "its")]
    shortfall = {"estimate": -6_000_000.4, "conf_low": -8_000_000.0, "conf_high": -4_000_000.0,
                 "p_value": 0.002, "actual_total": 6_000_000.0,
                 "counterfactual_total": 12_000_000.4, "pct": -50.0, "pct_low": -62.5,
                 "pct_high": -33.3, "months": 12}
    return ITSResult(method="interrupted time series, SARIMAX", table=pd.DataFrame(rows),
                     series=series, shortfall=shortfall,
                     counterfactual=pd.DataFrame(), intervention=index[24], unit="USD")


def test_its_table() -> None:
    rows = _markdown_rows(etable(_its()))
    assert rows[0] == ["", "(1) graphite exports"]
    body = dict((row[0], row[1]) for row in rows[2:] if row[0])
    assert body["Step (level shift)"] == "-0.500"
    assert body["Shortfall (actual - counterfactual)"] == "-6,000,000 USD"
    assert body["Shortfall, % of counterfactual"] == "-50.0"
    assert ["", "[-62.5, -33.3]"] in rows
    assert body["p-value (shortfall)"] == "0.002"
    tiny = _its()
    tiny.shortfall["p_value"] = 1e-7
    assert "| p-value (shortfall) | &lt; 0.001 |" in etable(tiny)
    assert body["Intervention"] == "2022-01"
    assert body["Post-period months"] == "12"
    assert body["Observations"] == "36"


def _synth() -> SynthResult:
    placebos = pd.DataFrame({"ratio": [5.0, 1.0, 2.0, 0.5]}, index=["JPN", "KOR", "USA", "DEU"])
    return SynthResult(method="synthetic control", table=pd.DataFrame(),
                       weights=pd.Series({"KOR": 0.6, "USA": 0.4, "DEU": 0.0}),
                       placebos=placebos, treated_unit="JPN",
                       intervention=pd.Timestamp("2010-09-01"), pre_rmspe=0.1, post_rmspe=0.5,
                       average_post_gap_pct=-41.26, p_value=0.25, outcome="imports")


def test_synth_table() -> None:
    rows = _markdown_rows(etable(_synth()))
    assert rows[0] == ["", "(1) JPN, imports"]
    body = dict((row[0], row[1]) for row in rows[2:])
    assert body["Average post-period gap, %"] == "-41.3"
    assert body["Permutation p-value"] == "0.250"
    assert body["Placebo units"] == "3"
    assert body["RMSPE ratio (post / pre)"] == "5.000"
    assert body["Weight: KOR"] == "0.600" and body["Weight: USA"] == "0.400"
    assert "Weight: DEU" not in body  # a zero weight is left out
    assert body["Outcome scale"] == "indexed, pre-period mean = 1"
    assert "placebos in space" in etable(_synth())


def test_save_etable_writes_tex_and_md(two_fits, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(outputs.RUN_DIR_VARIABLE, str(tmp_path))
    markdown = outputs.save_etable(two_fits, "ppml_fits", stars=True)
    assert (tmp_path / "tables" / "ppml_fits.md").read_text(encoding="utf-8") == markdown
    tex = (tmp_path / "tables" / "ppml_fits.tex").read_text(encoding="utf-8")
    assert tex == etable(two_fits, type="tex", stars=True)
    with pytest.raises(ParameterError, match="one file name"):
        outputs.save_etable(two_fits, "../escape")
    monkeypatch.delenv(outputs.RUN_DIR_VARIABLE)
    assert outputs.save_etable(two_fits, "ignored") == etable(two_fits)
