"""What exists, from the shell: ``research --version``, ``events``, ``baskets``, ``data list``.

Values are checked against the registry's sources: the timeline
(``events/TIMELINE_NOTES.md``), the curated overlay and basket definitions in
``research/reference/``. Every table line fits 80 columns unless ``--wide`` is asked for;
only a web address (never cut) may pass it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from research import config, datasets
from research.cli import app, text_table

WIDTH = 80


def run(*arguments: str, code: int = 0) -> str:
    """The command's stdout; it must exit with ``code``."""
    result = CliRunner().invoke(app, list(arguments))
    assert result.exit_code == code, result.output
    return result.stdout


def fail(*arguments: str) -> str:
    """A named error: exit code 1, no traceback; the message with its line breaks undone."""
    result = CliRunner().invoke(app, list(arguments))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def assert_fits(text: str) -> None:
    for line in text.splitlines():
        is_address = line.strip().startswith(("http://", "https://")) and " " not in line.strip()
        assert len(line) <= WIDTH or is_address, f"{len(line)} columns: {line!r}"
    assert "nan" not in text.split() and "None" not in text.split()


def table_rows(text: str) -> dict[str, list[str]]:
    """Rows of a listing keyed by their first cell (two or more spaces between cells)."""
    import re

    rows = {}
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        rows.setdefault(cells[0], cells)
    return rows


@pytest.fixture(autouse=True)
def bundled_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)


def test_version_from_package_metadata() -> None:
    assert run("--version").strip() == f"research {version('research')}"
    # the Make-free path of the README: python -m research
    shell = subprocess.run([sys.executable, "-m", "research", "--version"],
                           capture_output=True, text=True, check=True, cwd=config.REPO_ROOT)
    assert shell.stdout.strip() == f"research {version('research')}"


def test_events_list_every_bundled_event_in_80_columns() -> None:
    text = run("events", "list")
    assert_fits(text)
    rows = table_rows(text)
    # TIMELINE_NOTES.md sections A, B, C: A1-A12, B1-B11, C1-C11
    ids = [f"{s}{n}" for s, count in (("A", 12), ("B", 11), ("C", 11))
           for n in range(1, count + 1)]
    assert set(ids) <= set(rows)
    # TIMELINE_NOTES.md row B2: "ann. 2023-10-20, eff. 2023-12-01", target "all";
    # OVERLAY["B2"]: licensing, basket graphite
    assert rows["B2"] == ["B2", "licensing", "2023-10-20", "2023-12-01", "ALL", "graphite"]
    # row A1 has no announcement date and no target: the dash, not "nan"
    assert rows["A1"][:5] == ["A1", "context", "–", "2010-09-07", "–"]
    assert "34 event(s)" in text


def test_events_list_filters_by_type_and_target() -> None:
    # OVERLAY: event_type "ban" for A2, A3, B5, C10; timeline targets A2 Japan, A3 US and
    # EU, B5 US, C10 Japan. A country name works as well as its ISO3 code.
    for target in ("JPN", "Japan"):
        rows = table_rows(run("events", "list", "--type", "ban", "--target", target))
        assert {"A2", "C10"} <= set(rows) and not {"A3", "B5"} & set(rows)
    rows = table_rows(run("events", "list", "--type", "ban", "--type", "quota",
                          "--target", "usa"))
    assert {"A3", "B5"} <= set(rows) and "A4" not in rows  # A4, a quota, targets ALL
    assert "A4" in table_rows(run("events", "list", "--type", "quota", "--target", "ALL"))


def test_events_list_wide_and_json() -> None:
    wide = run("events", "list", "--wide")
    assert "MOFCOM & GAC announcement" in wide and max(map(len, wide.splitlines())) > WIDTH
    records = json.loads(run("events", "list", "--json"))
    b2 = next(r for r in records if r["event_id"] == "B2")
    assert (b2["announced"], b2["effective"], b2["end"]) == ("2023-10-20", "2023-12-01", None)


def test_unknown_filters_are_named_errors() -> None:
    message = fail("events", "list", "--type", "embargo")
    assert "embargo" in message and "licensing" in message and "ban" in message
    message = fail("events", "list", "--target", "Atlantis")
    assert "Atlantis" in message


def test_events_show_b2() -> None:
    text = run("events", "show", "B2")
    assert_fits(text)
    fields = {line[:15].strip(): line[15:].strip() for line in text.splitlines()
              if line[:1].strip()}
    assert fields["effective"] == "2023-12-01" and fields["announced"] == "2023-10-20"
    assert fields["end"] == "–" and fields["instrument_no"] == "–"
    assert fields["authority"] == "MOFCOM & GAC" and fields["basket"] == "graphite"
    # customs codes of the B2 row, distinct and sorted
    assert "2504101000, 2504109100, 3801100030" in text
    # the page addresses, whole
    assert ("  https://english.news.cn/20231020/b218269f9f9e4c708aae37c0ad3d4fe1/c.html"
            in text.splitlines())
    record = json.loads(run("events", "show", "B2", "--json"))
    assert record["effective"] == "2023-12-01" and record["event_type"] == "licensing"


