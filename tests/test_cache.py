"""The download cache: keys, records, integrity checks, offline mode and status."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest

from research import cache as cache_module
from research.cache import Download, cache_key, cache_status, cached, normalize_query
from research.errors import CacheWarning, OfflineError, ParameterError

PAYLOAD = b'{"data": [{"v": 1}, {"v": 2}, {"v": 3}]}'
QUERY = {"reporter": "CHN", "hs": ["850511", "280530"], "period": "202401"}


class Downloads:
    """Counts downloads; returns ``payload`` each time."""

    def __init__(self, payload: bytes = PAYLOAD) -> None:
        self.payload, self.calls = payload, 0

    def __call__(self) -> Download:
        self.calls += 1
        return Download(self.payload, url="https://api.example.test/get?period=202401")


def parse(payload: bytes) -> list:
    return json.loads(payload)["data"]


def run(root: Path, download: Downloads, **options) -> cache_module.Cached:
    return cached("demo", QUERY, "1", download, parse, len, cache_dir=root, **options)


def test_normalized_query_and_key() -> None:
    assert normalize_query({"b": [" 2", "1", "1"], "a": " x ", "c": None}) == {
        "a": "x", "b": ["1", "2"]}
    # order of keys and of list items does not change the key; the loader version does
    same = cache_key("demo", {"period": "202401", "hs": ["280530", "850511"],
                              "reporter": "CHN"}, "1")
    assert cache_key("demo", QUERY, "1") == same
    assert cache_key("demo", QUERY, "2") != same
    assert cache_key("other", QUERY, "1") != same
    assert len(same) == cache_module.KEY_LENGTH


def test_miss_then_hit_with_record(tmp_path: Path) -> None:
    download = Downloads()
    first = run(tmp_path, download)
    assert not first.from_cache and first.value == [{"v": 1}, {"v": 2}, {"v": 3}]
    second = run(tmp_path, download)
    assert second.from_cache and second.value == first.value and download.calls == 1
    record = second.record
    assert record["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert record["rows"] == 3 and record["bytes"] == len(PAYLOAD)
    assert record["url"] == "https://api.example.test/get?period=202401"
    assert record["loader_version"] == "1" and record["retrieved"].endswith("+00:00")
    key = cache_key("demo", QUERY, "1")
    assert (tmp_path / "demo" / f"{key}.json").is_file()
    assert (tmp_path / "demo" / f"{key}.payload.json").read_bytes() == PAYLOAD
    assert not list((tmp_path / "demo").glob("*.tmp"))  # atomic writes leave nothing behind


def test_new_loader_version_does_not_serve_old_entry(tmp_path: Path) -> None:
    download = Downloads()
    run(tmp_path, download)
    cached("demo", QUERY, "2", download, parse, len, cache_dir=tmp_path)
    assert download.calls == 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "garbage_same_hash"])
def test_corrupt_entry_is_reported_deleted_and_fetched_again(tmp_path: Path,
                                                             damage: str) -> None:
    download = Downloads()
    run(tmp_path, download)
    key = cache_key("demo", QUERY, "1")
    payload = tmp_path / "demo" / f"{key}.payload.json"
    record_path = tmp_path / "demo" / f"{key}.json"
    if damage == "truncate":
        payload.write_bytes(PAYLOAD[:10])
    elif damage == "flip":
        payload.write_bytes(PAYLOAD.replace(b"1", b"7"))  # same size, other hash
    elif damage == "delete":
        payload.unlink()
    else:  # a payload that matches its record but does not parse
        bad = b"not json"
        payload.write_bytes(bad)
        record = json.loads(record_path.read_text())
        record.update(sha256=hashlib.sha256(bad).hexdigest(), bytes=len(bad))
        record_path.write_text(json.dumps(record))
    with pytest.warns(CacheWarning, match="deleted, it will be fetched again"):
        again = run(tmp_path, download)
    assert not again.from_cache and download.calls == 2
    assert again.value == [{"v": 1}, {"v": 2}, {"v": 3}]
    assert payload.read_bytes() == PAYLOAD  # rewritten


def test_payload_that_does_not_parse_is_never_cached(tmp_path: Path) -> None:
    with pytest.raises(json.JSONDecodeError):
        run(tmp_path, Downloads(b"<html>error</html>"))
    assert not list(tmp_path.rglob("*.json"))


def test_offline_refuses_to_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    download = Downloads()
    with pytest.raises(OfflineError, match="offline=True.*demo query.*not in the cache"):
        run(tmp_path, download, offline=True)
    monkeypatch.setenv("RESEARCH_OFFLINE", "1")
    with pytest.raises(OfflineError, match="RESEARCH_OFFLINE is set") as caught:
        run(tmp_path, download)
    assert '"reporter": "CHN"' in str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)  # a DataNotFoundError
    assert download.calls == 0
    monkeypatch.delenv("RESEARCH_OFFLINE")
    run(tmp_path, download)
    monkeypatch.setenv("RESEARCH_OFFLINE", "1")
    hit = run(tmp_path, download, refresh=True, max_age=timedelta(0))
    assert hit.from_cache and download.calls == 1  # offline uses even a stale entry


def test_refresh_and_max_age(tmp_path: Path) -> None:
    download = Downloads()
    run(tmp_path, download)
    run(tmp_path, download, refresh=True)
    assert download.calls == 2
    run(tmp_path, download, max_age=timedelta(days=1))
    assert download.calls == 2
    run(tmp_path, download, max_age=timedelta(0))
    assert download.calls == 3


def test_cache_status(tmp_path: Path) -> None:
    assert cache_status(tmp_path / "nothing").empty
    run(tmp_path, Downloads())
    cached("other", {"q": 1}, "1", Downloads(b'{"data": []}'), parse, len, cache_dir=tmp_path)
    status = cache_status(tmp_path)
    assert list(status.columns[:7]) == ["source", "key", "query", "retrieved", "rows",
                                        "bytes", "ok"]
    assert sorted(status["source"]) == ["demo", "other"]
    demo = status[status["source"].eq("demo")].iloc[0]
    assert demo["rows"] == 3 and demo["bytes"] == len(PAYLOAD) and bool(demo["ok"])
    assert json.loads(demo["query"]) == normalize_query(QUERY)
    key = cache_key("demo", QUERY, "1")
    (tmp_path / "demo" / f"{key}.payload.json").write_bytes(b"{}")
    status = cache_status(tmp_path)
    bad = status[status["source"].eq("demo")].iloc[0]
    assert not bad["ok"] and "bytes" in bad["problem"]


def test_source_name_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ParameterError):
        cached("../escape", QUERY, "1", Downloads(), parse, len, cache_dir=tmp_path)


@pytest.mark.parametrize("retrieved", ["yesterday", "2024-13-01T00:00:00+00:00",
                                       "2024-01-01T00:00:00", 17, None])
def test_record_with_a_bad_retrieval_time_is_corrupt(tmp_path: Path, retrieved: object,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    download = Downloads()
    run(tmp_path, download)
    record_path = tmp_path / "demo" / f"{cache_key('demo', QUERY, '1')}.json"
    record = json.loads(record_path.read_text())
    record["retrieved"] = retrieved
    record_path.write_text(json.dumps(record))
    status = cache_status(tmp_path)
    assert not status["ok"].item() and "field 'retrieved'" in status["problem"].item()
    # the CLI's status table shows it, with no traceback
    from typer.testing import CliRunner

    from research.cli import app

    monkeypatch.setenv("RESEARCH_CACHE_DIR", str(tmp_path))
    shown = CliRunner().invoke(app, ["data", "status"])
    assert shown.exit_code == 0 and shown.exception is None
    assert "NO: record field 'retrieved'" in " ".join(shown.output.split())
    with pytest.warns(CacheWarning, match=r"field 'retrieved' = .* is not an ISO 8601 time"):
        again = run(tmp_path, download)
    assert not again.from_cache and download.calls == 2
