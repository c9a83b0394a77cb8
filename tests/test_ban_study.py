"""Ban studies: like-for-like designs, the event-time profile, the verdict rule."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from research.estimate import ban_study as study
from research.estimate.profile import aggregate, event_profile, months_to_recovery
from research.estimate.result import Headline
from research.report.findings import key_findings


@pytest.fixture(scope="module")
def b2():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return study.ban_study("B2", "graphite", sensitivity=False)


# --- the design --------------------------------------------------------------------------

def test_b2_design_follows_the_documented_rule(b2):
    design = b2.design
    # B2 was announced 2023-10-20 and took effect 2023-12-01 (registry; TIMELINE_NOTES):
    # October and November are the anticipation window.
    assert design.kind == "lines"
    assert design.anticipation == 2
    assert design.treated == ("250410",)
    # 380110 is in B2's own basket and only partly controlled; 811292 and the Ga/Ge group
    # are touched by B1 (licensing, effective 2023-08-01, inside 2021-12..2024-12); the
    # graphite group holds the treated line. Rare earths and polysilicon are untouched.
    assert dict(design.partly_treated).keys() == {"380110"}
    excluded = dict(design.excluded)
    assert excluded["811292"].startswith("touched by B1")
    assert excluded["gallium_germanium"].startswith("touched by B1")
    assert "graphite" in excluded
    assert design.comparisons == ("polysilicon", "rare_earths")
    # only destinations that carry both the treated line and a comparison series
    panel = design.panel
    both = panel.groupby("partner_iso3")["treated"].agg(["min", "max"])
    assert (both["min"] == False).all() and (both["max"] == True).all()  # noqa: E712
    assert design.window == (-24, 12)  # 2021-12 .. 2024-12, both honoured


def test_absent_months_are_filled_as_zeros():
    # A destination-series pair reported in two of three months gets the third as a zero;
    # a pair never reported is not created.
    rows = pd.DataFrame({"partner_iso3": ["JPN", "JPN", "KOR"], "series": ["a", "a", "b"],
                         "period": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"]),
                         "value_usd": [5.0, 7.0, 1.0], "quantity": [1.0, 2.0, np.nan]})
    filled = study._fill_zeros(rows, pd.date_range("2024-01-01", "2024-03-01", freq="MS"))
    jpn = filled[filled["partner_iso3"] == "JPN"].set_index("period")["value_usd"]
    assert jpn.tolist() == [5.0, 0.0, 7.0]
    assert len(filled) == 6  # (JPN, a) and (KOR, b), 3 months each; no (JPN, b)
    kor = filled[filled["partner_iso3"] == "KOR"].set_index("period")
    assert np.isnan(kor.loc["2024-02-01", "quantity"])  # a reported missing stays missing
    assert kor.loc["2024-01-01", "quantity"] == 0.0


def test_a_single_line_basket_is_estimated_on_its_line(tmp_path, monkeypatch):
    # The README walkthrough's basket natural_graphite is 250410 only: it must never be
    # replaced by the graphite product group (250410 + 380110).
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / "graphite.yaml").write_text(
        "baskets:\n  - name: natural_graphite\n    product_group: graphite\n"
        "    note: Natural graphite only.\n    lines:\n      - \"250410\"\n"
        "events:\n  - event_id: U_GRAPHITE_ANN\n    announced: 2023-10-20\n"
        "    event_type: licensing\n    targets: [ALL]\n    basket: [natural_graphite]\n"
        "    authority: MOFCOM\n    measure: Graphite licensing at its announcement.\n"
        "    source_urls:\n      - https://example.org/b2\n", encoding="utf-8")
    monkeypatch.setenv("RESEARCH_USER_DIR", str(folder))
    design = study.ban_study_design("U_GRAPHITE_ANN", "natural_graphite")
    assert design.treated == ("250410",)
    assert set(design.panel.loc[design.panel["treated"], "series"]) == {"250410"}
    assert "graphite" not in design.comparisons and "380110" not in design.comparisons
    assert design.anticipation == 0  # no effective date: it bites at its announcement


# --- the raw episode -----------------------------------------------------------------------

def test_b2_profile_shows_front_loading_and_collapse(b2, raw_dir):
    # Derivation from the raw Comtrade file (deep_dive_hs6_monthly.csv, HS 250410 summed
    # over its 39 destinations, kg): Sep 12.20 kt, Oct 11.78 kt, Nov 40.52 kt, Dec 2.73 kt,
    # Jan 4.18 kt, Feb 5.06 kt, Mar 10.30 kt. November is 40.52 / 12.0 = 3.4 times the
    # Sep-Oct level (front-loading before licensing bites on 1 December); December is
    # 2.73 / 12.0 - 1 = -77% and the Dec-Feb mean (4.0 kt) is -67%; by March the line is
    # back near its pre-announcement level.
    raw = pd.read_csv(raw_dir / "trade" / "china_critical_minerals_comtrade_monthly"
                      / "deep_dive_hs6_monthly.csv", dtype={"hs6": str})
    kt = raw[raw["hs6"] == "250410"].groupby("period_dt")["qty"].sum() / 1e6
    assert kt["2023-11-01"] / kt[["2023-09-01", "2023-10-01"]].mean() > 3
    assert kt["2023-12-01"] / kt[["2023-09-01", "2023-10-01"]].mean() - 1 < -0.7
    for outcome in ("quantity", "value_usd"):
        table = b2.fits[outcome].event_time().set_index("event_time")
        # month by month (jackknife intervals with 10 destinations are wide for a single
        # month, so the intervals are asserted on the three-month impact below)
        assert table.loc[-1, "pct"] > 50  # November: front-loading
        assert table.loc[0, "pct"] < -70  # December
        assert table.loc[1, "pct"] < -50  # January
        impact = b2.fits[outcome].effect("impact")
        assert impact.pct < -50 and impact.pct_high < 0
    # the shock is short: flows are back within 10% for three months by spring 2024
    assert b2.headline.months_to_recovery is not None
    assert b2.headline.months_to_recovery <= 6


def test_b2_headline_carries_profile_and_verdict(b2):
    h = b2.headline
    assert h.term == "impact" and h.verdict in ("supported", "fragile")
    assert h.verdict_reasons
    terms = [e["term"] for e in h.profile]
    assert terms == ["anticipation", "impact", "persistence", "cumulative"]
    record = h.record()
    json.dumps(record)  # JSON-ready
    assert record["verdict"] == h.verdict and record["n_placebo"] == 3
    # 3 assignments (the treated line and 2 comparison series): 1/3 > 0.05
    ri = next(c for c in b2.checks if c.name == "randomization inference")
    assert ri.status == "uninformative" and "1/3" in ri.detail


# --- what the data cannot identify ----------------------------------------------------------

def test_a2_is_not_identified_and_gives_no_number():
    result = study.ban_study("A2", "rare_earths", outcome="quantity")
    assert result.verdict == "not identified"
    assert result.headline.estimate is None
    assert "no untreated pre-period" in result.headline.verdict_reasons[0]
    # descriptive: Japan's quantities by year (284690 and 280530, kg)
    assert len(result.descriptive) and result.descriptive["period"].dt.year.min() == 2010


def test_b1_mixed_line_is_not_identified_with_hs6_data():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = study.ban_study("B1", "gallium", sensitivity=False)
    assert result.verdict == "not identified"
    reason = result.headline.verdict_reasons[0]
    assert reason.startswith("not identified with HS6 data") and "811292" in reason
    assert "8-digit" in reason and "research data pull comtrade --basket gallium" in reason


def test_c6_has_no_post_period_and_says_how_to_get_one():
    result = study.ban_study("C6", "rare_earths")
    assert result.verdict == "not identified"
    assert any("no post-period" in r for r in result.headline.verdict_reasons)


# --- the profile and the verdict rule --------------------------------------------------------

def test_profile_aggregates_by_hand():
    # coefficients -0.1 (k=-1), -1, -0.5, 0 (k=0..2), -0.2 for k=3..11; diagonal variance
    # 0.04. Impact = mean(-1, -0.5, 0) = -0.5, se = sqrt(3 * 0.04) / 3 = 0.11547;
    # cumulative over k=-1..11 (13 months) = (-0.1 - 1.5 - 9 * 0.2) / 13 = -0.261538.
    ks = list(range(-1, 12))
    coef = pd.Series([-0.1, -1.0, -0.5, 0.0] + [-0.2] * 9, index=ks)
    vcov = pd.DataFrame(np.eye(13) * 0.04, index=ks, columns=ks)
    profile = {e.term: e for e in event_profile(coef, vcov, anticipation=1)}
    assert profile["impact"].estimate == pytest.approx(-0.5)
    assert profile["impact"].std_error == pytest.approx(np.sqrt(0.12) / 3)
    assert profile["impact"].pct == pytest.approx(100 * (np.exp(-0.5) - 1))
    assert profile["cumulative"].estimate == pytest.approx(-3.4 / 13)
    assert profile["persistence"].periods == tuple(range(3, 12))
    # t(9) reference with 10 clusters: 2.262 instead of 1.960
    clustered = aggregate(coef, vcov, [0, 1, 2], "impact", "x", n_clusters=10)
    assert 100 * (np.exp(-0.5 - 2.2622 * np.sqrt(0.12) / 3) - 1) == \
        pytest.approx(clustered.pct_low, abs=0.01)
    # recovery: -0.2 (= -18%) never lies within 10%, so no recovery in the window
    assert months_to_recovery(coef) is None


def test_verdict_rule():
    ok = study.Check("value against quantity", "pass", "same sign")
    pre_bad = study.Check("pre-trend", "pass", "x", p_value=0.001)
    # preconditions first
    assert study.verdict(["no post-period"], [ok], None, None)[0] == "not identified"
    # the Rambachan-Roth breakdown value decides, whatever the (low-power) pre-test says:
    # below 1 is fragile, rejected or not; a rejection with M >= 1 is only a caution
    assert study.verdict([], [pre_bad, ok], 0.5, None)[0] == "fragile"
    assert study.verdict([], [pre_bad, ok], 2.0, None)[0] == "supported"
    quiet = study.Check("pre-trend", "pass", "x", p_value=0.4)
    assert study.verdict([], [quiet, ok], 0.9, None)[0] == "fragile"
    assert "little power" in study.verdict([], [quiet, ok], 0.9, None)[1][0]
    # Bonferroni: with two informative p-value checks, p = 0.03 passes (level 0.025)
    ri = study.Check("randomization inference", "pass", "x", p_value=0.01)
    pre = study.Check("pre-trend", "pass", "x", p_value=0.03)
    assert study.verdict([], [pre, ri], 1.5, None)[0] == "supported"
    assert study.verdict([], [study.Check("leave one destination out", "fail", "flip")],
                         None, None)[0] == "fragile"


def test_key_findings_escape_data_text():
    h = Headline(term="impact", label="<script>alert(1)</script>", estimate=-10.0,
                 conf_low=-20.0, conf_high=0.5, verdict="fragile",
                 verdict_reasons=("<img src=x onerror=alert(1)>",))
    box = key_findings(h, limits=["[link](javascript:alert(1))"])
    assert "<script>" not in box and "<img" not in box and "](javascript" not in box
    assert "**Fragile.**" in box and "**-10.0%** [-20.0, 0.5]" in box


# --- the engine against the oracle, and the one-target design ---------------------------

def _small_design(seed: int = 3) -> study.BanStudyDesign:
    """6 destinations x 3 series x 26 months (k = -14..11), anticipation 1; the treated
    series falls by half from month 0 (exp(-0.69) - 1 = -50%). The 13 pre-period months
    cover every calendar month, so series x calendar-month effects are identified."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2023-04-01", periods=26, freq="MS")
    rows = []
    for d, dest in enumerate(["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"]):
        for s, series in enumerate(["t", "c1", "c2"]):
            for i, period in enumerate(periods):
                k = i - 14
                mu = np.exp(3 + 0.3 * d + 0.2 * s + 0.1 * np.sin(period.month)
                            - 0.69 * (series == "t") * (k >= 0))
                rows.append({"partner_iso3": dest, "series": series, "period": period,
                             "value_usd": float(rng.poisson(mu)), "quantity": 1.0,
                             "treated": series == "t", "k": k, "cal": period.month})
    panel = pd.DataFrame(rows)
    return study.BanStudyDesign(event_id="X", basket="x", kind="lines", panel=panel,
                                effective=periods[14], announced=periods[13], anticipation=1,
                                window=(-14, 11), treated=("t",), comparisons=("c1", "c2"))


