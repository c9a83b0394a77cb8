"""Schemas of the tidy tables, checked whenever a table is built or loaded.

A schema lists columns with a kind (``str``, ``int``, ``float``, ``date``,
``bool``), whether missing values are allowed, and optional checks (a regular
expression, a set of allowed values, a lower bound). ``Schema.validate`` raises
:class:`~research.errors.SchemaError` naming the table, column, row and value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from research.errors import SchemaError

ISO3 = r"[A-Z]{3}"
HS6 = r"\d{6}"
# Dates a table may hold: the nanosecond range every stored table uses (1677-09-21 to
# 2262-04-11). pandas 3 parses 1600 or 9999 to microseconds without a word; they fail later.
DATE_MIN, DATE_MAX = pd.Timestamp.min, pd.Timestamp.max


@dataclass(frozen=True)
class Column:
    """One column of a tidy table."""

    kind: str  # "str", "int", "float", "date", "bool"
    nullable: bool = False
    pattern: str | None = None
    allowed: frozenset | None = None
    minimum: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Schema:
    """Columns, key columns and a name used in error messages."""

    name: str
    columns: dict[str, Column]
    key: tuple[str, ...] = ()
    description: str = ""
    extra_columns: bool = False
    units: dict[str, str] = field(default_factory=dict)

    def validate(self, frame: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
        """Return ``frame`` if it matches the schema, else raise ``SchemaError``.

        Parameters
        ----------
        frame : DataFrame to check.
        source : file or table name to put in error messages (defaults to the schema name).

        Examples
        --------
        >>> import pandas as pd
        >>> prices = Schema(name="prices", columns={"iso3": Column("str", pattern=ISO3),
        ...                                         "price": Column("float", minimum=0)})
        >>> prices.validate(pd.DataFrame({"iso3": ["JPN"], "price": [1.5]})).shape
        (1, 2)
        >>> prices.validate(pd.DataFrame({"iso3": ["Japan"], "price": [1.5]}))
        Traceback (most recent call last):
        ...
        research.errors.SchemaError: prices: row 0: field 'iso3': value 'Japan': does not match the pattern '[A-Z]{3}'
        """
        where = source or self.name
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise SchemaError(where, f"missing column(s); expected {list(self.columns)}",
                              field=missing[0])
        if not self.extra_columns:
            extra = [c for c in frame.columns if c not in self.columns]
            if extra:
                raise SchemaError(where, "unexpected column", field=extra[0])
        if frame.empty:
            raise SchemaError(where, "table is empty")
        for name, column in self.columns.items():
            _check_column(frame[name], name, column, where)
        if self.key:
            duplicated = frame.duplicated(list(self.key), keep=False)
            if duplicated.any():
                first = frame.loc[duplicated, list(self.key)].iloc[0].to_dict()
                raise SchemaError(where, f"duplicate key {self.key}", field=",".join(self.key),
                                  value=first, row=int(np.flatnonzero(duplicated)[0]))
        return frame


def _fail(where: str, name: str, series: pd.Series, bad: pd.Series, message: str) -> None:
    position = int(np.flatnonzero(bad.to_numpy())[0])
    raise SchemaError(where, message, field=name, value=series.iloc[position], row=position)


def _check_column(series: pd.Series, name: str, column: Column, where: str) -> None:
    isna = series.isna()
    if not column.nullable and isna.any():
        _fail(where, name, series, isna, "missing value in a column that must be complete")
    present = series[~isna]
    kind = column.kind
    if kind == "date":
        if not pd.api.types.is_datetime64_any_dtype(series):
            raise SchemaError(where, f"expected dates, got dtype {series.dtype}", field=name)
        outside = (series.lt(DATE_MIN) | series.gt(DATE_MAX)) & ~isna
        if outside.any():
            _fail(where, name, series, outside, f"date outside {DATE_MIN:%Y-%m-%d} to "
                  f"{DATE_MAX:%Y-%m-%d}")
    elif kind in ("int", "float"):
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise SchemaError(where, f"expected numbers, got dtype {series.dtype}", field=name)
        if kind == "int" and not pd.api.types.is_integer_dtype(series):
            raise SchemaError(where, f"expected integers, got dtype {series.dtype}", field=name)
        if kind == "float":
            infinite = pd.Series(np.isinf(series.to_numpy(dtype=float, na_value=np.nan)),
                                 index=series.index)
            if infinite.any():
                _fail(where, name, series, infinite, "infinite value")
        if column.minimum is not None:
            below = series.lt(column.minimum) & ~isna
            if below.any():
                _fail(where, name, series, below, f"value below the minimum {column.minimum}")
    elif kind == "bool":
        if not pd.api.types.is_bool_dtype(series):
            raise SchemaError(where, f"expected booleans, got dtype {series.dtype}", field=name)
    elif kind == "str":
        not_str = ~present.map(lambda v: isinstance(v, str))
        if not_str.any():
            bad = pd.Series(False, index=series.index)
            bad[not_str[not_str].index] = True
            _fail(where, name, series, bad, "expected text")
    else:  # pragma: no cover - a programming error in a schema definition
        raise ValueError(f"unknown column kind {kind!r}")
    if column.pattern is not None and len(present):
        regex = re.compile(column.pattern)
        mismatch = ~present.map(lambda v: bool(regex.fullmatch(str(v))))
        if mismatch.any():
            bad = pd.Series(False, index=series.index)
            bad[mismatch[mismatch].index] = True
            _fail(where, name, series, bad, f"does not match the pattern {column.pattern!r}")
    if column.allowed is not None and len(present):
        outside = ~present.isin(column.allowed)
        if outside.any():
            bad = pd.Series(False, index=series.index)
            bad[outside[outside].index] = True
            _fail(where, name, series, bad, f"not one of {sorted(column.allowed)}")


TRADE_FLOWS = Schema(
    name="trade_flows",
    description="One row per reporter, partner, flow, product and period.",
    columns={
        "reporter_iso3": Column("str", pattern=ISO3),
        "partner_iso3": Column("str", pattern=ISO3, description="WLD for the world total"),
        "flow": Column("str", allowed=frozenset({"export", "import"})),
        "product": Column("str", description="HS code (zero-padded) or a product group name"),
        "product_level": Column("str", allowed=frozenset({"hs6", "group"})),
        "period": Column("date", description="first day of the month or year"),
        "freq": Column("str", allowed=frozenset({"M", "A"})),
        "value_usd": Column("float", nullable=True, minimum=0),
        "quantity": Column("float", nullable=True, minimum=0),
        "quantity_unit": Column("str", nullable=True, allowed=frozenset({"kg"})),
        "source": Column("str"),
    },
    key=("reporter_iso3", "partner_iso3", "flow", "product", "period", "freq"),
    units={"value_usd": "current USD", "quantity": "kg"},
)

MILITARY_EXPENDITURE = Schema(
    name="military_expenditure",
    description="One row per country, year and measure (SIPRI).",
    columns={
        "iso3": Column("str", pattern=ISO3),
        "country": Column("str"),
        "year": Column("int", minimum=1949),
        "measure": Column("str", allowed=frozenset({
            "constant_usd", "current_usd", "share_of_gdp", "local_currency_fy",
            "local_currency_cy", "per_capita_usd", "share_of_government"})),
        "value": Column("float", nullable=True, minimum=0),
        "unit": Column("str"),
        "missing_marker": Column("str", nullable=True, allowed=frozenset({"...", "xxx"})),
        "source": Column("str"),
    },
    key=("iso3", "year", "measure"),
)

EVENTS = Schema(
    name="events",
    description="One record per export-control measure or context event.",
    columns={
        "event_id": Column("str", pattern=r"[A-C]\d{1,2}"),
        "section": Column("str"),
        "date_text": Column("str", description="the date cell as written in the timeline"),
        "announced": Column("date", nullable=True),
        "effective": Column("date", nullable=True),
        "end": Column("date", nullable=True, description="suspension, removal or end date"),
        "authority": Column("str", nullable=True),
        "instrument_no": Column("str", nullable=True),
        "event_type": Column("str", allowed=frozenset({
            "licensing", "ban", "quota", "end-user ban", "entity listing", "suspension",
            "import ban", "legal", "context", "investigation"})),
        "targets": Column("str", description="semicolon-separated ISO3 codes, ALL, or empty"),
        "products": Column("str", nullable=True),
        "customs_codes": Column("str", nullable=True, description="10-digit codes, ';'-separated"),
        "hs6": Column("str", nullable=True, description="distinct HS6 prefixes, ';'-separated"),
        "basket": Column("str", nullable=True, description="named basket(s) the measure covers"),
        "measure": Column("str"),
        "source_urls": Column("str"),
    },
    key=("event_id",),
)
