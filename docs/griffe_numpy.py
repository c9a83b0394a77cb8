"""Griffe extension: the project's short numpy docstrings, rendered as numpydoc means them.

The package documents parameters the short way STYLE.md asks for, ``name : what it is``
on one line, with the type in the signature (numpydoc would put a type after the colon
and the description on the next lines). Griffe's numpy parser reads the text after the
colon as a type, so without this extension descriptions land in the Type column and
their markup (``"B2"``, Sphinx roles) shows literally. Before a docstring is parsed, this
extension rewrites, in the docs only (the source stays as it is):

- ``name : what it is`` in Parameters, Other Parameters and Attributes to ``name`` with the
  description on an indented line, unless the text after the colon is a type (``str``,
  ``DataFrame or None``, ``{"a", "b"}``...), which stays a type;
- ``name : what`` in Returns and Yields to a named item with that description, and free
  prose there (``The paths written.``) to an unnamed item whose type comes from the
  signature; a Returns section that already reads ``Type`` + indented text is kept;
- free text after a Parameters list (no ``name :`` head) into a "Notes" box after it;
- Sphinx cross-reference roles (``:func:`~research.x.f```, ``:class:`Result```...) to code
  spans (`` `f` ``, `` `Result` ``): the last component with ``~``, the whole name without.

Loaded from mkdocs.yml (``extensions: [docs/griffe_numpy.py]``, a path relative to the
config file). ``python docs/griffe_numpy.py`` prints every section the rewrite changes, to
review it.
"""

from __future__ import annotations

import re
from typing import Any

try:  # the rewrite itself needs nothing; the hook needs griffe (the docs extra)
    from griffe import Extension
except ImportError:  # pragma: no cover
    Extension = object  # type: ignore[assignment,misc]

PARAMETER_SECTIONS = {"parameters", "other parameters", "attributes"}
RETURN_SECTIONS = {"returns", "yields"}
_NAMES = r"\*{0,2}[A-Za-z_]\w*(?:, \*{0,2}[A-Za-z_]\w*)*"
_HEAD = re.compile(rf"^(?P<names>{_NAMES}) ?: (?P<text>.*)$")
_BARE_NAMES = re.compile(rf"^{_NAMES}$")
_DASHES = re.compile(r"^-{3,}\s*$")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|ref):"
                   r"`(?P<tilde>~?)(?P<body>[^`]+)`")
_TYPE_WORDS = {"or", "of", "None", "optional", "str", "int", "float", "bool", "dict",
               "list", "tuple", "bytes", "set", "callable", "object", "iterable"}


def plain_roles(text: str) -> str:
    """Sphinx roles as Markdown code spans.

    Examples
    --------
    >>> plain_roles("see :func:`~research.http.fetch` and :class:`research.Result`")
    'see `fetch` and `research.Result`'
    >>> plain_roles(":func:`the cache <research.cache.cached>`")
    '`the cache`'
    """
    def code(match: re.Match) -> str:
        body = match["body"].strip()
        title = re.match(r"^(?P<title>.+?)\s*<(?P<target>[^>]+)>$", body)
        if title:
            return f"`{title['title']}`"
        if match["tilde"]:
            body = body.rsplit(".", 1)[-1]
        return f"`{body}`"

    return _ROLE.sub(code, text)


def is_type(text: str) -> bool:
    """Whether the text after ``name :`` reads as a type rather than a description.

    Examples
    --------
    >>> [is_type(t) for t in ("DataFrame or None", "tuple of Effect", "str, optional",
    ...                       "(BanStudyResult, tuple of str)", "pd.Series", '{"M", "A"}')]
    [True, True, True, True, True, True]
    >>> [is_type(t) for t in ("the ``sipri_milex`` table.", "ISO3 codes or names",
    ...                       "see :func:`default_spec`", "The paths written.")]
    [False, False, False, False]
    """
    text = re.sub(r",\s*(optional|default[ =:].*)$", "", text.strip())
    if text.startswith("{") and text.endswith("}"):
        return True
    if not text or text.endswith(".") or re.search(r"[^\w.\[\](),| ]", text):
        return False
    words = re.findall(r"[A-Za-z_][\w.]*", text)
    return bool(words) and all(word in _TYPE_WORDS or word[0].isupper() or "." in word
                               for word in words)


