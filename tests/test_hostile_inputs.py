"""Issue 11, hostile input to the readers, user folders, cache records and manifests.

A corpus of bad inputs grouped by entry point. Each case asserts the named error (a
ResearchError subclass, with the file, field and value in its message), the exit code
of the command a user would type, and, by hash snapshots of a sandbox before and after,
that nothing outside the command's output changed. The classes: no hang or exhaustion
(YAML alias bombs, deep nesting), no silent wrong output (NaN summed to 0, repeated keys,
infinities, negative rates and spending, mojibake), no raw traceback (dates out of range,
bad cache times, truncated manifests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from reader_seeds import (
    BACI,
    COMTRADE,
    FRED,
    FRED_DATAHUB,
    GRAVITY,
    WITS,
    WITS_LONG,
    WORLDBANK,
    sipri_workbook,
)
from sandbox import add_bystanders, flat, invoke, named_failure, snapshot

from research.cache import cache_key, cached
from research.errors import (
    CacheWarning,
    SchemaError,
    SourceFormatError,
    UnknownCountryError,
    UserFileError,
)
from research.readers import read_file


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path with a bystander file and folder beside the input and the output."""
    add_bystanders(tmp_path)
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    monkeypatch.setenv("RESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path



def replaced(text: str, old: str, new: str) -> bytes:
    assert old in text, old
    return text.replace(old, new, 1).encode()


# --- research data read <source> FILE --out OUT ---------------------------------------------
# (case id, reader, file name, content, error class, regex the message must match)

Content = bytes | Callable[[], bytes]

READ_CASES: list[tuple[str, str, str, Content, type, str]] = [
    # BACI: NaN would become 0 in a sum; a repeated key would be summed
    ("baci-v-nan", "baci", "b.csv", replaced(BACI, ",1,1\n", ",nan,1\n"), SourceFormatError,
     r"field 'v': value 'nan'"),
    ("baci-v-inf", "baci", "b.csv", replaced(BACI, ",1,1\n", ",inf,1\n"), SourceFormatError,
     r"field 'v': value 'inf'"),
    ("baci-v-negative", "baci", "b.csv", replaced(BACI, ",1,1\n", ",-1,1\n"),
     SourceFormatError, r"field 'v'"),
    ("baci-q-nan", "baci", "b.csv", replaced(BACI, ",1,1\n", ",1,nan\n"), SourceFormatError,
     r"field 'q': value 'nan'"),
    ("baci-q-minus-inf", "baci", "b.csv", replaced(BACI, ",1,1\n", ",1,-inf\n"),
     SourceFormatError, r"field 'q': value '-inf'"),
    ("baci-repeated-key", "baci", "b.csv",
     (BACI + "2022,156,392,280530,4,1\n").encode(), SchemaError,
     r"field 't,i,j,k'.*'k': '280530'.*not summed"),
    ("baci-year-1600", "baci", "b.csv", replaced(BACI, "2022,", "1600,"), SourceFormatError,
     r"field 't': value '1600'"),
    ("baci-year-9999", "baci", "b.csv", replaced(BACI, "2022,", "9999,"), SourceFormatError,
     r"field 't': value '9999'"),
    ("baci-unknown-country", "baci", "b.csv", replaced(BACI, ",392,", ",999,"),
     UnknownCountryError, r"field 'j': value \[999\]"),
    ("baci-cut-mid-line", "baci", "b.csv", BACI.encode()[:-6], SourceFormatError,
     r"does not end with a line break"),
    ("baci-empty", "baci", "b.csv", b"", SourceFormatError, r"empty file"),
    ("baci-utf16", "baci", "b.csv", BACI.encode("utf-16"), SourceFormatError, r"BACI column"),
    # Comtrade web export: dates out of range, extreme numbers, damage
    ("comtrade-year-1600", "comtrade", "c.csv", COMTRADE.replace("2020", "1600").encode(),
     SourceFormatError, r"field 'refYear': value '1600': year outside 1900-2100"),
    ("comtrade-year-9999", "comtrade", "c.csv", COMTRADE.replace("2020", "9999").encode(),
     SourceFormatError, r"field 'refYear': value '9999'"),
    ("comtrade-value-inf", "comtrade", "c.csv", replaced(COMTRADE, ",1000,", ",inf,"),
     SourceFormatError, r"field 'primaryValue': value 'inf': infinite"),
    ("comtrade-value-1e309", "comtrade", "c.csv", replaced(COMTRADE, ",1000,", ",1e309,"),
     SourceFormatError, r"field 'primaryValue': value '1e309': infinite"),
    ("comtrade-value-negative", "comtrade", "c.csv", replaced(COMTRADE, ",1000,", ",-5,"),
     SourceFormatError, r"field 'primaryValue': value '-5': negative"),
    ("comtrade-weight-nan", "comtrade", "c.csv", replaced(COMTRADE, ",1000,10", ",1000,nan"),
     SourceFormatError, r"field 'netWgt': value 'nan': not a number"),
    ("comtrade-month-13", "comtrade", "c.csv", replaced(COMTRADE, "M,2020,3,202003",
                                                        "M,2020,13,202013"),
     SourceFormatError, r"field 'refMonth': value '13'"),
    ("comtrade-repeated-row", "comtrade", "c.csv",
     (COMTRADE + COMTRADE.splitlines()[1] + "\n").encode(), SourceFormatError,
     r"appears more than once"),
    ("comtrade-cut", "comtrade", "c.csv", COMTRADE.encode()[:-12], SourceFormatError,
     r"fields, the header has"),
    ("comtrade-shift-jis", "comtrade", "c.csv",
     replaced(COMTRADE, "netWgt\n", "netWgt,partnerDesc\n").replace(b",10\n", "10,日本\n"
                                                                    .encode("shift_jis")),
     SourceFormatError, r"field 'encoding'.*Shift-JIS"),
    ("comtrade-xlsx-cut", "comtrade", "c.xlsx", lambda: sipri_workbook()[:900],
     SourceFormatError, r"not a readable Excel workbook"),
    # WITS download and long CSV
    ("wits-year-1600", "wits", "w.csv", WITS.replace(",2010,", ",1600,").encode(),
     SourceFormatError, r"field 'Year': value '1600': year outside 1900-2100"),
    ("wits-year-9999", "wits", "w.csv", WITS.replace(",2010,", ",9999,").encode(),
     SourceFormatError, r"field 'Year': value '9999'"),
    ("wits-value-inf", "wits", "w.csv", replaced(WITS, ",66.8,", ",inf,"), SourceFormatError,
     r"value 'inf'"),
    ("wits-value-negative", "wits", "w.csv", replaced(WITS, ",66.8,", ",-66.8,"),
     SourceFormatError, r"value '-66.8'"),
    ("wits-shift-jis-partner", "wits", "w.csv",
     WITS.replace("Australia", "日本").encode("shift_jis"), SourceFormatError,
     r"field 'encoding'.*Shift-JIS"),
    ("wits-repeated-row", "wits", "w.csv", (WITS + WITS.splitlines()[1] + "\n").encode(),
     SourceFormatError, r"appears more than once"),
    ("wits-long-world-mismatch", "wits_long", "l.csv",
     replaced(WITS_LONG, "World,1,3.0,3000.0", "World,1,9.0,9000.0"), SourceFormatError,
     r"World"),
    ("wits-long-inf", "wits_long", "l.csv", replaced(WITS_LONG, "0,1.0,1000.0", "0,1.0,inf"),
     SourceFormatError, r"field 'export_value_usd'"),
    ("wits-long-year-9999", "wits_long", "l.csv", WITS_LONG.replace(",2010,", ",9999,").encode(),
     SourceFormatError, r"field 'year'"),
    # World Bank: encodings, extreme numbers
    ("worldbank-shift-jis", "worldbank", "wb.csv",
     WORLDBANK.replace("Japan", "日本").encode("shift_jis"), SourceFormatError,
     r"field 'encoding'.*Shift-JIS"),
    ("worldbank-gbk", "worldbank", "wb.csv", WORLDBANK.replace("Japan", "中国").encode("gbk"),
     SourceFormatError, r"field 'encoding'.*GBK"),
    ("worldbank-undefined-cp1252-byte", "worldbank", "wb.csv",
     WORLDBANK.encode().replace(b"Japan", b"Ja\x81pan"), SourceFormatError,
     r"neither UTF-8 nor Windows-1252"),
    ("worldbank-utf16", "worldbank", "wb.csv", WORLDBANK.encode("utf-16"), SourceFormatError,
     r"field 'encoding': value 'UTF-16': UTF-16 text"),
    ("worldbank-utf32", "worldbank", "wb.csv", WORLDBANK.encode("utf-32"), SourceFormatError,
     r"field 'encoding': value 'UTF-32': UTF-32 text"),
    ("worldbank-binary", "worldbank", "wb.csv", b"\x7fELF\x02\x01\x01\x00" * 8, SourceFormatError,
     r"field 'encoding'.*NUL bytes"),
    ("worldbank-value-inf", "worldbank", "wb.csv", replaced(WORLDBANK, "4256410760723.85",
                                                            "inf"),
     SourceFormatError, r"value 'inf': infinite"),
    ("worldbank-value-1e999", "worldbank", "wb.csv", replaced(WORLDBANK, "4256410760723.85",
                                                              "1e999"),
     SourceFormatError, r"value '1e999': infinite"),
    ("worldbank-cut", "worldbank", "wb.csv", WORLDBANK.encode()[:-25], SourceFormatError,
     r"fields, the header has"),
    # FRED download and datahub rates
    ("fred-inf", "fred", "f.csv", replaced(FRED, "140.5001", "inf"), SourceFormatError,
     r"row 4: field 'AEXJPUS': value 'inf': infinite"),
    ("fred-minus-inf", "fred", "f.csv", replaced(FRED, "140.5001", "-inf"), SourceFormatError,
     r"field 'AEXJPUS': value '-inf'"),
    ("fred-negative-rate", "fred", "f.csv", replaced(FRED, "140.5001", "-140.5"),
     SourceFormatError, r"field 'AEXJPUS': value '-140.5': an exchange rate .* positive"),
    ("fred-zero-rate", "fred", "f.csv", replaced(FRED, "1306.7637", "0"), SourceFormatError,
     r"field 'AEXKOUS': value '0'"),
    ("fred-date-1600", "fred", "f.csv", replaced(FRED, "2023-01-01", "1600-01-01"),
     SourceFormatError, r"field 'observation_date': value '1600-01-01': date outside"),
    ("fred-date-9999", "fred", "f.csv", replaced(FRED, "2023-01-01", "9999-01-01"),
     SourceFormatError, r"field 'observation_date': value '9999-01-01': date outside"),
    ("fred-repeated-date", "fred", "f.csv", replaced(FRED, "2023-01-01", "2022-01-01"),
     SourceFormatError, r"same date"),
    ("fred-datahub-negative", "fred_datahub", "r.csv", replaced(FRED_DATAHUB, "151.4551",
                                                                "-151.4551"),
     SourceFormatError, r"field 'Value': value '-151.4551': an exchange rate"),
    ("fred-datahub-inf", "fred_datahub", "r.csv", replaced(FRED_DATAHUB, "151.4551", "inf"),
     SourceFormatError, r"field 'Value': value 'inf'"),
    ("fred-datahub-nan", "fred_datahub", "r.csv", replaced(FRED_DATAHUB, "151.4551", "nan"),
     SourceFormatError, r"field 'Value': value 'nan'"),
    ("fred-datahub-date-9999", "fred_datahub", "r.csv",
     replaced(FRED_DATAHUB, "2024-01-01", "9999-01-01"), SourceFormatError,
     r"field 'Date': value '9999-01-01': date outside"),
    # Gravity panel
    ("gravity-pair-id-1e30", "gravity", "g.csv", replaced(GRAVITY, "JPN,CHN,1,", "JPN,CHN,1e30,"),
     SourceFormatError, r"field 'pair_id': value np.float64\(1e\+30\)"),
    ("gravity-year-1600", "gravity", "g.csv", GRAVITY.replace(",1990,", ",1600,").encode(),
     SourceFormatError, r"field 'year'"),
    ("gravity-trade-negative", "gravity", "g.csv", replaced(GRAVITY, "10.5", "-10.5"),
     SourceFormatError, r"field 'trade'"),
    ("gravity-dist-inf", "gravity", "g.csv", replaced(GRAVITY, ",2000,0,0,0,0", ",inf,0,0,0,0"),
     SourceFormatError, r"field 'DIST'"),
    # SIPRI workbook
    ("sipri-negative-spending", "sipri", "s.xlsx",
     lambda: _sipri_with(2.0, -2.0), SourceFormatError,
     r"field 'cell D6 \(Japan, 2022\)'.*negative"),
    ("sipri-cut-workbook", "sipri", "s.xlsx", lambda: sipri_workbook()[:1500],
     SourceFormatError, r"not a readable Excel workbook"),
    ("sipri-csv-bytes", "sipri", "s.xlsx", b"Country,2021\nJapan,1\n", SourceFormatError,
     r"not a readable Excel workbook"),
]


def _sipri_with(old: float, new: float) -> bytes:
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(sipri_workbook()))
    for row in book.active.iter_rows():
        for cell in row:
            if cell.value == old:
                cell.value = new
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore::research.errors.ResearchWarning")
@pytest.mark.parametrize(("source", "name", "content", "error", "message"),
                         [case[1:] for case in READ_CASES], ids=[c[0] for c in READ_CASES])