def _full_rank(columns: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
    """Columns in order, each kept only when it raises the rank (``keep`` first)."""
    chosen: list[str] = []
    for name in [*keep, *[c for c in columns if c not in keep]]:
        trial = columns[[*chosen, name]].to_numpy()
        if np.linalg.matrix_rank(trial) > len(chosen):
            chosen.append(name)
    return columns[chosen]


def test_fit_profile_matches_a_glm_with_explicit_dummies():
    # Oracle: statsmodels Poisson GLM on the same panel with explicit dummies for
    # destination x month, destination x series and series x calendar month (cut to full
    # rank), clustered by destination with the G / (G - 1) factor only (ppmlhdfe's
    # convention, documented in research.estimate.gravity).
    import statsmodels.api as sm

    design = _small_design()
    fit = study.fit_profile(design, "value_usd")
    data = design.panel.copy()
    terms = {}
    for k in range(-1, 12):
        terms[k] = f"k{k}"
        data[f"k{k}"] = (data["treated"] & (data["k"] == k)).astype(float)
    dummies = pd.concat([
        pd.get_dummies(data["partner_iso3"] + data["period"].astype(str), dtype=float),
        pd.get_dummies("ds" + data["partner_iso3"] + data["series"], dtype=float),
        pd.get_dummies("sc" + data["series"] + data["cal"].astype(str), dtype=float)], axis=1)
    x = _full_rank(pd.concat([data[list(terms.values())], dummies], axis=1),
                   keep=list(terms.values()))
    groups = pd.factorize(data["partner_iso3"])[0]
    glm = sm.GLM(data["value_usd"], x, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False},
        tol=1e-12)
    g = 6
    for k, name in terms.items():
        assert fit.coef[k] == pytest.approx(glm.params[name], abs=1e-6)
        assert np.sqrt(fit.vcov.loc[k, k]) == pytest.approx(
            np.sqrt(glm.cov_params().loc[name, name] * g / (g - 1)), rel=1e-4)


