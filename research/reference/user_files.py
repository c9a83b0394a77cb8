"""Your own events and HS baskets, from YAML or TOML files, merged into the registry.

Put ``*.yaml``, ``*.yml`` or ``*.toml`` files in a folder and point the environment
variable ``RESEARCH_USER_DIR`` at it (or pass ``research --user-dir DIR ...``). From
then on ``datasets.load("events")`` and ``datasets.load("hs_baskets")``,
:func:`~research.reference.events.get_event`,
:func:`~research.reference.baskets.basket_codes`, the ban-impact analysis, the
notebooks and the report parameter checks see your rows beside the bundled ones.
The package itself is never edited. ``research user check DIR`` validates a folder.

A file holds a list ``events``, a list ``baskets``, or both (YAML shown; TOML uses
``[[events]]``, ``[[baskets]]`` and ``[[baskets.lines]]`` tables with the same keys)::

    baskets:
      - name: ree_downstream            # lower case, digits, _
        product_group: rare_earths      # optional: group of the monthly Comtrade table
        note: Compounds and magnets, not the metals.
        lines:
          - hs6: "284690"               # quote codes: YAML reads 010121 as a number
            mixed_scope: true           # optional, default true
            note: Compounds of the controlled elements beside Nd, Pr, La.
          - "850511"                    # a bare code is a line with the defaults
    events:
      - event_id: U_JP_WATCHLIST_2026   # not A1..C99 (reserved for the bundled timeline)
        announced: 2026-02-24           # YYYY-MM-DD; at least announced or effective
        effective: 2026-02-24
        end: null                       # optional
        event_type: entity listing      # one of the EVENTS schema's types
        targets: [JPN]                  # ISO3 codes, ALL, or empty
        basket: [dual_use_catalogue]    # bundled or user baskets
        hs6: []                         # optional HS6 codes; customs_codes: 10-digit codes
        authority: MOFCOM
        instrument_no: null
        measure: What happened, in a sentence or two.
        source_urls: [https://...]      # at least one page

Every event gets the columns of the bundled events table (the ``EVENTS`` schema);
``date_text`` defaults to ``ann. D, eff. D`` and ``section`` to ``User events
(<file name>)``. Every basket line gets the columns of ``hs_baskets``, filled from the
bundled ``hs6_codes`` table (HS2022 text, UN correlations) and the dual-use catalogue.

Checks, each raising :class:`~research.errors.UserFileError` with ``file:line``, the
field and the value: unknown or missing fields; an HS code that is not a subheading
of HS2022, HS2017, HS2012 or HS2007; a customs code that is not ten digits over a
valid HS6; a date that is not ``YYYY-MM-DD`` or not in the calendar, or an end
before the start; a target that is not an ISO 3166-1 alpha-3 code; an unknown
event type, basket or product group; a page address that is not ``http(s)://``; an
event id or basket name that clashes with a bundled one or repeats across files.

Line numbers: for YAML they come from the parser's node marks (``yaml.compose``).
``tomllib`` gives no positions, so for TOML the line is found by searching the text:
the ``key =`` line inside the record's ``[[events]]``/``[[baskets]]``/``[[baskets.lines]]``
table (counted in order), else the first line after it holding the value, else
the table's header line. Records written as inline tables point to the enclosing
key's line.

Scalars in YAML are read as their text (so ``010121`` stays ``"010121"`` and dates
stay ``2026-02-24``); only ``true``/``false`` and ``null`` keep their YAML meaning.
"""

from __future__ import annotations

import datetime
import difflib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import yaml

from research import config, datasets
from research.countries import to_iso3
from research.errors import UserFileError
from research.markup import url_problem
from research.provenance import user_file_paths as user_file_paths
from research.reference import dual_use
from research.reference.tables import (
    BUNDLED_EVENT_ID,
    GROUP_CODES,
    HS_BASKETS,
    NOT_IN_HS2022,
    REGISTRY_EVENTS,
    USER_EVENT_ID,
)
from research.schemas import EVENTS

