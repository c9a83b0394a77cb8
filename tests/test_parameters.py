"""Parameter checks against the notebooks' tagged parameters cells."""

import pytest

from research import config
from research.errors import ParameterError
from research.report.parameters import check_parameters, notebook_parameters

BAN = config.REPO_ROOT / "notebooks" / "ban_impact.ipynb"


def test_types_come_from_annotations_and_defaults():
    allowed = notebook_parameters(BAN)
    assert allowed["event_id"] == (str,)          # default "B2"
    assert set(allowed["comparisons"]) == {str, list}  # annotated "Union[str, list]"
    assert set(allowed["anticipation"]) == {str, int}  # annotated "Union[str, int]"


def test_misspelled_name_is_rejected_with_a_suggestion():
    with pytest.raises(ParameterError, match=r"unknown parameter 'evnt_id' \(did you mean "
                                             r"'event_id'\?\); allowed: event_id: str"):
        check_parameters(BAN, {"evnt_id": "B2"})


def test_wrong_type_is_rejected():
    with pytest.raises(ParameterError, match="'window_pre' got str '-24', expected int"):
        check_parameters(BAN, {"window_pre": "-24"})
    with pytest.raises(ParameterError, match="'anticipation' got float"):
        check_parameters(BAN, {"anticipation": 1.5})
    check_parameters(BAN, {"comparisons": ["rare_earths"], "event_id": "B1"})


# --- values against the reference data --------------------------------------------------
# Expected ranges: the bundled monthly table runs 2017-01 to 2024-12 and the SIPRI extract
# 1990 to 2024 (data/SOURCES.md); the registry's ids are A1..C11 (events.parquet).
OVERVIEW = config.REPO_ROOT / "notebooks" / "trade_overview.ipynb"
DEFENSE = config.REPO_ROOT / "notebooks" / "defense_spending.ipynb"


@pytest.mark.parametrize(("notebook", "parameters", "message"), [
    (BAN, {"event_id": "B12"}, r"'event_id' = 'B12' is not an event id .* valid ids: A1,"),
    (BAN, {"basket": "graphit"}, r"unknown basket\(s\) \['graphit'\]; allowed: .*'graphite'"),
    (BAN, {"comparisons": ["rare_earths", "JPNX"]}, r"\['JPNX'\] are neither product groups"),
    (BAN, {"anticipation": "soon"}, r"'anticipation' = 'soon': use 'auto'"),
    (BAN, {"outcome": "value"}, r"'outcome' = 'value'; allowed: \['value_usd', 'quantity'\]"),
    (OVERVIEW, {"reporter": "China"}, r"'reporter' = 'China' is not an ISO3 country code"),
    (OVERVIEW, {"destinations": ["JPN", "XXK"]}, r"\['XXK'\] are not ISO3 country codes"),
    (OVERVIEW, {"start": "2017-13"}, r"'start' = '2017-13' is not a month YYYY-MM"),
    (OVERVIEW, {"start": "2020-01", "end": "2019-12"}, r"start = '2020-01' is after end"),
    (OVERVIEW, {"end": "2026-01"}, r"'end' = '2026-01' is outside the data "
                                   r"\(china_exports_monthly: 2017-01 to 2024-12\)"),
    (DEFENSE, {"start_year": 1980}, r"'start_year' = 1980 is outside the data "
                                    r"\(sipri_milex: 1990 to 2024\)"),
])
def test_values_are_checked_against_the_reference_data(notebook, parameters, message):
    from research.report.parameters import check_values

    with pytest.raises(ParameterError, match=message):
        check_values(notebook, parameters)


def test_the_default_grid_passes_the_value_checks():
    from research.report.parameters import check_values
    from research.report.runner import load_grid

    for spec in load_grid():
        check_values(config.notebooks_dir() / spec.notebook, spec.parameters)