def _one_target_flows(effect: float = -0.9, seed: int = 5) -> pd.DataFrame:
    """Monthly HS 250410 exports to USA and 19 other destinations, 2023-01 to 2025-06;
    USA falls by exp(effect) - 1 from December 2024 (B5, No. 46 on the US)."""
    rng = np.random.default_rng(seed)
    destinations = ["USA", *[f"D{i:02d}" for i in range(19)]]
    rows = []
    for dest in destinations:
        size = np.exp(rng.normal(4, 0.8))
        for period in pd.date_range("2023-01-01", "2025-06-01", freq="MS"):
            hit = dest == "USA" and period >= pd.Timestamp("2024-12-01")
            mu = size * np.exp(0.15 * np.cos(period.month) + rng.normal(0, 0.15)
                               + effect * hit)
            rows.append({"reporter_iso3": "CHN", "partner_iso3": dest, "flow": "export",
                         "product": "250410", "product_level": "hs6", "period": period,
                         "freq": "M", "value_usd": 1000.0 * rng.poisson(mu),
                         "quantity": 500.0 * rng.poisson(mu), "quantity_unit": "kg",
                         "source": "simulated"})
    return pd.DataFrame(rows)


def test_one_treated_destination_gets_randomization_inference_not_clusters():
    flows = _one_target_flows()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = study.ban_study("B5", "graphite", flows=flows, window=(-18, 6))
    design = result.design
    assert design.kind == "destinations" and design.anticipation == 0
    assert len(design.comparisons) == 19
    h = result.headline
    # 20 assignments (19 placebo destinations and the actual one): 1/20 = 0.05, so the
    # test can reject at 5%; a -90% drop ranks first: p = 1/20
    assert h.n_placebo == 20
    assert h.interval_method.startswith("randomization inference")
    assert "cluster" not in h.interval_method
    ri = next(c for c in result.checks if c.name == "randomization inference")
    assert ri.p_value == pytest.approx(1 / 20)
    assert h.conf_low < h.estimate < h.conf_high < 0
    assert h.estimate == pytest.approx(100 * (np.exp(-0.9) - 1), abs=15)
    wild = next(c for c in result.checks if c.name == "wild cluster bootstrap")
    assert wild.status == "not run" and "single treated cluster" in wild.detail
