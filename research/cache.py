"""A disk cache of downloads, checked on every read.

Layout: ``<cache_dir>/<source>/<key>.payload<suffix>`` holds the payload (the bytes
as downloaded) and ``<cache_dir>/<source>/<key>.json`` its record:

| field | what |
|---|---|
| ``source`` | the loader's source name (e.g. ``comtrade_api``) |
| ``key`` | hash of source, normalized query and loader version |
| ``query`` | the normalized query (JSON object) |
| ``loader_version`` | the loader's version: a new version never reads old entries |
| ``url`` or ``file`` | where the payload came from |
| ``retrieved`` | UTC time of the download, ISO 8601 |
| ``sha256``, ``bytes`` | hash and size of the payload |
| ``rows`` | records the payload holds, as counted by the loader |
| ``payload`` | the payload's file name (``<key>.payload<suffix>``) |

Records are not trusted (a cache folder may come from someone else): the payload's
path is always derived from the key, never taken from the record; a record naming
any other payload is a bad entry.

Both files are written atomically, payload first, so a record always describes a
complete payload. On read the size, the SHA-256 and the parse are checked; an
entry failing any check is reported with a :class:`~research.errors.CacheWarning`,
deleted and fetched again, never used.

Offline mode (``RESEARCH_OFFLINE=1`` or ``offline=True``) never downloads: a
query that is not cached raises :class:`~research.errors.OfflineError`.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Generic, TypeVar

import pandas as pd

from research import config
from research.errors import CacheWarning, OfflineError, ParameterError
from research.files import write_atomic, write_text_atomic

T = TypeVar("T")
KEY_LENGTH = 32
RECORD_NAME = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}\.json")
STATUS_COLUMNS = ["source", "key", "query", "retrieved", "rows", "bytes", "ok", "url",
                  "loader_version", "problem"]


def normalize_query(query: Mapping[str, object]) -> dict[str, object]:
    """A canonical form of ``query``: keys sorted, ``None`` dropped, text stripped.

    Lists, tuples and sets of scalars are sorted and deduplicated (the queries
    cached here are sets of codes, whose order does not matter).
    """
    normalized: dict[str, object] = {}
    for name in sorted(query):
        value = query[name]
        if value is None:
            continue
        if isinstance(value, list | tuple | set | frozenset):
            items = {_scalar(v) for v in value}
            value = sorted(items, key=lambda v: (str(type(v)), v))
        elif isinstance(value, Mapping):
            value = normalize_query(value)
        else:
            value = _scalar(value)
        normalized[str(name)] = value
    return normalized


def _scalar(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return value
    return str(value)


def cache_key(source: str, query: Mapping[str, object], loader_version: str) -> str:
    """Hex key of (source, normalized query, loader version)."""
    text = json.dumps({"source": source, "query": normalize_query(query),
                       "loader_version": str(loader_version)}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


@dataclass(frozen=True)
class Download:
    """What a download function returns: the bytes and where they came from."""

    payload: bytes
    url: str | None = None
    file: str | None = None


@dataclass(frozen=True)
class Cached(Generic[T]):
    """A parsed payload, its cache record and whether it came from the cache."""

    value: T
    record: dict
    from_cache: bool


def _check_source(source: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", source or ""):
        raise ParameterError(f"cache source name {source!r} must be letters, digits, _ . -")


class Cache:
    """The download cache under ``root`` (default ``config.cache_dir()``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else config.cache_dir()

    def paths(self, source: str, key: str, suffix: str) -> tuple[Path, Path]:
        """Payload and record paths of an entry."""
        _check_source(source)
        folder = self.root / source
        return folder / f"{key}.payload{suffix}", folder / f"{key}.json"

    def read_record(self, record_path: Path) -> dict | None:
        """The record at ``record_path`` or ``None`` when absent or unreadable."""
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def check(self, record_path: Path, suffix: str | None = None
              ) -> tuple[dict | None, Path | None, str | None]:
        """Record, payload path and the problem found (``None`` when the entry is sound).

        The payload path is derived from the record's file name (the key) and
        ``suffix``; without ``suffix``, the record's ``payload`` name must be
        ``<key>.payload`` plus a suffix of letters and digits. It is never a path the
        record chose.
        """
        if not record_path.exists():
            return None, None, "no record"
        record = self.read_record(record_path)
        if record is None or not isinstance(record.get("payload"), str):
            return record, None, "record is not valid JSON or lacks the payload name"
        key = record_path.name.removesuffix(".json")
        if suffix is None:
            own = re.fullmatch(re.escape(f"{key}.payload") + r"((?:\.[A-Za-z0-9]{1,16}){0,3})",
                               record["payload"])
            if own is None:
                return record, None, (f"record field 'payload' = {record['payload']!r} is "
                                      f"not the payload of key {key}")
            suffix = own.group(1)
        payload = record_path.parent / f"{key}.payload{suffix}"
        if record["payload"] != payload.name:
            return record, payload, (f"record field 'payload' = {record['payload']!r} is not "
                                     f"the payload of key {key} ({payload.name})")
        if record.get("key", key) != key:
            return record, payload, (f"record field 'key' = {record.get('key')!r} does not "
                                     f"match its file name {record_path.name}")
        if retrieved_time(record) is None:
            return record, payload, (f"record field 'retrieved' = {record.get('retrieved')!r} "
                                     "is not an ISO 8601 time with its UTC offset")
        if payload.is_symlink():
            return record, payload, "payload is a symbolic link, not a cached file"
        if not payload.is_file():
            return record, payload, "payload file is missing"
        size = payload.stat().st_size
        if size != record.get("bytes"):
            return record, payload, f"payload has {size} bytes, record says {record.get('bytes')}"
        digest = hashlib.sha256(payload.read_bytes()).hexdigest()
        if digest != record.get("sha256"):
            return record, payload, "payload SHA-256 does not match the record"
        return record, payload, None

    def discard(self, record_path: Path, payload: Path | None, problem: str) -> None:
        """Warn about a bad entry and delete its files."""
        warnings.warn(f"cache entry {record_path}: {problem}; deleted, it will be fetched "
                      "again", CacheWarning, stacklevel=3)
        for path in (payload, record_path):  # both inside the cache, named by the key
            if path is not None and (path.exists() or path.is_symlink()):
                path.unlink()

    def read(self, source: str, key: str, suffix: str,
             parse: Callable[[bytes], T]) -> tuple[T, dict] | None:
        """The parsed payload and record of an entry, or ``None`` when absent or bad."""
        _, record_path = self.paths(source, key, suffix)
        if not record_path.exists():
            return None
        record, payload, problem = self.check(record_path, suffix)
        if problem is None:
            try:
                return parse(payload.read_bytes()), record  # type: ignore[union-attr]
            except Exception as error:  # a damaged payload can fail a parser in many ways
                problem = f"payload does not parse ({type(error).__name__}: {error})"
        self.discard(record_path, payload, problem)
        return None

    def write(self, source: str, key: str, suffix: str, query: Mapping[str, object],
              loader_version: str, download: Download, rows: int,
              retrieved: datetime | None = None) -> dict:
        """Store a payload and its record atomically; return the record."""
        payload_path, record_path = self.paths(source, key, suffix)
        write_atomic(payload_path, lambda p: Path(p).write_bytes(download.payload))
        record = {
            "source": source, "key": key, "query": normalize_query(query),
            "loader_version": str(loader_version),
            "retrieved": (retrieved or datetime.now(UTC)).astimezone(UTC).isoformat(
                timespec="seconds"),
            "sha256": hashlib.sha256(download.payload).hexdigest(),
            "bytes": len(download.payload), "rows": int(rows), "payload": payload_path.name,
        }
        if download.url is not None:
            record["url"] = download.url
        if download.file is not None:
            record["file"] = download.file
        write_text_atomic(record_path, json.dumps(record, indent=1, sort_keys=True) + "\n")
        return record


def retrieved_time(record: Mapping[str, object]) -> datetime | None:
    """The record's ``retrieved`` time (aware, UTC), or ``None`` when it is missing, not
    ISO 8601 ("yesterday"), or has no UTC offset: such a record is corrupt."""
    text = record.get("retrieved")
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else None


def _age(record: dict, now: datetime) -> timedelta | None:
    when = retrieved_time(record)
    return None if when is None else now - when


def cached(source: str, query: Mapping[str, object], loader_version: str,
           download: Callable[[], Download], parse: Callable[[bytes], T],
           rows: Callable[[T], int], *, suffix: str = ".json", offline: bool | None = None,
           refresh: bool = False, max_age: timedelta | None = None,
           cache_dir: Path | None = None) -> Cached[T]:
    """Return the parsed payload of ``query``, from the cache or downloaded and cached.

    Parameters
    ----------
    source, query, loader_version : what identifies the entry (see :func:`cache_key`).
    download : fetches the payload (called only on a cache miss).
    parse : bytes -> value; run on every read and before anything is cached, so a
        payload that does not parse is never stored.
    rows : value -> number of records, stored in the record.
    suffix : payload file suffix (``.json``, ``.gz``...).
    offline : refuse downloads (default: ``RESEARCH_OFFLINE``).
    refresh : download again even if cached (ignored offline).
    max_age : entries older than this are downloaded again (used anyway offline).
    cache_dir : the cache root (default ``config.cache_dir()``).

    Raises
    ------
    OfflineError
        Offline and the query is not cached (or its entry was corrupt).
    """
    offline = config.offline() if offline is None else offline
    cache = Cache(cache_dir)
    key = cache_key(source, query, loader_version)
    if not refresh or offline:
        found = cache.read(source, key, suffix, parse)
        if found is not None:
            value, record = found
            age = _age(record, datetime.now(UTC))
            stale = max_age is not None and (age is None or age > max_age)
            if offline or not stale:
                return Cached(value, record, True)
    if offline:
        why = "RESEARCH_OFFLINE is set" if config.offline() else "offline=True"
        raise OfflineError(f"offline mode ({why}): {source} query "
                           f"{json.dumps(normalize_query(query), sort_keys=True)} is not in the "
                           f"cache {cache.root / source}; run without offline mode to "
                           "download it")
    fetched = download()
    value = parse(fetched.payload)
    record = cache.write(source, key, suffix, query, loader_version, fetched, rows(value))
    return Cached(value, record, False)


def cache_status(cache_dir: Path | None = None, source: str | None = None) -> pd.DataFrame:
    """One row per cache entry: source, key, query, retrieved, rows, bytes, ok.

    ``ok`` is True when the payload exists and matches the recorded size and
    SHA-256 (parsing is checked on read, by the loader); ``problem`` says why not.
    Also: url (or file), loader_version. Sorted by source and retrieval time.
    """
    cache = Cache(cache_dir)
    rows = []
    folders = [cache.root / source] if source else (
        sorted(p for p in cache.root.iterdir() if p.is_dir()) if cache.root.is_dir() else [])
    for folder in folders:
        if not folder.is_dir():
            continue
        for record_path in sorted(folder.glob("*.json")):
            if not RECORD_NAME.fullmatch(record_path.name):
                continue  # a payload, or a file that is not the cache's
            record, payload, problem = cache.check(record_path)
            record = record or {}
            rows.append({
                "source": record.get("source", folder.name),
                "key": record.get("key", record_path.stem),
                "query": json.dumps(record.get("query", {}), sort_keys=True),
                "retrieved": pd.to_datetime(record.get("retrieved"), utc=True, errors="coerce"),
                "rows": record.get("rows"),
                "bytes": payload.stat().st_size if payload is not None and payload.is_file()
                else 0,
                "ok": problem is None,
                "url": record.get("url") or record.get("file"),
                "loader_version": record.get("loader_version"),
                "problem": problem,
            })
    table = pd.DataFrame(rows, columns=STATUS_COLUMNS)
    table["retrieved"] = pd.to_datetime(table["retrieved"], utc=True)
    table["rows"] = pd.array(table["rows"], dtype="Int64")
    table["bytes"] = table["bytes"].astype("int64")
    table["ok"] = table["ok"].astype(bool)
    return table.sort_values(["source", "retrieved"], kind="mergesort", ignore_index=True)
