"""Check a run's parameters against the notebook's tagged ``parameters`` cell before running.

Names are read with papermill's ``inspect_notebook``. Types come from the cell's
annotations (``controls: "Union[str, list]" = "auto"``, the form papermill reads) or, without one, from the type of the
default value. Unknown or misspelled names and wrong types raise
:class:`~research.errors.ParameterError` naming the allowed parameters and their types.
"""

from __future__ import annotations

import ast
import difflib
from pathlib import Path

from research.errors import ParameterError

TYPE_NAMES = {"str": str, "int": int, "float": float, "bool": bool, "list": list,
              "dict": dict, "None": type(None)}


def notebook_parameters(notebook: Path) -> dict[str, tuple[type, ...]]:
    """The notebook's parameter names and the Python types each accepts."""
    import papermill

    found = {}
    for name, info in papermill.inspect_notebook(str(notebook)).items():
        annotated = info.get("inferred_type_name")
        if annotated and annotated != "None":
            inner = annotated.removeprefix("Union[").removesuffix("]")
            names = [part.strip() for part in inner.replace("|", ",").split(",")]
            types = tuple(TYPE_NAMES[n] for n in names if n in TYPE_NAMES)
        else:
            try:
                types = (type(ast.literal_eval(info["default"])),)
            except (ValueError, SyntaxError):
                types = ()
        if float in types:
            types = (*types, int)  # an integer is a valid float
        found[name] = types
    return found


def _describe(types: tuple[type, ...]) -> str:
    return " | ".join(dict.fromkeys(t.__name__ for t in types)) or "any"


def check_parameters(notebook: Path, parameters: dict) -> None:
    """Raise ParameterError for unknown names or values of the wrong type."""
    allowed = notebook_parameters(notebook)
    listing = ", ".join(f"{n}: {_describe(t)}" for n, t in allowed.items())
    for name, value in parameters.items():
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(f"{notebook.name}: unknown parameter {name!r}{hint}; "
                                 f"allowed: {listing}")
        types = allowed[name]
        wrong_bool = isinstance(value, bool) and bool not in types
        if types and (wrong_bool or not isinstance(value, types)):
            raise ParameterError(f"{notebook.name}: parameter {name!r} got "
                                 f"{type(value).__name__} {value!r}, expected "
                                 f"{_describe(types)}; allowed: {listing}")


# --- values checked against the reference data ---------------------------------------------

ISO3_PARAMETERS = frozenset({"reporter", "importer", "target"})
ISO3_LIST_PARAMETERS = frozenset({"destinations", "countries", "third_countries", "targets"})
EVENT_PARAMETERS = frozenset({"event_id", "episode"})
CHOICES = {"outcome": ("value_usd", "quantity"), "method": ("ppml", "ols_log")}
MONTH_PARAMETERS = ("start", "end")
YEAR_PARAMETERS = ("start_year", "end_year")


def _iso3(value: object) -> bool:
    from research.countries import to_iso3

    return isinstance(value, str) and value.isupper() and to_iso3(value) == value


def _groups() -> list[str]:
    from research.sources.comtrade_monthly import GROUP_CODES

    return sorted(GROUP_CODES)


def _period_range(data_dir: Path | None, name: str, column: str) -> tuple | None:
    """(min, max) of ``column`` in bundled table ``name`` under ``data_dir``, if present."""
    import pandas as pd

    from research import config, datasets

    path = datasets.get(name).path(Path(data_dir) if data_dir else config.data_dir())
    if not path.exists():
        return None
    values = pd.read_parquet(path, columns=[column])[column]
    return values.min(), values.max()


def _month(name: str, value: str, where: str):
    import pandas as pd

    if not (isinstance(value, str) and len(value) == 7 and value[4] == "-"):
        raise ParameterError(f"{where}: parameter {name!r} = {value!r} is not a month YYYY-MM")
    try:
        return pd.Timestamp(f"{value}-01")
    except ValueError as error:
        raise ParameterError(f"{where}: parameter {name!r} = {value!r} is not a month "
                             f"YYYY-MM") from error


