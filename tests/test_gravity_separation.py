"""PPML-HDFE engine on constructed cases whose separated rows are known by construction.

Separation as in Correia, Guimarães and Zylkin (2021, arXiv:1903.01633): row ``i`` is
separated when some ``z = X g + fixed effects`` is ``>= 0`` everywhere, ``0`` wherever
``y > 0`` and ``> 0`` at ``i``. Each case derives the separated set by hand, then checks
the engine drops exactly it, and compares the estimates with the oracle: a statsmodels
Poisson GLM with explicit dummies, fitted on the sample left after the drop.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import linalg, sparse
from scipy.optimize import linprog
from scipy.special import gammaln

from research.errors import (
    CollinearityWarning,
    ConvergenceError,
    EstimationError,
    SeparationWarning,
)
from research.estimate.gravity import _Demeaner, _group_codes, parse_formula, ppml

pytestmark = pytest.mark.filterwarnings("ignore::research.errors.FewClustersWarning")


def _oracle(data: pd.DataFrame, regressors: list[str], fixed_effects: list[str],
            cluster: str | None = None):
    """statsmodels Poisson GLM with fixed-effect dummies and the SEs in ppmlhdfe's
    convention: the uncorrected sandwich times G / (G - 1) clustered, or HC0 times
    N / (N - 1) robust.

    The dummies are cut to a full-rank set by a pivoted QR (statsmodels' pinv sandwich on
    a rank-deficient design is not the sandwich of the identified coefficients). Every
    identified regressor is in any maximal independent set of columns, since it is not in
    the span of the others.
    """
    parts = [data[regressors].astype(float)]
    for fe in fixed_effects:
        parts.append(pd.get_dummies(data[fe].astype(str), prefix=fe, dtype=float))
    design = pd.concat(parts, axis=1)
    _, r, pivots = linalg.qr(design.to_numpy(), mode="economic", pivoting=True)
    rank = int((np.abs(np.diag(r)) > 1e-9 * abs(r[0, 0])).sum())
    design = design.iloc[:, np.sort(pivots[:rank])]
    assert set(regressors) <= set(design.columns)
    model = sm.GLM(data["y"].to_numpy(), design, family=sm.families.Poisson())
    if cluster:
        groups = pd.factorize(data[cluster])[0]
        fit = model.fit(tol=1e-13, cov_type="cluster",
                        cov_kwds={"groups": groups, "use_correction": False})
        n_groups = groups.max() + 1
        factor = n_groups / (n_groups - 1)
    else:
        fit = model.fit(tol=1e-13, cov_type="HC0")
        factor = len(data) / (len(data) - 1)
    return fit.params[regressors], fit.bse[regressors] * np.sqrt(factor)


def _assert_matches_oracle(result, data, regressors, fixed_effects, cluster=None):
    coef, se = _oracle(data, regressors, fixed_effects, cluster)
    np.testing.assert_allclose(result.coef[regressors], coef, rtol=0, atol=1e-6)
    table = result.tidy().set_index("term")
    np.testing.assert_allclose(table.loc[regressors, "std_error"], se, rtol=1e-5, atol=1e-9)


# --- FE-only models -----------------------------------------------------------------

def _complete_table(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    table = pd.MultiIndex.from_product([range(6), range(5)], names=["i", "j"]).to_frame(
        index=False)
    table["y"] = rng.poisson(4.0, size=len(table)) + 1.0
    return table


def test_parse_fe_only_and_no_constant() -> None:
    assert parse_formula("y ~ 1 | a + b^c").regressors == ()
    assert parse_formula("y ~ 1 | a").fixed_effects == (("a",),)
    assert parse_formula("y ~ 0 + x | a").regressors == ("x",)
    assert not parse_formula("y ~ x - 1").intercept
    assert parse_formula("y ~ x").intercept


def test_fe_only_model_with_an_all_zero_group() -> None:
    # Row i = 2 of a 6 x 5 table has y = 0 in all five cells: z = 1[i = 2] is a
    # certificate (>= 0, zero on every positive cell, positive on those five), so exactly
    # those 5 rows are separated. The 5 x 5 table left is complete and positive, and the
    # Poisson MLE of y ~ 1 | i + j on a complete two-way table is the independence fit
    # mu_ij = r_i c_j / N (row totals times column totals over the grand total): it
    # solves the score equations sum_j mu_ij = r_i and sum_i mu_ij = c_j.
    table = _complete_table()
    table.loc[table["i"] == 2, "y"] = 0.0
    with pytest.warns(SeparationWarning, match="5 separated"):
        result = ppml(table, "y ~ 1 | i + j")
    assert result.n_separated == 5 and result.n_obs == 25
    assert result.coef.empty and result.vcov.shape == (0, 0)
    assert result.sample.sum() == 25 and not result.sample[table["i"] == 2].any()
    kept = table[table["i"] != 2]
    y = kept["y"].to_numpy()
    mu = (kept.groupby("i")["y"].transform("sum") * kept.groupby("j")["y"].transform("sum")
          / y.sum()).to_numpy()
    # Poisson deviance 2 sum(y log(y / mu) - (y - mu)), the second sum zero at this fit
    assert result.deviance == pytest.approx(2 * np.sum(y * np.log(y / mu)), rel=1e-8)
    ll = np.sum(y * np.log(mu) - mu - gammaln(y + 1))
    ll0 = np.sum(y * np.log(y.mean()) - y.mean() - gammaln(y + 1))
    assert result.pseudo_r2 == pytest.approx(1 - ll / ll0, rel=1e-8)
    assert result.fixed_effects == ("i", "j") and result.cluster is None


def _two_blocks(seed: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    """Rows i and columns j in two blocks, A = {0, 1, 2} and B = {3, 4, 5}, four periods.

    Cells A x A and B x B are observed with y > 0; of the cells A x B only (0, 3),
    (1, 4) and (2, 5) are observed, with y = 0; B x A is not observed. Cell (0, 0) has
    y = 0 in every period too.
    """
    rng = np.random.default_rng(seed)
    cross = {(0, 3), (1, 4), (2, 5)}
    cells = [(i, j, t) for i in range(6) for j in range(6) for t in range(4)
             if (i < 3) == (j < 3) or (i, j) in cross]
    data = pd.DataFrame(cells, columns=["i", "j", "t"])
    data["x"] = rng.normal(size=len(data))
    data["y"] = rng.poisson(np.exp(1.0 + 0.3 * data["x"])) + 1.0
    separated = pd.Series([(i, j) in cross for i, j in zip(data["i"], data["j"], strict=True)],
                          index=data.index)
    data.loc[separated, "y"] = 0.0
    data.loc[(data["i"] == 0) & (data["j"] == 0), "y"] = 0.0
    return data, separated


@pytest.mark.parametrize("formula", ["y ~ 1 | i + j + t", "y ~ x | i + j + t"])
def test_fe_separation_without_an_all_zero_group(formula: str) -> None:
    # Every row, column and period has a positive cell, so the all-zero-group check finds
    # nothing. On the positive cells a_i + b_j + c_t = 0; the positive cells connect all
    # of block A (and all of B) and every period, so a = cA on A rows, b = -cA on A
    # columns (cB, -cB for B) and c constant (absorbed). On the zero cells of A x B,
    # z = cA - cB: with cA = 1, cB = 0 it is 1, a certificate for those 3 cells x 4
    # periods = 12 rows. Cell (0, 0) lies inside block A: z = cA - cA = 0 for every
    # certificate (a regressor x drawn at random cannot help: g = 0 on the positives),
    # so its 4 rows are kept.
    data, separated = _two_blocks()
    assert (data.groupby("i")["y"].sum() > 0).all() and (data.groupby("j")["y"].sum() > 0).all()
    with pytest.warns(SeparationWarning, match="12 separated"):
        result = ppml(data, formula)
    assert result.n_separated == 12 and result.n_separated_by_regressors == 12
    assert (result.sample == ~separated).all()
    assert result.n_obs == len(data) - 12
    if "x" in formula:
        _assert_matches_oracle(result, data[~separated], ["x"], ["i", "j", "t"])


# --- separation by regressors and fixed effects together ------------------------------

def _groups_panel(zero_x2: tuple[float, ...], seed: int = 11) -> pd.DataFrame:
    """20 groups x 6 periods; x1 ~ N(0, 1), x2 = 0 outside group 3. Group 3 has y > 0
    and x2 = 1 in periods 0-2, and y = 0 with x2 = zero_x2[p] in periods 3-5. Group 5,
    period 2 has y = 0 (x2 = 0)."""
    rng = np.random.default_rng(seed)
    data = pd.MultiIndex.from_product([range(20), range(6)], names=["g", "t"]).to_frame(
        index=False)
    data["x1"] = rng.normal(size=len(data))
    data["y"] = rng.poisson(np.exp(1.0 + 0.4 * data["x1"])) + 1.0
    data["x2"] = 0.0
    in3 = data["g"] == 3
    data.loc[in3 & (data["t"] < 3), "x2"] = 1.0
    data.loc[in3 & (data["t"] >= 3), "y"] = 0.0
    data.loc[in3 & (data["t"] >= 3), "x2"] = list(zero_x2)
    data.loc[(data["g"] == 5) & (data["t"] == 2), "y"] = 0.0
    return data


def test_separation_by_regressor_and_fixed_effect_then_collinear() -> None:
    # z = g1 x1 + g2 x2 + a_g + c_t must vanish on every positive row. Outside group 3
    # x2 = 0 and x1 takes distinct random values on the positives, so g1 = 0 and
    # a_g + c_t = 0 on a connected set of cells: a = c0, c = -c0 there. In group 3,
    # g2 * 1 + a_3 - c0 = 0 on its positives, so on its zero rows z = g2 (x2 - 1) = g2 when
    # x2 = 2: with g2 = 1 the three rows of group 3, periods 3-5, are separated, by x2 and
    # the group effect together (neither alone: x2 > 0 on positives, group 3 has
    # positives). Group 5, period 2 gets z = 0: kept. After the drop, x2 = 1[g = 3] on
    # the sample left: collinear with the group effect, so it is omitted, not an error.
    data = _groups_panel((2.0, 2.0, 2.0))
    separated = (data["g"] == 3) & (data["t"] >= 3)
    with pytest.warns(SeparationWarning) as record:
        result = ppml(data, "y ~ x1 + x2 | g + t", cluster="g")
    messages = " | ".join(str(w.message) for w in record)
    assert "3 separated" in messages and "['x2'] omitted" in messages
    assert result.n_separated == 3 and (result.sample == ~separated).all()
    assert result.omitted == ["x2"] == result.dropped_collinear and np.isnan(result.coef["x2"])
    assert list(result.vcov.index) == ["x1"]
    _assert_matches_oracle(result, data[~separated], ["x1"], ["g", "t"], cluster="g")


def test_no_separation_keeps_every_row() -> None:
    # As above but the zero rows of group 3 have x2 = 2, 2 and 0.5: z = g2 (x2 - 1) is g2
    # on two of them and -0.5 g2 on the third, both >= 0 only if g2 = 0. No certificate
    # is nonzero, so nothing is separated (group 5, period 2 has z = 0 as before), every
    # row is kept and x2 has a finite estimate.
    data = _groups_panel((2.0, 2.0, 0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)
        warnings.simplefilter("error", CollinearityWarning)
        result = ppml(data, "y ~ x1 + x2 | g + t")
    assert result.n_separated == 0 and result.n_obs == len(data) and result.sample.all()
    assert result.omitted == []
    _assert_matches_oracle(result, data, ["x1", "x2"], ["g", "t"])


def test_separation_without_fixed_effects() -> None:
    # No fixed effects: z = d (the dummy) is >= 0, zero on every positive row (d = 0 there)
    # and 1 on the four rows with d = 1, all with y = 0: those four are separated, and
    # then d = 0 on every row left, collinear with the constant. The row with y = 0 and
    # d = 0 is kept (z = g0 + g1 x + g2 d vanishes on the positives, which have distinct
    # x, so g0 = g1 = 0 and z = g2 d = 0 there).
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"x": rng.normal(size=60), "d": 0.0})
    data["y"] = rng.poisson(np.exp(0.5 + 0.5 * data["x"])) + 1.0
    data.loc[[3, 17, 29, 41], ["y", "d"]] = [0.0, 1.0]
    data.loc[50, "y"] = 0.0
    with pytest.warns(SeparationWarning) as record:
        result = ppml(data, "y ~ x + d")
    messages = " | ".join(str(w.message) for w in record)
    assert "4 separated" in messages and "['d'] omitted" in messages
    assert result.n_separated == 4 and result.omitted == ["d"]
    kept = data.drop(index=[3, 17, 29, 41])
    reference = sm.GLM(kept["y"], sm.add_constant(kept[["x"]]),
                       family=sm.families.Poisson()).fit(tol=1e-13)
    np.testing.assert_allclose(result.coef[["Intercept", "x"]], reference.params, atol=1e-6)


def test_constant_only_model() -> None:
    # y ~ 1 without fixed effects: the Poisson MLE of a constant is log(mean(y))
    data = _complete_table()
    result = ppml(data, "y ~ 1")
    assert result.coef["Intercept"] == pytest.approx(np.log(data["y"].mean()), abs=1e-9)
    assert result.pseudo_r2 == pytest.approx(0, abs=1e-9)


def _lp_separated(y: np.ndarray, x: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """Every separated row, by linear programming (independent of the ReLU method).

    With A = [fixed-effect dummies, x], maximise sum(t) over c and 0 <= t <= 1 subject to
    A c = 0 on the y > 0 rows, A c >= 0 and t <= A c on the y = 0 rows. If c* is optimal
    and some row k has a certificate c' (A c' >= 0, zero on positives, positive at k),
    c* + s c' for large s raises t_k without lowering any other t, so an optimum has
    t > 0 on every separated row, and t > 0 only where A c* > 0: exactly the separated set.
    """
    n = len(y)
    blocks = [sparse.csr_matrix((np.ones(n), (np.arange(n), g)), shape=(n, g.max() + 1))
              for g in groups]
    design = sparse.hstack([*blocks, sparse.csr_matrix(x)], format="csr")
    positive, zero = y > 0, y <= 0
    p, n_zero = design.shape[1], int(zero.sum())
    on_zero = design[zero]
    equal = sparse.hstack([design[positive], sparse.csr_matrix((int(positive.sum()), n_zero))])
    upper = sparse.vstack([sparse.hstack([-on_zero, sparse.csr_matrix((n_zero, n_zero))]),
                           sparse.hstack([-on_zero, sparse.identity(n_zero)])])
    solution = linprog(np.r_[np.zeros(p), -np.ones(n_zero)], A_ub=upper,
                       b_ub=np.zeros(2 * n_zero), A_eq=equal,
                       b_eq=np.zeros(int(positive.sum())),
                       bounds=[(None, None)] * p + [(0, 1)] * n_zero, method="highs")
    assert solution.status == 0
    separated = np.zeros(n, dtype=bool)
    separated[np.flatnonzero(zero)[solution.x[p:] > 1e-7]] = True
    return separated


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_separated_set_equals_linear_programming(seed: int) -> None:
    # sparse random panels, many zeros, two or three fixed effects and a dummy that is
    # mostly zero: the rows dropped must be exactly the LP's separated set
    rng = np.random.default_rng(100 + seed)
    n = 400
    data = pd.DataFrame({"a": rng.integers(0, 30, n), "b": rng.integers(0, 25, n),
                         "c": rng.integers(0, 3, n), "x1": rng.normal(size=n),
                         "x2": rng.binomial(1, 0.1, n).astype(float),
                         "x3": rng.integers(0, 3, n).astype(float)})
    eta = (-1.5 + 0.5 * data["x1"] + 2 * rng.normal(size=30)[data["a"]]
           + 1.5 * rng.normal(size=25)[data["b"]] - 2 * data["x3"])
    data["y"] = rng.poisson(np.exp(eta)).astype(float)
    fixed = ["a", "b", "c"] if seed % 2 else ["a", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ppml(data, f"y ~ x1 + x2 + x3 | {' + '.join(fixed)}", drop_singletons=False)
    expected = _lp_separated(data["y"].to_numpy(), data[["x1", "x2", "x3"]].to_numpy(),
                             [pd.factorize(data[c])[0] for c in fixed])
    assert expected.any()
    assert (~result.sample.to_numpy() == expected).all()
    assert result.n_separated == expected.sum()


# --- collinearity without separation --------------------------------------------------

def test_collinear_regressors_are_dropped_with_a_warning() -> None:
    # x3 = x1 - 2 x2 is a combination of earlier regressors and x4 is constant within
    # groups (absorbed by g): both dropped, in formula order, with missing estimates;
    # x1 and x2 as in the model without them.
    data = _groups_panel((2.0, 2.0, 0.5))
    data["x3"] = data["x1"] - 2 * data["x2"]
    data["x4"] = data["g"] * 0.7
    with pytest.warns(CollinearityWarning, match=r"\['x3', 'x4'\]"):
        result = ppml(data, "y ~ x1 + x2 + x3 + x4 | g + t", cluster="g")
    assert result.dropped_collinear == ["x3", "x4"]
    assert result.tidy()["term"].tolist() == ["x1", "x2", "x3", "x4"]
    assert result.tidy()["std_error"].notna().tolist() == [True, True, False, False]
    _assert_matches_oracle(result, data, ["x1", "x2"], ["g", "t"], cluster="g")
    with pytest.raises(EstimationError, match="every regressor"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ppml(data, "y ~ x4 | g + t")


def test_no_constant_and_explicit_zero() -> None:
    data = _groups_panel((2.0, 2.0, 0.5))
    with_fe = ppml(data, "y ~ 0 + x1 + x2 | g + t")
    np.testing.assert_allclose(with_fe.coef, ppml(data, "y ~ x1 + x2 | g + t").coef,
                               atol=1e-12)
    # without fixed effects, 0 removes the constant: compare with a GLM without one
    result = ppml(data, "y ~ 0 + x1 + x2")
    reference = sm.GLM(data["y"], data[["x1", "x2"]], family=sm.families.Poisson()).fit(
        tol=1e-13)
    np.testing.assert_allclose(result.coef[["x1", "x2"]], reference.params, atol=1e-6)


# --- numerics -------------------------------------------------------------------------

def test_explosive_outcome_exact_fit_or_named_error() -> None:
    # y = exp(50 x) is fitted exactly by b = 50 and a constant of 0 (deviance 0); with
    # every y > 0 and x not constant the Poisson MLE is unique, so that is the answer.
    x = np.linspace(0.0, 3.0, 40)
    data = pd.DataFrame({"x": x, "y": np.exp(50 * x), "g": np.arange(40) % 4,
                         "h": np.arange(40) % 5})
    result = ppml(data, "y ~ x")
    assert result.coef["x"] == pytest.approx(50, abs=1e-6)
    assert result.coef["Intercept"] == pytest.approx(0, abs=1e-6)
    assert np.isfinite(result.tidy()["std_error"]).all()
    # with two fixed effects the Poisson weights exp(50 x) put all but 1e-5 of the
    # information on the largest x, which its cell's effects fit alone: the slope is not
    # numerically identified, and the engine must say so rather than return a number
    with pytest.raises(EstimationError, match="not numerically identified"):
        ppml(data, "y ~ x | g + h")


def test_group_codes_do_not_overflow() -> None:
    # float ids of 1e30 must be factorized, never cast to int64 (which overflows to
    # int64 min and merges every pair into one group)
    data = _groups_panel((2.0, 2.0, 0.5))
    data["big"] = (data["g"] + 1) * 1e30
    codes = _group_codes(data, ("big",))
    assert codes.min() == 0 and codes.max() == 19
    assert (pd.factorize(codes)[0] == pd.factorize(data["g"])[0]).all()
    both = _group_codes(data, ("big", "t"))
    assert both.max() == 20 * 6 - 1
    small = ppml(data, "y ~ x1 + x2 | g + t", cluster="g")
    large = ppml(data, "y ~ x1 + x2 | big + t", cluster="big")
    np.testing.assert_allclose(large.coef, small.coef, atol=1e-10)
    np.testing.assert_allclose(large.vcov, small.vcov, atol=1e-12)


def test_demeaning_lsmr_fallback_agrees_with_projections() -> None:
    # after 2 sweeps the LSMR fallback takes over; the residual of a projection is unique,
    # so both ways give the same demeaned matrix
    rng = np.random.default_rng(0)
    groups = [rng.integers(0, 15, 500), rng.integers(0, 12, 500), rng.integers(0, 9, 500)]
    v = rng.normal(size=(500, 3))
    weights = rng.uniform(0.1, 3.0, 500)
    full, fallback = _Demeaner(groups), _Demeaner(groups)
    full.set_weights(weights)
    fallback.set_weights(weights)
    np.testing.assert_allclose(fallback.demean(v, 1e-13, max_sweeps=2),
                               full.demean(v, 1e-13), atol=1e-9)


def test_irls_not_converging_is_a_named_error() -> None:
    data = _groups_panel((2.0, 2.0, 0.5))
    with pytest.raises(ConvergenceError, match="did not converge in 2 iterations") as error:
        ppml(data, "y ~ x1 + x2 | g + t", max_iter=2)
    assert error.value.iterations == 2 and error.value.tolerance == 1e-8
    assert error.value.reached > 1e-8


# --- the event-study use: many dummies, three fixed effects, clusters ------------------

def _event_panel(destinations: int, lines: int, months: int, seed: int = 7) -> pd.DataFrame:
    """Flows by destination x line x month; treated destinations (a third) get a ban in
    month ``months // 2`` on half the lines; event-time dummies for -6..+12 months."""
    rng = np.random.default_rng(seed)
    data = pd.MultiIndex.from_product([range(destinations), range(lines), range(months)],
                                      names=["dest", "line", "month"]).to_frame(index=False)
    data["calendar"] = data["month"] % 12
    treated = (data["dest"] % 3 == 0) & (data["line"] % 2 == 0)
    event_time = np.where(treated, data["month"] - months // 2, -99)
    eta = (rng.normal(size=destinations)[data["dest"]] + rng.normal(size=lines)[data["line"]]
           + 0.3 * np.sin(data["calendar"]) - 0.5 * (event_time >= 0))
    data["y"] = rng.poisson(np.exp(eta) * rng.gamma(2.0, 0.5, size=len(data))).astype(float)
    for k in range(-6, 13):
        if k != -1:
            data[f"d{k + 6}"] = (event_time == k).astype(float)
    return data


def test_event_study_matches_oracle_on_a_small_panel() -> None:
    data = _event_panel(destinations=12, lines=4, months=24)
    dummies = [c for c in data.columns if c.startswith("d") and c != "dest"]
    formula = f"y ~ {' + '.join(dummies)} | dest^month + dest^line + line^calendar"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ppml(data, formula, cluster="dest")
    assert result.n_clusters == 12 and result.cluster == "dest"
    assert result.fixed_effects == ("dest^month", "dest^line", "line^calendar")
    kept = data[result.sample.to_numpy()].copy()
    kept["dm"] = kept["dest"].astype(str) + "_" + kept["month"].astype(str)
    kept["dl"] = kept["dest"].astype(str) + "_" + kept["line"].astype(str)
    kept["lc"] = kept["line"].astype(str) + "_" + kept["calendar"].astype(str)
    estimated = list(result.vcov.index)
    assert estimated == [d for d in dummies if d not in result.omitted]
    _assert_matches_oracle(result, kept, estimated, ["dm", "dl", "lc"], cluster="dest")


def test_event_study_scale_30k_rows_fast() -> None:
    # 35 destinations x 18 lines x 48 months = 30,240 rows, 18 event dummies
    data = _event_panel(destinations=35, lines=18, months=48)
    dummies = [c for c in data.columns if c.startswith("d") and c != "dest"]
    formula = f"y ~ {' + '.join(dummies)} | dest^month + dest^line + line^calendar"
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ppml(data, formula, cluster="dest")
    elapsed = time.perf_counter() - start
    assert result.n_clusters == 35 and result.vcov.shape == (18, 18)
    assert list(result.vcov.columns) == dummies and result.coef.notna().all()
    assert np.isfinite(np.diag(result.vcov)).all() and (np.diag(result.vcov) > 0).all()
    # the true effect after the ban is -0.5 log points on every post dummy
    assert abs(result.coef[[f"d{k + 6}" for k in range(0, 13)]].mean() + 0.5) < 0.15
    assert elapsed < 30