def _items(body: list[str]) -> list[list[str]]:
    """Lines of a section body grouped into items: an unindented head and what follows."""
    items: list[list[str]] = []
    for line in body:
        if line and not line[0].isspace() or not items:
            items.append([line])
        else:
            items[-1].append(line)
    return items


def _indented(lines: list[str]) -> list[str]:
    """Prose lines as one description block (indented four spaces)."""
    return ["    " + line.strip() if line.strip() else "" for line in lines]


def _parameters(body: list[str]) -> list[str]:
    out: list[str] = []
    for number, item in enumerate(_items(body)):
        head = item[0]
        match = _HEAD.match(head)
        if not head.strip() or _BARE_NAMES.match(head) or (match and is_type(match["text"])):
            out += item
        elif match:
            out += [match["names"], "    " + match["text"], *item[1:]]
        else:  # free text after the list: a note box, not a parameter named by its first word
            rest = [line for later in _items(body)[number:] for line in later]
            if out and out[-1].strip():
                out.append("")
            return [*out, "Notes", "-----", *rest]
    return out


def _returns(body: list[str]) -> list[str]:
    items = _items(body)
    heads = [item[0] for item in items if item[0].strip()]
    if all(is_type(head) for head in heads):
        return body  # numpydoc as written: Type, then an indented description
    named = [_HEAD.match(head) for head in heads]
    if named and all(match and not is_type(match["text"]) for match in named):
        out: list[str] = []
        for item in items:
            match = _HEAD.match(item[0])
            out += [f"{match['names']} :", "    " + match["text"], *item[1:]] if match else item
        return out
    lead = 0
    while lead < len(body) and not body[lead].strip():
        lead += 1
    return [*body[:lead], ":", *_indented(body[lead:])]  # prose: one unnamed return


def rewrite(docstring: str) -> str:
    """The docstring with its short numpy sections in numpydoc form (see the module).

    Examples
    --------
    >>> print(rewrite('''Load a table.
    ...
    ... Parameters
    ... ----------
    ... name : registry name, e.g. ``"B2"``.
    ... user : merge the user's rows; see
    ...     :func:`~research.datasets.load`.
    ...
    ... Returns
    ... -------
    ... The table, checked against
    ... its schema.'''))
    Load a table.
    <BLANKLINE>
    Parameters
    ----------
    name
        registry name, e.g. ``"B2"``.
    user
        merge the user's rows; see
        `load`.
    <BLANKLINE>
    Returns
    -------
    :
        The table, checked against
        its schema.
    """
    lines = plain_roles(docstring).split("\n")
    out: list[str] = []
    index, fenced = 0, False
    while index < len(lines):
        line = lines[index]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        title = line.strip().lower()
        is_header = (not fenced and line.strip() and not line[0].isspace()
                     and index + 1 < len(lines) and _DASHES.match(lines[index + 1]))
        if not (is_header and title in PARAMETER_SECTIONS | RETURN_SECTIONS):
            out.append(line)
            index += 1
            continue
        end = index + 2
        while end < len(lines) and not (lines[end].strip() and not lines[end][0].isspace()
                                        and end + 1 < len(lines)
                                        and _DASHES.match(lines[end + 1])):
            end += 1
        body = lines[index + 2:end]
        trailing = []
        while body and not body[-1].strip():
            trailing.append(body.pop())
        new = _parameters(body) if title in PARAMETER_SECTIONS else _returns(body)
        out += [line, lines[index + 1], *new, *trailing]
        index = end
    return "\n".join(out)


class ShortNumpyDocstrings(Extension):
    """Rewrites each docstring (see the module) before griffe parses it."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if getattr(obj, "docstring", None) is not None:
            obj.docstring.value = rewrite(obj.docstring.value)


def _review() -> None:  # pragma: no cover - a maintainer's check, run by hand
    import ast
    import difflib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "research"
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                          | ast.AsyncFunctionDef) and ast.get_docstring(node):
                text = ast.get_docstring(node, clean=True)
                diff = difflib.unified_diff(text.split("\n"), rewrite(text).split("\n"),
                                            lineterm="", n=1)
                lines = [line for line in diff if not line.startswith(("---", "+++"))]
                if lines:
                    print(f"## {path.relative_to(root.parent)}: {getattr(node, 'name', '')}")
                    print("\n".join(lines))


if __name__ == "__main__":
    _review()
