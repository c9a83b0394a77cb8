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