def test_data_read(sandbox: Path, source: str, name: str, content: Content, error: type,
                   message: str) -> None:
    path = sandbox / "downloads" / name
    path.parent.mkdir()
    path.write_bytes(content() if callable(content) else content)
    out = sandbox / "out" / "table.csv"
    before = snapshot(sandbox, outside=(out.parent,))
    with pytest.raises(error) as caught:
        read_file(source, path)
    assert re.search(message, str(caught.value)), str(caught.value)
    assert str(path) in str(caught.value)  # the file is named
    result = invoke("data", "read", source, path, "--out", out)
    named_failure(result)
    assert re.search(message, flat(result.output)) or name in flat(result.output)
    assert not out.exists()
    assert snapshot(sandbox, outside=(out.parent,)) == before


# --- research user check DIR -----------------------------------------------------------------

EVENT = """events:
  - event_id: U_OLD
    announced: {day}
    event_type: ban
    targets: [JPN]
    basket: [dual_use_catalogue]
    measure: An event.
    source_urls: [https://example.org/a]
"""
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True))

USER_CASES = [
    ("alias-bomb", "bomb.yaml", BOMB, r"bomb.yaml:2: .*alias \*a is not allowed"),
    ("self-alias", "loop.yaml", "events: &loop [*loop]\n", r"alias \*loop is not allowed"),
    ("alias-in-record", "a.yaml", "events:\n  - &e {event_id: U_A}\n  - *e\n",
     r"a.yaml:3: .*alias \*e"),
    ("deep-yaml", "deep.yaml", "events: " + "[" * 3000 + "]" * 3000 + "\n",
     r"nested deeper than 50 levels"),
    ("deep-toml", "deep.toml", "events = " + "[" * 3000 + "]" * 3000 + "\n",
     r"deep.toml: not valid TOML: nested too deeply"),
    ("date-1600", "old.yaml", EVENT.format(day="1600-01-01"),
     r"old.yaml:3: field 'announced': value '1600-01-01': outside the dates"),
    ("date-9999", "far.yaml", EVENT.format(day="9999-12-31"),
     r"far.yaml:3: field 'announced': value '9999-12-31': outside the dates"),
    ("date-not-calendar", "feb.yaml", EVENT.format(day="2024-02-30"),
     r"feb.yaml:3: field 'announced': value '2024-02-30': not a calendar date"),
    ("date-words", "words.yaml", EVENT.format(day="yesterday"),
     r"words.yaml:3: field 'announced': value 'yesterday': not a date"),
    ("python-tag", "tag.yaml", "events: !!python/object/apply:os.system ['echo hi']\n",
     r"tag.yaml"),
    ("binary", "bin.yaml", "\x00\x01\x02", r"bin.yaml"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "text", "message"), [c[1:] for c in USER_CASES],
                         ids=[c[0] for c in USER_CASES])