def check_values(notebook: Path, parameters: dict, data_dir: Path | None = None) -> None:
    """Check values against the reference data; raise ParameterError naming what is wrong.

    Event ids (``event_id``, ``episode``) must be in the event registry (user events
    included), ``basket``/``baskets`` named baskets or monthly product groups,
    country parameters ISO3 codes, ``outcome``/``method`` one of their choices, and
    months (``start``, ``end``; ``"latest"`` is the data's last month) and years (``start_year``, ``end_year``) in order and
    inside the data of ``data_dir`` (monthly trade table; SIPRI extract).
    """
    from research.reference.baskets import basket_names
    from research.reference.events import load_events

    where = notebook.name
    for name, value in parameters.items():
        if name in EVENT_PARAMETERS:
            ids = load_events()["event_id"].tolist()
            if value not in ids:
                raise ParameterError(f"{where}: parameter {name!r} = {value!r} is not an event "
                                     f"id of the registry; valid ids: {', '.join(ids)}")
        elif name in ("basket", "baskets"):
            allowed = sorted({*basket_names(), *_groups()})
            bad = [v for v in (value if isinstance(value, list) else [value])
                   if v not in allowed]
            if bad:
                raise ParameterError(f"{where}: parameter {name!r}: unknown basket(s) {bad}; "
                                     f"allowed: {allowed}")
        elif name in ("controls", "comparisons") and isinstance(value, list):
            bad = [v for v in value if v not in _groups() and not _iso3(v)
                   and not (isinstance(v, str) and len(v) == 6 and v.isdigit())]
            if bad:
                raise ParameterError(f"{where}: parameter {name!r}: {bad} are neither "
                                     f"product groups {_groups()}, HS6 codes nor ISO3 codes")
        elif name in ("controls", "comparisons") and value != "auto":
            raise ParameterError(f"{where}: parameter {name!r} = {value!r}: use 'auto' or a "
                                 "list")
        elif name == "anticipation" and isinstance(value, str) and value != "auto":
            raise ParameterError(f"{where}: parameter 'anticipation' = {value!r}: use 'auto' "
                                 "or a number of months")
        elif name in ISO3_PARAMETERS and not _iso3(value):
            raise ParameterError(f"{where}: parameter {name!r} = {value!r} is not an ISO3 "
                                 "country code (e.g. 'JPN')")
        elif name in ISO3_LIST_PARAMETERS:
            bad = [v for v in value if not _iso3(v)] if isinstance(value, list) else [value]
            if bad:
                raise ParameterError(f"{where}: parameter {name!r}: {bad} are not ISO3 "
                                     "country codes (e.g. 'JPN')")
        elif name in CHOICES and value not in CHOICES[name]:
            raise ParameterError(f"{where}: parameter {name!r} = {value!r}; allowed: "
                                 f"{list(CHOICES[name])}")
    _check_range(where, parameters, MONTH_PARAMETERS, data_dir, "china_exports_monthly",
                 "period")
    _check_range(where, parameters, YEAR_PARAMETERS, data_dir, "sipri_milex", "year")


def _check_range(where: str, parameters: dict, names: tuple[str, str], data_dir: Path | None,
                 table: str, column: str) -> None:
    import pandas as pd

    given = {n: parameters[n] for n in names if n in parameters}
    if not given:
        return
    monthly = column == "period"
    if monthly:  # "latest" (the last month of the data) is always inside the data
        given = {n: v for n, v in given.items() if v != "latest"}
    values = {n: (_month(n, v, where) if monthly else v) for n, v in given.items()}
    first, last = names
    if first in values and last in values and values[first] > values[last]:
        raise ParameterError(f"{where}: {first} = {given[first]!r} is after "
                             f"{last} = {given[last]!r}")
    span = _period_range(data_dir, table, column)
    if span is None:
        return
    low, high = span
    text = (lambda v: f"{pd.Timestamp(v):%Y-%m}") if monthly else str
    for name, value in values.items():
        if not low <= value <= high:
            raise ParameterError(f"{where}: parameter {name!r} = {given[name]!r} is outside "
                                 f"the data ({table}: {text(low)} to {text(high)})")
