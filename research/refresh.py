"""Pull the newest Comtrade months, merge them into the bundled tables, write updated data.

The bundled trade tables stop in December 2024. :func:`pull_comtrade_monthly` fetches
newer months from the UN Comtrade API (:mod:`research.sources.comtrade_api`, cached)
for the reporter, partners and HS6 lines of the bundled table and adds the product
groups (sums of their HS6 lines, as the bundled groups are). :func:`merge_monthly`
puts fresh rows over bundled ones: a fresh row replaces the bundled row of the same
TRADE_FLOWS key, so no month is counted twice, and values of past months that changed
beyond a relative tolerance are listed as revisions (with a
:class:`~research.errors.RevisionWarning`). :func:`write_updated_data` writes every
bundled table, the merged ones replaced, to the updated-data folder
(``RESEARCH_UPDATED_DIR``, default ``<cache>/updated``); point ``RESEARCH_DATA_DIR``
there to run the notebooks on the updated data. :func:`update_comtrade` does all three.

The updated folder holds the bundled data plus every pull into it: a pull merges onto
the folder's updated table when there is one (made from the same bundled data), so
pulls in a row for different partners or lines keep each other's months, and tables
updated earlier are carried over when another table is updated.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from research import config, datasets
from research.errors import (
    CoverageWarning,
    DataNotFoundError,
    ParameterError,
    RevisionWarning,
)
from research.files import make_temp_dir, write_atomic, write_text_atomic
from research.http import FetchOptions
from research.schemas import TRADE_FLOWS
from research.sources import comtrade_api
from research.sources.comtrade_monthly import GROUP_CODES

DATASET_BY_FREQ = {"M": "china_exports_monthly", "A": "china_exports_annual"}
REVISION_TOLERANCE = 0.005  # relative change above which a past value counts as revised
OVERLAP_PERIODS = {"M": 12, "A": 1}  # bundled periods pulled again to catch revisions
SERIES = ["reporter_iso3", "partner_iso3", "flow", "product", "product_level", "freq"]
SORT = ["product_level", "product", "partner_iso3", "reporter_iso3", "flow", "period"]
REVISION_COLUMNS = [*TRADE_FLOWS.key, "product_level", "measure", "old", "new",
                    "relative_change", "old_source", "new_source"]
MANIFEST = "UPDATED.json"


@dataclass(frozen=True)
class PullSpec:
    """What a pull asks for: reporter, partners, HS6 lines, flows and periods."""

    reporter: str
    partners: tuple[str, ...]
    hs: tuple[str, ...]
    flows: tuple[str, ...]
    freq: str
    start: str
    end: str


def _period_text(stamp: pd.Timestamp, freq: str) -> str:
    return stamp.strftime("%Y-%m") if freq == "M" else str(stamp.year)


def default_spec(bundled: pd.DataFrame, *, freq: str = "M", reporter: str | None = None,
                 partners: Sequence[str] | None = None, hs: Sequence[str] | None = None,
                 basket: str | None = None, start: str | None = None, end: str | None = None,
                 today: pd.Timestamp | None = None) -> PullSpec:
    """Fill what the caller left out from the bundled table.

    Defaults: the bundled table's reporter, its partners (WLD included) and flows;
    the HS6 lines of its products (the lines of each product group, see
    ``comtrade_monthly.GROUP_CODES``, and its HS6 products), or the lines of
    ``basket`` (see ``research.reference.baskets``); from 12 months (1 year) before
    the bundled table's last period, to catch revisions, to the current month (year).
    """
    freq = freq.upper()
    if freq not in DATASET_BY_FREQ:
        raise ParameterError(f"freq: {freq!r} must be 'M' or 'A'")
    if bundled.empty:
        raise ParameterError("the bundled table is empty; nothing to take defaults from")
    if hs is not None and basket is not None:
        raise ParameterError("give either hs codes or a basket, not both")
    reporters = sorted(bundled["reporter_iso3"].unique())
    if reporter is None and len(reporters) != 1:
        raise ParameterError(f"the bundled table has reporters {reporters}; name one")
    if basket is not None:
        from research.reference.baskets import basket_codes

        hs = basket_codes(basket)
    if hs is None:
        products = set(bundled["product"].unique())
        hs = sorted({c for group, codes in GROUP_CODES.items() if group in products
                     for c in codes} | {p for p in products if p.isdigit() and len(p) == 6})
    last = bundled["period"].max()
    if start is None:
        back = pd.DateOffset(months=OVERLAP_PERIODS["M"] - 1) if freq == "M" else \
            pd.DateOffset(years=OVERLAP_PERIODS["A"])
        start = _period_text(last - back, freq)
    today = today if today is not None else pd.Timestamp(datetime.now(UTC).date())
    end = end if end is not None else _period_text(today, freq)
    return PullSpec(reporter or reporters[0],
                    tuple(partners) if partners else tuple(sorted(bundled["partner_iso3"].unique())),
                    tuple(hs), tuple(sorted(bundled["flow"].unique())), freq, start, end)


def aggregate_groups(hs6: pd.DataFrame, groups: Mapping[str, Sequence[str]] = GROUP_CODES,
                     pulled: Sequence[str] | None = None) -> pd.DataFrame:
    """Group rows: sums of the HS6 rows of each group, per reporter, partner, flow, period.

    Only groups whose every HS6 line was pulled (``pulled``, default the codes in
    ``hs6``) are built. Values are sums; quantities are sums of the lines that have a
    weight (NaN when none has), as in the bundled groups.
    """
    pulled_codes = set(pulled if pulled is not None else hs6["product"].unique())
    rows = []
    keys = ["reporter_iso3", "partner_iso3", "flow", "period", "freq"]
    lines = hs6[hs6["product_level"].eq("hs6")]
    for group, codes in groups.items():
        if not set(codes) <= pulled_codes:
            continue
        part = lines[lines["product"].isin(codes)]
        if part.empty:
            continue
        summed = part.groupby(keys, as_index=False).agg(
            value_usd=("value_usd", lambda v: v.sum(min_count=1)),
            quantity=("quantity", lambda v: v.sum(min_count=1)),
            source=("source", "max"))
        summed["product"], summed["product_level"], summed["quantity_unit"] = (
            group, "group", "kg")
        rows.append(summed)
    if not rows:
        return comtrade_api.empty_trade_flows()
    return pd.concat(rows, ignore_index=True)[list(TRADE_FLOWS.columns)]


def pull_comtrade_monthly(reporter: str | None = None, partners: Sequence[str] | None = None,
                          hs: Sequence[str] | None = None, *, basket: str | None = None,
                          start: str | None = None, end: str | None = None,
                          freq: str = "M", bundled: pd.DataFrame | None = None,
                          api_key: str | None = None, options: FetchOptions | None = None,
                          offline: bool | None = None, refresh: bool = False,
                          cache_dir: Path | None = None,
                          progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Fetch the newest periods from the Comtrade API: HS6 rows plus product groups.

    Parameters
    ----------
    reporter, partners, hs, basket, start, end : see :func:`default_spec`; whatever is
        left out comes from the bundled table.
    freq : ``M`` (merged into ``china_exports_monthly``) or ``A`` (``china_exports_annual``).
    bundled : the bundled table (default: loaded).
    api_key, options, offline, refresh, cache_dir, progress : see
        :func:`research.sources.comtrade_api.get_trade`.

    Returns
    -------
    TRADE_FLOWS rows: one per HS6 line and partner, plus group rows for the groups the
    bundled table has and whose lines were all pulled. Empty when nothing is published.
    """
    freq = freq.upper()
    bundled = bundled if bundled is not None else datasets.load(
        DATASET_BY_FREQ.get(freq, DATASET_BY_FREQ["M"]))
    spec = default_spec(bundled, freq=freq, reporter=reporter, partners=partners, hs=hs,
                        basket=basket, start=start, end=end)
    lines = comtrade_api.get_trade(spec.reporter, spec.partners, spec.hs, flows=spec.flows,
                                   freq=spec.freq, start=spec.start, end=spec.end,
                                   api_key=api_key, options=options, offline=offline,
                                   refresh=refresh, cache_dir=cache_dir, progress=progress)
    if lines.empty:
        return lines
    bundled_groups = set(bundled.loc[bundled["product_level"].eq("group"), "product"])
    groups = {g: c for g, c in GROUP_CODES.items() if g in bundled_groups}
    grouped = aggregate_groups(lines, groups, pulled=spec.hs)
    fresh = pd.concat([lines, grouped], ignore_index=True) if not grouped.empty else lines
    return comtrade_api.validate(fresh, "Comtrade pull")