def test_events_show_unknown_id_lists_the_ids() -> None:
    message = fail("events", "show", "Z9")
    assert "unknown event id 'Z9'" in message and "B2" in message and "C11" in message


def test_baskets_list() -> None:
    text = run("baskets", "list")
    assert_fits(text)
    rows = table_rows(text)
    # research/reference/baskets.py: graphite 250410, 380110 (both mixed, 1:1 since
    # HS2007); antimony five lines, only 282580 (oxides) mixed; magnets 850511 n:1
    assert rows["graphite"][:5] == ["graphite", "2", "2", "0", "graphite"]
    assert rows["antimony"][:4] == ["antimony", "5", "1", "0"]
    assert rows["magnets"][:4] == ["magnets", "1", "1", "1"]
    assert {"comtrade_groups", "dual_use_catalogue", "polysilicon"} <= set(rows)
    records = {r["basket"]: r for r in json.loads(run("baskets", "list", "--json"))}
    assert records["graphite"]["hs6"] == ["250410", "380110"]
    assert records["graphite"]["source"] == "bundled"


def test_baskets_show_lines_revisions_and_scope() -> None:
    text = run("baskets", "show", "gallium")
    assert_fits(text)
    rows = table_rows(text)
    # 811292 (unwrought Ga, Ge, In, Nb, V) is mixed and n:1 with HS2017: hafnium and
    # rhenium were split out of it in HS2022
    assert rows["811292"][:6] == ["811292", "yes", "yes", "n:1", "n:1", "n:1"]
    assert "HS revisions (lines not 1:1)" in text and "hafnium" in text
    lines = json.loads(run("baskets", "show", "graphite", "--json"))
    assert [(r["hs6"], r["mixed_scope"], r["hs2007"]) for r in lines] == [
        ("250410", True, "1:1"), ("380110", True, "1:1")]
    wide = run("baskets", "show", "gallium", "--wide")
    assert "HS2012 codes" in wide and "284800, 285300" in wide  # 285390's HS2012 n:n links


def test_baskets_show_the_catalogue_fits() -> None:
    # the derived basket: every export HS6 of the catalogue parse, one row each
    text = run("baskets", "show", "dual_use_catalogue")
    assert_fits(text)
    table = datasets.load("hs_baskets")
    count = int(table["basket"].eq("dual_use_catalogue").sum())
    assert f"basket dual_use_catalogue: {count} HS6 line(s)" in text


def test_baskets_show_unknown_name_lists_the_baskets() -> None:
    message = fail("baskets", "show", "graphit")
    assert "unknown basket 'graphit'" in message and "graphite" in message


def test_data_list_fits_80_columns_and_wide_shows_everything() -> None:
    text = run("data", "list")
    assert_fits(text)
    rows = table_rows(text)
    assert set(datasets.registry()) <= set(rows)  # names are never cut
    wide = run("data", "list", "--wide")
    sources = datasets.sources_table()
    for column in ("file", "citation", "rebuild"):
        assert column in wide.splitlines()[0]
    assert sources.loc[0, "citation"] in wide  # whole, not cut
    records = json.loads(run("data", "list", "--json"))
    assert [r["name"] for r in records] == sources["name"].tolist()


def test_user_events_and_baskets_are_listed(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "graphite.yaml").write_text(textwrap.dedent("""\
        baskets:
          - name: natural_graphite
            product_group: graphite
            note: Natural graphite only (HS 2504.10).
            lines:
              - "250410"
        events:
          - event_id: U_GRAPHITE_ANN
            announced: 2023-10-20
            event_type: licensing
            targets: [ALL]
            basket: [natural_graphite]
            measure: Graphite export licensing (B2), dated at its announcement.
            source_urls:
              - https://english.news.cn/20231020/b218269f9f9e4c708aae37c0ad3d4fe1/c.html
        """), encoding="utf-8")
    monkeypatch.setenv("RESEARCH_USER_DIR", str(folder))
    rows = table_rows(run("events", "list", "--type", "licensing"))
    assert rows["U_GRAPHITE_ANN"][:4] == ["U_GRAPHITE_ANN", "licensing", "2023-10-20", "–"]
    assert "B2" in rows
    assert "Graphite export licensing (B2)" in run("events", "show", "U_GRAPHITE_ANN")
    assert table_rows(run("baskets", "list"))["natural_graphite"][-1] == "user"
    assert table_rows(run("baskets", "show", "natural_graphite"))["250410"][0] == "250410"


def test_text_table_cuts_only_in_the_narrow_view() -> None:
    rows = [["id1", "x" * 100], ["id2", "short"]]
    narrow = text_table(["id", "text"], rows).splitlines()
    assert all(len(line) <= WIDTH for line in narrow)
    assert narrow[2].endswith("…") and narrow[3].endswith("short")
    wide = text_table(["id", "text"], rows, wide=True).splitlines()
    assert wide[2].endswith("x" * 100)


def test_readme_listing_commands_run() -> None:
    # the README's Make-free listing commands, run as written (python -m research ...)
    readme = (config.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line.split("#")[0].split()[3:] for line in readme.splitlines()
                if line.startswith("python -m research ")
                and line.split()[3:5] != ["report", "run"]]
    assert len(commands) >= 6
    for arguments in commands:
        assert_fits(run(*arguments))
