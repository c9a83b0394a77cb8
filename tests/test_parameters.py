"""Parameter checks against the notebooks' tagged parameters cells."""

import pytest

from research import config
from research.errors import ParameterError
from research.report.parameters import check_parameters, notebook_parameters

BAN = config.REPO_ROOT / "notebooks" / "ban_impact.ipynb"


def test_types_come_from_annotations_and_defaults():
    allowed = notebook_parameters(BAN)
    assert allowed["event_id"] == (str,)          # default "B2"
    assert set(allowed["controls"]) == {str, list}  # annotated "Union[str, list]"
    assert allowed["anticipation"] == (int,)      # default 1


def test_misspelled_name_is_rejected_with_a_suggestion():
    with pytest.raises(ParameterError, match=r"unknown parameter 'evnt_id' \(did you mean "
                                             r"'event_id'\?\); allowed: event_id: str"):
        check_parameters(BAN, {"evnt_id": "B2"})


def test_wrong_type_is_rejected():
    with pytest.raises(ParameterError, match="'anticipation' got str '1', expected int"):
        check_parameters(BAN, {"anticipation": "1"})
    with pytest.raises(ParameterError, match="'anticipation' got bool"):
        check_parameters(BAN, {"anticipation": True})
    check_parameters(BAN, {"controls": ["rare_earths"], "event_id": "B1"})