def empty_revisions() -> pd.DataFrame:
    """A revisions table without rows."""
    kinds = {"period": "datetime64[ns]", "old": "float64", "new": "float64",
             "relative_change": "float64"}
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, "str")) for c in REVISION_COLUMNS})


def _revisions(overlap: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    frames = []
    for measure in ("value_usd", "quantity"):
        old, new = overlap[f"{measure}_old"], overlap[f"{measure}_new"]
        scale = np.maximum(old.abs(), new.abs())
        relative = (new - old) / old.where(old.ne(0))
        changed = ((new - old).abs() > tolerance * scale) | (old.isna() != new.isna())
        if not changed.any():
            continue
        part = overlap.loc[changed, [*TRADE_FLOWS.key, "product_level"]].copy()
        part["measure"] = measure
        part["old"], part["new"] = old[changed], new[changed]
        part["relative_change"] = relative[changed]
        part["old_source"] = overlap.loc[changed, "source_old"]
        part["new_source"] = overlap.loc[changed, "source_new"]
        frames.append(part)
    if not frames:
        return empty_revisions()
    table = pd.concat(frames, ignore_index=True)[REVISION_COLUMNS]
    return table.sort_values([*SORT, "measure"], kind="mergesort", ignore_index=True)


def merge_monthly(bundled: pd.DataFrame, fresh: pd.DataFrame, *,
                  tolerance: float = REVISION_TOLERANCE, new_series: bool = False
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bundled rows with fresh rows put over them, and the revisions found.

    Parameters
    ----------
    bundled, fresh : TRADE_FLOWS tables (fresh from :func:`pull_comtrade_monthly`).
    tolerance : relative change of a value or quantity above which it is a revision.
    new_series : also add fresh series (reporter, partner, flow, product) that the
        bundled table lacks; by default only the bundled series are extended, so the
        table keeps its coverage.

    Returns
    -------
    merged : TRADE_FLOWS rows, one per key: fresh rows replace bundled rows of the same
        key (no month counted twice), sorted like the bundled table.
    revisions : one row per key and measure (value_usd, quantity) whose bundled value
        changed by more than ``tolerance`` (or became or stopped being missing): key,
        product_level, measure, old, new, relative_change, old_source, new_source.

    Warns
    -----
    RevisionWarning
        When revisions are found, saying how many and in which periods.
    CoverageWarning
        When periods after the bundled ones lack series of the bundled last period.
    """
    if tolerance < 0:
        raise ParameterError(f"tolerance must be >= 0, got {tolerance}")
    key = list(TRADE_FLOWS.key)
    TRADE_FLOWS.validate(bundled, source="bundled table")
    if not fresh.empty:
        TRADE_FLOWS.validate(fresh, source="fresh rows")
        if not new_series:
            fresh = fresh.merge(bundled[SERIES].drop_duplicates(), on=SERIES, how="inner")
    if fresh.empty:
        return bundled.sort_values(SORT, kind="mergesort", ignore_index=True), \
            empty_revisions()
    fresh = fresh[list(TRADE_FLOWS.columns)].astype(bundled.dtypes.to_dict())
    overlap = bundled.merge(fresh.drop(columns=["product_level"]), on=key,
                            suffixes=("_old", "_new"))
    revisions = _revisions(overlap, tolerance)
    replaced = bundled.merge(fresh[key], on=key, how="left", indicator=True)["_merge"]
    kept = bundled[replaced.eq("left_only").to_numpy()]
    merged = pd.concat([kept, fresh], ignore_index=True)
    merged = merged.sort_values(SORT, kind="mergesort", ignore_index=True)
    TRADE_FLOWS.validate(merged, source="merged table")
    _warn_coverage(bundled, merged)
    if not revisions.empty:
        periods = sorted(revisions["period"].dt.strftime("%Y-%m").unique())
        warnings.warn(f"{len(revisions)} value(s) of {revisions[key].drop_duplicates().shape[0]}"
                      f" row(s) changed by more than {tolerance:.1%} from the bundled data, "
                      f"in {len(periods)} period(s): {', '.join(periods)}", RevisionWarning,
                      stacklevel=2)
    return merged, revisions


def _warn_coverage(bundled: pd.DataFrame, merged: pd.DataFrame) -> None:
    """Warn when periods after the bundled ones lack series of the bundled last period."""
    last = bundled["period"].max()
    expected = bundled.loc[bundled["period"].eq(last), SERIES].drop_duplicates()
    added = merged[merged["period"].gt(last)]
    gaps = []
    for period, rows in added.groupby("period"):
        lacking = expected.merge(rows[SERIES], on=SERIES, how="left", indicator=True)
        lacking = lacking[lacking["_merge"].eq("left_only")]
        if not lacking.empty:
            first = lacking.iloc[0]
            gaps.append(f"{period:%Y-%m}: {len(lacking)} of {len(expected)} (e.g. "
                        f"{first['partner_iso3']} {first['product']})")
    if gaps:
        warnings.warn("new period(s) lack series the bundled table has in its last period "
                      f"{last:%Y-%m}: {'; '.join(gaps)}. Either nothing was traded or the "
                      "pull left them out; notebooks that need a missing series (e.g. the "
                      "world total WLD) may fail. Pull every bundled partner and line (the "
                      "default) to avoid it.", CoverageWarning, stacklevel=3)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    write_atomic(path, lambda p: frame.to_parquet(p, index=False, engine="pyarrow",
                                                  compression="zstd"))


def write_updated_data(tables: Mapping[str, pd.DataFrame], out_dir: Path | None = None, *,
                       data_dir: Path | None = None, notes: Mapping[str, object] | None = None
                       ) -> Path:
    """Write all bundled tables, with ``tables`` replacing theirs, to ``out_dir``.

    Parameters
    ----------
    tables : dataset name -> merged table (checked against the dataset's schema).
    out_dir : the updated-data folder (default ``config.updated_dir()``).
    data_dir : the bundled data (default ``config.data_dir()``).
    notes : added to the folder's ``UPDATED.json`` manifest.

    Notes
    -----
    The folder is built beside ``out_dir`` and swapped in whole, so a reader never
    sees a half-written folder. ``RESEARCH_DATA_DIR=<out_dir>`` runs every notebook.
    """
    data_dir = Path(data_dir or config.data_dir()).resolve()
    out_dir = Path(out_dir or config.updated_dir()).resolve()
    if out_dir == data_dir or data_dir in out_dir.parents:
        raise ParameterError(f"{out_dir}: the updated data must not be written into the "
                             f"bundled data folder {data_dir}")
    registry = datasets.registry()
    unknown = sorted(set(tables) - set(registry))
    if unknown:
        raise ParameterError(f"unknown dataset(s) {unknown}; known: {sorted(registry)}")
    missing = [str(d.path(data_dir)) for d in registry.values() if not d.path(data_dir).exists()]
    if missing:
        raise DataNotFoundError(f"bundled table(s) missing: {missing}; rebuild them with "
                                f"`{datasets.BUILD_COMMAND}`")
    for name, frame in tables.items():
        schema = registry[name].schema
        if schema is not None:
            schema.validate(frame, source=f"updated {name}")
    previous = previous_update(out_dir, data_dir)
    kept = {name: registry[name].path(out_dir) for name in previous.get("updated_tables", {})
            if name in registry and name not in tables and registry[name].path(out_dir).is_file()}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # renamed into place as the updated-data folder: the umask's mode, not mkdtemp's 0700
    staging = make_temp_dir(out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp")
    try:
        shutil.copytree(data_dir, staging, dirs_exist_ok=True)
        for name, path in kept.items():  # tables earlier pulls updated stay updated
            shutil.copyfile(path, registry[name].path(staging))
        summary = {name: previous["updated_tables"][name] for name in kept}
        for name, frame in tables.items():
            _write_parquet(frame, registry[name].path(staging))
            summary[name] = {"rows": len(frame),
                             "first_period": str(frame["period"].min().date())
                             if "period" in frame else None,
                             "last_period": str(frame["period"].max().date())
                             if "period" in frame else None,
                             "sources": sorted(frame["source"].unique())
                             if "source" in frame else None}
        history = [*previous.get("history", []), previous["notes"]] if "notes" in previous \
            else []
        manifest = {"created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "bundled_data": str(data_dir), "updated_tables": summary,
                    "notes": dict(notes or {}), "history": history}
        write_text_atomic(staging / MANIFEST, json.dumps(manifest, indent=1, default=str) + "\n")
        _swap(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    datasets.load.cache_clear()
    return out_dir


def previous_update(out_dir: Path, data_dir: Path) -> dict:
    """The ``UPDATED.json`` manifest of ``out_dir`` when it was made from ``data_dir``
    (the bundled data of this run), else ``{}`` (no folder, another bundled data
    folder, or an unreadable manifest: the next pull starts from the bundled tables)."""
    try:
        manifest = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if (not isinstance(manifest, dict)
            or manifest.get("bundled_data") != str(Path(data_dir).resolve())
            or not isinstance(manifest.get("updated_tables"), dict)):
        return {}
    return manifest


def merge_base(name: str, out_dir: Path | None = None, data_dir: Path | None = None
               ) -> tuple[pd.DataFrame, Path]:
    """The table a pull of dataset ``name`` merges onto, and where it was read.

    The updated folder's table when an earlier pull into ``out_dir`` (from the same
    bundled data) updated it, so that pulls in a row add up; else the bundled table.
    """
    data_dir = Path(data_dir or config.data_dir()).resolve()
    out_dir = Path(out_dir or config.updated_dir()).resolve()
    dataset = datasets.get(name)
    updated = dataset.path(out_dir)
    if name in previous_update(out_dir, data_dir).get("updated_tables", {}) \
            and updated.is_file():
        return pd.read_parquet(updated), updated
    path = dataset.path(data_dir)
    if not path.exists():
        raise DataNotFoundError(f"{path}: bundled dataset {name!r} is missing")
    return pd.read_parquet(path), path


def _swap(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with two renames."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{datetime.now(UTC):%Y%m%d%H%M%S%f}")
        out_dir.rename(old)
    try:
        staging.rename(out_dir)
    except OSError:
        if old is not None:
            old.rename(out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@dataclass
class UpdateResult:
    """What :func:`update_comtrade` did."""

    dataset: str
    fresh: pd.DataFrame
    merged: pd.DataFrame
    revisions: pd.DataFrame
    out_dir: Path | None
    added_periods: list[str] = field(default_factory=list)


def update_comtrade(reporter: str | None = None, partners: Sequence[str] | None = None,
                    hs: Sequence[str] | None = None, *, basket: str | None = None,
                    start: str | None = None, end: str | None = None, freq: str = "M",
                    api_key: str | None = None, options: FetchOptions | None = None,
                    offline: bool | None = None, refresh: bool = False,
                    cache_dir: Path | None = None, out_dir: Path | None = None,
                    data_dir: Path | None = None, tolerance: float = REVISION_TOLERANCE,
                    new_series: bool = False, write: bool = True,
                    progress: Callable[[int, int], None] | None = None) -> UpdateResult:
    """Pull, merge and (``write=True``) write the updated data folder.

    Parameters are those of :func:`pull_comtrade_monthly`, :func:`merge_monthly`
    (``tolerance``, ``new_series``: also add lines the bundled table lacks, e.g. a
    basket's HS6 lines asked for by name) and :func:`write_updated_data`. Nothing is written when the pull is empty.
    """
    freq = freq.upper()
    if freq not in DATASET_BY_FREQ:
        raise ParameterError(f"freq: {freq!r} must be 'M' or 'A'")
    name = DATASET_BY_FREQ[freq]
    path = datasets.get(name).path(Path(data_dir) if data_dir else None)
    if not path.exists():
        raise DataNotFoundError(f"{path}: bundled dataset {name!r} is missing")
    bundled = pd.read_parquet(path)
    base, _ = merge_base(name, out_dir, data_dir)  # earlier pulls into out_dir kept
    fresh = pull_comtrade_monthly(reporter, partners, hs, basket=basket, start=start, end=end,
                                  freq=freq, bundled=base, api_key=api_key,
                                  options=options, offline=offline, refresh=refresh,
                                  cache_dir=cache_dir, progress=progress)
    merged, revisions = merge_monthly(base, fresh, tolerance=tolerance,
                                      new_series=new_series)
    added = sorted(set(merged["period"]) - set(bundled["period"]))
    added_text = [_period_text(p, freq) for p in added]
    written = None
    if write and not fresh.empty:
        written = write_updated_data({name: merged}, out_dir, data_dir=data_dir, notes={
            "pulled_rows": len(fresh), "added_periods": added_text,
            "revisions": len(revisions), "revision_tolerance": tolerance})
    return UpdateResult(name, fresh, merged, revisions, written, added_text)