TOP_LEVEL = ("events", "baskets")
EVENT_FIELDS = ("event_id", "measure", "event_type", "announced", "effective", "end",
                "date_text", "section", "authority", "instrument_no", "targets", "products",
                "customs_codes", "hs6", "basket", "source_urls")
REQUIRED_EVENT_FIELDS = ("event_id", "measure", "event_type", "source_urls")
BASKET_FIELDS = ("name", "lines", "product_group", "note")
LINE_FIELDS = ("hs6", "mixed_scope", "note")
BASKET_NAME = r"[a-z][a-z0-9_]{0,39}"
DATE_TEXT = r"\d{4}-\d{2}-\d{2}"
MAX_YAML_DEPTH = 50  # levels of nesting; user files need four
# source_urls are checked by research.markup.url_problem: http/https, a host, no quotes,
# angle brackets or whitespace (the address is shown as a link in reports)

Where = tuple[str | int, ...]


@dataclass(frozen=True)
class UserData:
    """The parsed contents of a user folder.

    Attributes
    ----------
    directory : the folder read.
    files : the YAML and TOML files found, sorted by name.
    events : user events in the columns of the bundled events table.
    baskets : user basket lines in the columns of ``hs_baskets``.
    """

    directory: Path
    files: tuple[Path, ...]
    events: pd.DataFrame
    baskets: pd.DataFrame

    def basket_names(self) -> list[str]:
        """Names of the user baskets, in file order."""
        return list(dict.fromkeys(self.baskets["basket"]))

    def basket_groups(self) -> dict[str, str]:
        """User basket -> monthly product group, for baskets that name one."""
        named = self.baskets.dropna(subset=["product_group"])
        return dict(zip(named["basket"], named["product_group"], strict=True))

    def basket_codes(self, name: str) -> list[str]:
        """Sorted HS6 codes of user basket ``name``."""
        return sorted(self.baskets.loc[self.baskets["basket"].eq(name), "hs6"])


# ---------------------------------------------------------------- reading files


class _Document:
    """One parsed file: plain data (dicts, lists, text, bools, None) and line lookup."""

    def __init__(self, path: Path, data: Any, text: str,
                 lines: dict[Where, int] | None) -> None:
        self.path, self.data, self._lines = path, data, lines
        self._text = text.splitlines()

    def line(self, where: Where, value: object = None) -> int | None:
        """1-based line of the value at ``where`` (a path of keys and list positions)."""
        if self._lines is not None:
            for end in range(len(where), -1, -1):
                if where[:end] in self._lines:
                    return self._lines[where[:end]]
            return None
        return _toml_line(self._text, where, value)

    def fail(self, where: Where, message: str, field: str | None = None,
             value: object = None) -> NoReturn:
        raise UserFileError(self.path, message, line=self.line(where, value), field=field,
                            value=value)


def _from_node(node: yaml.Node, where: Where, lines: dict[Where, int], path: Path) -> Any:
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        found: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise UserFileError(path, "a key must be plain text", line=line)
            key = key_node.value
            if key in found:
                raise UserFileError(path, "key repeated in the same record", line=line,
                                    field=key)
            lines[where + (key,)] = line
            found[key] = _from_node(value_node, where + (key,), lines, path)
        return found
    if isinstance(node, yaml.SequenceNode):
        return [_from_node(item, where + (i,), lines, path) for i, item in enumerate(node.value)]
    if node.tag == "tag:yaml.org,2002:null":
        return None
    if node.tag == "tag:yaml.org,2002:bool":
        return yaml.SafeLoader.bool_values[node.value.lower()]
    return node.value