def test_user_check(sandbox: Path, name: str, text: str, message: str) -> None:
    folder = sandbox / "mine"
    folder.mkdir()
    (folder / name).write_text(text, encoding="utf-8")
    before = snapshot(sandbox)
    from research.reference import user_files

    with pytest.raises(UserFileError) as caught:
        user_files.read_user_dir(folder)
    assert re.search(message, str(caught.value)), str(caught.value)
    result = invoke("user", "check", folder)
    named_failure(result)
    assert re.search(message, flat(result.output)), result.output
    assert snapshot(sandbox) == before


# --- cache records ------------------------------------------------------------------------------

RETRIEVED = ["yesterday", "2024-01-01T00:00:00", 17, None, "", "2024-02-30T00:00:00+00:00"]


@pytest.mark.parametrize("retrieved", RETRIEVED, ids=[repr(r) for r in RETRIEVED])
def test_cache_record_with_a_bad_time(sandbox: Path, retrieved: object) -> None:
    cache_dir = sandbox / "cache"
    query = {"q": "1"}

    def download():
        from research.cache import Download
        return Download(b'{"rows": [1, 2]}', url="https://api.example.test/q")

    def load():
        return cached("demo", query, "1", download, lambda b: json.loads(b)["rows"], len,
                      cache_dir=cache_dir)

    load()
    record_path = cache_dir / "demo" / f"{cache_key('demo', query, '1')}.json"
    record = json.loads(record_path.read_text())
    record["retrieved"] = retrieved
    record_path.write_text(json.dumps(record))
    before = snapshot(sandbox, outside=(cache_dir,))
    result = invoke("data", "status")  # shows the entry as broken, no traceback
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "NO: record field 'retrieved'" in flat(result.output)
    with pytest.warns(CacheWarning, match="field 'retrieved'"):
        again = load()
    assert not again.from_cache and again.value == [1, 2]
    assert snapshot(sandbox, outside=(cache_dir,)) == before