class _UserYamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses aliases (``*name``) and deep nesting.

    Aliases are how a few hundred bytes expand to gigabytes (the "billion laughs")
    or to a cycle (``a: &a [*a]``); user files never need them. Nesting beyond
    :data:`MAX_YAML_DEPTH` would exhaust the recursion of the composer.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, f"alias *{event.anchor} is not allowed in user files: write the "
                "value out in full", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _read_yaml(path: Path, text: str) -> _Document:
    try:
        root = yaml.compose(text, Loader=_UserYamlLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise UserFileError(path, f"not valid YAML: {error.problem or error.context}",
                            line=mark.line + 1 if mark else None) from error
    except yaml.YAMLError as error:
        raise UserFileError(path, f"not valid YAML: {error}") from error
    lines: dict[Where, int] = {}
    data = {} if root is None else _from_node(root, (), lines, path)
    return _Document(path, data, text, lines)


def _from_toml(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _from_toml(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_toml(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _read_toml(path: Path, text: str) -> _Document:
    try:
        data = tomllib.loads(text)
    except RecursionError as error:  # tomllib recurses once per level of nested arrays
        raise UserFileError(path, "not valid TOML: nested too deeply") from error
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise UserFileError(path, f"not valid TOML: {error}",
                            line=int(match[1]) if match else None) from error
    return _Document(path, _from_toml(data), text, None)


def _toml_line(text: list[str], where: Where, value: object) -> int | None:
    """Best line for ``where`` in a TOML text (tomllib keeps no positions)."""
    low, high, best = 0, len(text), None
    table: list[str] = []
    position = 0
    while position < len(where):
        key = where[position]
        if isinstance(key, int):  # a list item without its own table: stay on the key
            position += 1
            continue
        following = where[position + 1] if position + 1 < len(where) else None
        if isinstance(following, int):
            name = ".".join([*table, key])
            header = re.compile(rf"\s*\[\[\s*{re.escape(name)}\s*\]\]")
            headers = [n for n in range(low, high) if header.match(text[n])]
            if following < len(headers):
                best = headers[following]
                low = best + 1
                high = next((n for n in range(low, high)
                             if re.match(r"\s*\[", text[n])
                             and not re.match(rf"\s*\[\[\s*{re.escape(name)}\.", text[n])),
                            high)
                table.append(key)
                position += 2
                continue
        assignment = re.compile(rf"\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|"
                                rf"'{re.escape(key)}')\s*=")
        found = next((n for n in range(low, high) if assignment.match(text[n])), None)
        if found is None:
            break
        best = low = found
        position += 1
    resolved = position >= len(where)
    if (value is not None and not isinstance(value, dict | list)
            and (not resolved or (where and isinstance(where[-1], int)))):
        # the key's line was not found (inline tables) or the value is a list item
        needle = str(value)
        hit = next((n for n in range(best if best is not None else low, high)
                    if needle in text[n]), None)
        best = hit if hit is not None else best
    return None if best is None else best + 1


def read_document(path: Path | str) -> _Document:
    """Parse one YAML or TOML file; syntax errors raise UserFileError with the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserFileError(path, f"cannot read the file: {error}") from error
    document = _read_toml(path, text) if path.suffix.lower() == ".toml" else _read_yaml(
        path, text)
    if not isinstance(document.data, dict):
        document.fail((), "the file must be a table with 'events' and/or 'baskets' lists")
    for key, value in document.data.items():
        if key not in TOP_LEVEL:
            document.fail((key,), f"unknown top-level key; allowed: {list(TOP_LEVEL)}"
                          + _hint(key, TOP_LEVEL), field=key)
        if not isinstance(value, list):
            document.fail((key,), f"'{key}' must be a list of records", field=key)
    return document


# ---------------------------------------------------------------- checking values


def _hint(word: str, allowed) -> str:
    close = difflib.get_close_matches(str(word), list(allowed), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(doc: _Document, where: Where, record: Any, allowed: tuple[str, ...],
                what: str) -> None:
    if not isinstance(record, dict):
        doc.fail(where, f"each {what} must be a table of fields: {list(allowed)}",
                 value=record)
    for key in record:
        if key not in allowed:
            doc.fail(where + (key,), f"unknown {what} field{_hint(key, allowed)}; allowed: "
                     f"{list(allowed)}", field=key)


def _text(doc: _Document, where: Where, value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list | bool):
        doc.fail(where, "expected text", field=field, value=value)
    return str(value).strip() or None


def _items(doc: _Document, where: Where, value: Any, field: str) -> list[tuple[Where, str]]:
    """A list written as a list or as one ';'- or ','-separated text."""
    if value is None:
        return []
    if isinstance(value, list):
        found = []
        for position, item in enumerate(value):
            if item is None or isinstance(item, dict | list | bool):
                doc.fail(where + (position,), "expected text in the list", field=field,
                         value=item)
            found.append((where + (position,), str(item).strip()))
        return found
    if isinstance(value, dict | bool):
        doc.fail(where, "expected a list or text", field=field, value=value)
    return [(where, part.strip()) for part in re.split(r"[;,]", str(value)) if part.strip()]


def _date(doc: _Document, where: Where, value: Any, field: str) -> pd.Timestamp | None:
    if value is None:
        return None
    text = str(value).strip()
    if not re.fullmatch(DATE_TEXT, text):
        doc.fail(where, "not a date: write YYYY-MM-DD", field=field, value=value)
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError as error:
        doc.fail(where, f"not a calendar date ({error})", field=field, value=value)
    if not pd.Timestamp.min <= pd.Timestamp(day) <= pd.Timestamp.max:
        doc.fail(where, f"outside the dates a table can hold ({pd.Timestamp.min:%Y-%m-%d} to "
                 f"{pd.Timestamp.max:%Y-%m-%d})", field=field, value=value)
    return pd.Timestamp(day)


@dataclass(frozen=True)
class _Reference:
    """What user rows are checked against: the bundled registry and code lists."""

    event_ids: frozenset[str]
    event_measures: dict[str, str]
    basket_names: frozenset[str]
    groups: frozenset[str]
    hs6: pd.DataFrame  # hs6_codes indexed by hs6
    catalogue: frozenset[str]
    event_types: frozenset[str]


def _reference() -> _Reference:
    """The bundled tables the user's rows are checked against (without the user's rows)."""
    events = datasets.load("events", user=False)
    return _Reference(
        event_ids=frozenset(events["event_id"]),
        event_measures=dict(zip(events["event_id"], events["measure"], strict=True)),
        basket_names=frozenset(datasets.load("hs_baskets", user=False)["basket"]),
        groups=frozenset(GROUP_CODES),
        hs6=datasets.load("hs6_codes").set_index("hs6"),
        catalogue=frozenset(dual_use.catalogue_hs6("export")),
        event_types=frozenset(EVENTS.columns["event_type"].allowed or ()))


def _hs6(doc: _Document, where: Where, code: str, field: str, ref: _Reference) -> str:
    if not re.fullmatch(r"\d{6}", code):
        hint = (" (write HS codes as quoted text: a TOML or YAML number loses leading zeros)"
                if code.isdigit() and len(code) == 5 else "")
        doc.fail(where, f"an HS6 code is six digits{hint}", field=field, value=code)
    if code not in ref.hs6.index:
        doc.fail(where, "unknown HS code: not a subheading of HS2022, HS2017, HS2012 or "
                 "HS2007 (bundled table hs6_codes)", field=field, value=code)
    return code


# ---------------------------------------------------------------- baskets


def _basket_rows(doc: _Document, ref: _Reference, seen: dict[str, str]) -> list[dict]:
    rows = []
    for index, record in enumerate(doc.data.get("baskets", [])):
        where: Where = ("baskets", index)
        _check_keys(doc, where, record, BASKET_FIELDS, "basket")
        for required in ("name", "lines"):
            if record.get(required) in (None, "", []):
                doc.fail(where, f"missing required field {required!r}", field=required)
        name = _text(doc, where + ("name",), record["name"], "name") or ""
        if not re.fullmatch(BASKET_NAME, name):
            doc.fail(where + ("name",), f"a basket name matches {BASKET_NAME} (lower case, "
                     "digits, _)", field="name", value=name)
        if name in ref.basket_names:
            doc.fail(where + ("name",), "basket name already used by a bundled basket; "
                     "choose another", field="name", value=name)
        if name in seen:
            doc.fail(where + ("name",), f"basket defined twice; first at {seen[name]}",
                     field="name", value=name)
        seen[name] = f"{doc.path}:{doc.line(where + ('name',))}"
        group = _text(doc, where + ("product_group",), record.get("product_group"),
                      "product_group")
        if group is not None and group not in ref.groups:
            doc.fail(where + ("product_group",), f"not a product group of the monthly "
                     f"Comtrade table: {sorted(ref.groups)}{_hint(group, ref.groups)}",
                     field="product_group", value=group)
        basket_note = _text(doc, where + ("note",), record.get("note"), "note")
        lines = record["lines"]
        if not isinstance(lines, list):
            doc.fail(where + ("lines",), "lines must be a list", field="lines")
        codes_seen: set[str] = set()
        for position, line in enumerate(lines):
            at: Where = where + ("lines", position)
            if isinstance(line, dict):
                _check_keys(doc, at, line, LINE_FIELDS, "basket line")
                if line.get("hs6") is None:
                    doc.fail(at, "missing required field 'hs6'", field="hs6")
                code_at, raw, mixed, note = (at + ("hs6",), line["hs6"],
                                             line.get("mixed_scope", True), line.get("note"))
            else:
                code_at, raw, mixed, note = at, line, True, None
            code = _hs6(doc, code_at, _text(doc, code_at, raw, "hs6") or "", "hs6", ref)
            if code in codes_seen:
                doc.fail(code_at, f"HS6 line repeated in basket {name!r}", field="hs6",
                         value=code)
            codes_seen.add(code)
            if not isinstance(mixed, bool):
                doc.fail(at + ("mixed_scope",), "expected true or false",
                         field="mixed_scope", value=mixed)
            info = ref.hs6.loc[code]
            rows.append({
                "basket": name, "hs6": code,
                "description": info["description"] if info["in_hs2022"] else NOT_IN_HS2022,
                "in_hs2022": bool(info["in_hs2022"]),
                **{v: info[v] for v in ("hs2017", "hs2012", "hs2007")},
                **{f"{v}_codes": info[f"{v}_codes"] for v in ("hs2017", "hs2012", "hs2007")},
                "mixed_scope": mixed, "in_dual_use_catalogue": code in ref.catalogue,
                "product_group": group,
                "note": _text(doc, at + ("note",), note, "note") or basket_note})
    return rows


# ---------------------------------------------------------------- events


def _event_row(doc: _Document, index: int, record: Any, ref: _Reference,
               baskets: set[str], seen: dict[str, str]) -> dict:
    where: Where = ("events", index)
    _check_keys(doc, where, record, EVENT_FIELDS, "event")
    for required in REQUIRED_EVENT_FIELDS:
        if record.get(required) in (None, "", []):
            doc.fail(where, f"missing required field {required!r}", field=required)

    def text(field: str) -> str | None:
        return _text(doc, where + (field,), record.get(field), field)

    event_id = text("event_id") or ""
    at_id = where + ("event_id",)
    if event_id in ref.event_ids:
        doc.fail(at_id, f"event id already in the bundled registry "
                 f"({ref.event_measures[event_id][:70]}...); choose a new id",
                 field="event_id", value=event_id)
    if re.fullmatch(BUNDLED_EVENT_ID, event_id):
        doc.fail(at_id, "ids A1..C99 are reserved for the bundled timeline; choose another "
                 "(e.g. U1 or a name)", field="event_id", value=event_id)
    if not re.fullmatch(USER_EVENT_ID, event_id):
        doc.fail(at_id, f"an event id matches {USER_EVENT_ID}", field="event_id",
                 value=event_id)
    if event_id in seen:
        doc.fail(at_id, f"event id defined twice; first at {seen[event_id]}",
                 field="event_id", value=event_id)
    seen[event_id] = f"{doc.path}:{doc.line(at_id)}"

    event_type = text("event_type")
    if event_type not in ref.event_types:
        doc.fail(where + ("event_type",), f"unknown event type; allowed: "
                 f"{sorted(ref.event_types)}{_hint(event_type, ref.event_types)}",
                 field="event_type", value=event_type)
    dates = {field: _date(doc, where + (field,), record.get(field), field)
             for field in ("announced", "effective", "end")}
    start = dates["effective"] if dates["effective"] is not None else dates["announced"]
    if start is None:
        doc.fail(where, "give at least one of 'announced' and 'effective'", field="effective")
    if dates["end"] is not None and dates["end"] < start:
        doc.fail(where + ("end",), f"end is before the start {start:%Y-%m-%d}", field="end",
                 value=f"{dates['end']:%Y-%m-%d}")

    targets = _items(doc, where + ("targets",), record.get("targets"), "targets")
    codes = [code for _, code in targets]
    if [c.upper() for c in codes] == ["ALL"]:
        target_text = "ALL"
    else:
        for at, code in targets:
            iso3 = to_iso3(code)
            if code.upper() == "ALL":
                doc.fail(at, "ALL stands alone; do not mix it with country codes",
                         field="targets", value=code)
            if not re.fullmatch(r"[A-Z]{3}", code) or iso3 != code or code == "WLD":
                hint = (f" (did you mean {iso3!r}?)" if iso3 and iso3 not in (code, "WLD")
                        else " (use ALL for every destination)" if iso3 == "WLD" else "")
                doc.fail(at, f"not an ISO 3166-1 alpha-3 country code{hint}",
                         field="targets", value=code)
        target_text = ";".join(dict.fromkeys(codes))

    customs = []
    for at, code in _items(doc, where + ("customs_codes",), record.get("customs_codes"),
                           "customs_codes"):
        if not re.fullmatch(r"\d{10}", code):
            doc.fail(at, "a customs code is ten digits", field="customs_codes", value=code)
        if code[:6] not in ref.hs6.index:
            doc.fail(at, f"unknown HS code: the first six digits {code[:6]} are not a "
                     "subheading of HS2022, HS2017, HS2012 or HS2007", field="customs_codes",
                     value=code)
        customs.append(code)
    hs6 = {_hs6(doc, at, code, "hs6", ref)
           for at, code in _items(doc, where + ("hs6",), record.get("hs6"), "hs6")}
    hs6 |= {code[:6] for code in customs}

    named = []
    for at, name in _items(doc, where + ("basket",), record.get("basket"), "basket"):
        if name not in baskets:
            doc.fail(at, f"unknown basket{_hint(name, baskets)}; known: {sorted(baskets)}",
                     field="basket", value=name)
        named.append(name)
    urls = []
    for at, url in _items(doc, where + ("source_urls",), record.get("source_urls"),
                          "source_urls"):
        problem = url_problem(url)
        if problem is not None:
            doc.fail(at, f"a page address is a plain http:// or https:// address; this one "
                     f"{problem}", field="source_urls", value=url)
        urls.append(url)

    day = {k: None if v is None else f"{v:%Y-%m-%d}" for k, v in dates.items()}
    default_text = ", ".join(f"{label} {day[k]}" for k, label in
                             (("announced", "ann."), ("effective", "eff."), ("end", "end"))
                             if day[k])
    return {
        "event_id": event_id, "section": text("section") or f"User events ({doc.path.name})",
        "date_text": text("date_text") or default_text, **dates,
        "authority": text("authority"), "instrument_no": text("instrument_no"),
        "event_type": event_type, "targets": target_text, "products": text("products"),
        "customs_codes": ";".join(sorted(set(customs))) or None,
        "hs6": ";".join(sorted(hs6)) or None,
        "basket": ";".join(dict.fromkeys(named)) or None, "measure": text("measure"),
        "source_urls": ";".join(urls)}


# ---------------------------------------------------------------- folders


def _typed(frame: pd.DataFrame, schema) -> pd.DataFrame:
    for column, spec in schema.columns.items():
        if spec.kind == "str":
            frame[column] = frame[column].astype("str").where(frame[column].notna())
        elif spec.kind == "bool":
            frame[column] = frame[column].astype("bool")
        elif spec.kind == "date":
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


def parse_files(paths: list[Path], directory: Path | None = None) -> UserData:
    """Read and check user files; baskets first, so events may name any user basket."""
    ref = _reference()
    documents = [read_document(path) for path in paths]
    basket_rows: list[dict] = []
    names: dict[str, str] = {}
    for doc in documents:
        basket_rows += _basket_rows(doc, ref, names)
    known = set(ref.basket_names) | set(names)
    event_rows: list[dict] = []
    ids: dict[str, str] = {}
    for doc in documents:
        for index, record in enumerate(doc.data.get("events", [])):
            event_rows.append(_event_row(doc, index, record, ref, known, ids))
    events = _typed(pd.DataFrame.from_records(event_rows, columns=list(REGISTRY_EVENTS.columns)),
                    REGISTRY_EVENTS)
    baskets = _typed(pd.DataFrame.from_records(basket_rows, columns=list(HS_BASKETS.columns)),
                     HS_BASKETS)
    where = str(directory or (paths[0].parent if paths else "user files"))
    if not events.empty:
        REGISTRY_EVENTS.validate(events, source=f"user events in {where}")
    if not baskets.empty:
        HS_BASKETS.validate(baskets, source=f"user baskets in {where}")
    return UserData(directory=Path(where), files=tuple(paths), events=events, baskets=baskets)


@lru_cache(maxsize=8)
def _read_cached(directory: str, stamp: tuple, data_dir: str) -> UserData:
    return parse_files([Path(name) for name, _, _ in stamp], Path(directory))


def read_user_dir(directory: Path | str) -> UserData:
    """Parse and check every YAML/TOML file of ``directory``.

    Cached on the files' names, sizes and modification times, so an edited file is
    read again. The frames are shared: copy them before changing them.

    Parameters
    ----------
    directory : the folder of your ``.yaml``, ``.yml`` and ``.toml`` files.

    Returns
    -------
    UserData with the folder's ``events`` and ``baskets`` as tables in the bundled
    schemas.

    Raises
    ------
    UserFileError
        A file is invalid; the message starts with ``file:line``.
    DataNotFoundError
        The folder does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "mine.yaml").write_text(
    ...     'baskets:\\n  - name: natural_graphite\\n    product_group: graphite\\n'
    ...     '    lines: ["250410"]\\n', encoding="utf-8")
    >>> read_user_dir(folder).baskets[["basket", "hs6", "product_group"]]
                 basket     hs6 product_group
    0  natural_graphite  250410      graphite
    """
    directory = Path(directory).expanduser().resolve()
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size)
                  for p in user_file_paths(directory))
    return _read_cached(str(directory), stamp, str(config.data_dir()))


def current() -> UserData | None:
    """The user folder named by ``RESEARCH_USER_DIR``, parsed, or ``None`` when unset."""
    folder = config.user_dir()
    return None if folder is None else read_user_dir(folder)


def merge_events(bundled: pd.DataFrame, directory: Path) -> pd.DataFrame:
    """The bundled events followed by the user's (the ``user_rows`` hook of ``events``)."""
    user = read_user_dir(directory).events
    if user.empty:
        return bundled
    merged = pd.concat([bundled, user], ignore_index=True)
    return REGISTRY_EVENTS.validate(merged, source=f"events with the user rows of {directory}")


def merge_baskets(bundled: pd.DataFrame, directory: Path) -> pd.DataFrame:
    """The bundled basket lines followed by the user's (the ``user_rows`` hook of
    ``hs_baskets``)."""
    user = read_user_dir(directory).baskets
    if user.empty:
        return bundled
    merged = pd.concat([bundled, user], ignore_index=True)
    return HS_BASKETS.validate(merged, source=f"hs_baskets with the user rows of {directory}")