# --- manifests: research report index --------------------------------------------------------

MANIFESTS = {
    "truncated": '{"name": "x", "status": "succ',
    "empty": "",
    "list": "[1, 2]",
    "parameters-text": '{"name": "x", "status": "succeeded", "parameters": "a=b"}',
    "headline-text": '{"name": "x", "status": "succeeded", "headline": {"estimate": "big"}}',
    "error-text": '{"name": "x", "status": "failed", "error": "boom"}',
    "binary": "\x00\xff",
}


@pytest.mark.parametrize("damage", sorted(MANIFESTS))
def test_report_index_with_a_corrupt_manifest(sandbox: Path, damage: str) -> None:
    reports = sandbox / "reports"
    (reports / "x").mkdir(parents=True)
    manifest = reports / "x" / "manifest.json"
    manifest.write_text(MANIFESTS[damage], encoding="utf-8", errors="surrogateescape")
    before = snapshot(sandbox, outside=(reports / "index.html",))
    result = invoke("report", "index", "--out", reports)
    assert result.exit_code == 0 and result.exception is None, result.output
    page = (reports / "index.html").read_text(encoding="utf-8")
    assert "1 runs, 1 failed" in page and f"corrupt manifest: {manifest}" in page
    assert snapshot(sandbox, outside=(reports / "index.html",)) == before
