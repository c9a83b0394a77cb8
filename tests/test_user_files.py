"""User events and baskets from YAML/TOML files in RESEARCH_USER_DIR."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from research import datasets
from research.cli import app
from research.errors import DataNotFoundError, ParameterError, UserFileError
from research.estimate.ban_impact import ban_design
from research.reference import baskets, events, user_files

# Pages of the 2026-02-24 listing (TIMELINE_NOTES.md, row C11).
URLS = ["https://www.trend.az/business/4156914.html",
        "https://rareearthexchanges.com/news/china-places-20-japanese-companies-on-export-"
        "concern-list-expands-dual-use-controls"]
BUNDLED_EVENTS = 34  # TIMELINE_NOTES.md: A1-A12, B1-B11, C1-C11

YAML = textwrap.dedent(f"""\
    # my own events and baskets
    baskets:
      - name: ree_downstream
        product_group: rare_earths
        note: Compounds and magnets, not the metals.
        lines:
          - hs6: "284690"
            mixed_scope: true
            note: Compounds of the controlled elements beside Nd, Pr, La.
          - 850511
    events:
      - event_id: U_JP_WATCHLIST_2026
        announced: 2026-02-24
        effective: 2026-02-24
        event_type: entity listing
        targets: [JPN]
        basket: [dual_use_catalogue, ree_downstream]
        authority: MOFCOM
        measure: Watch ("Concern") List of 20 Japanese entities.
        source_urls:
          - {URLS[0]}
          - {URLS[1]}
      - event_id: U_GRAPHITE_ANN
        announced: 2023-10-20
        event_type: licensing
        targets: ALL
        basket: graphite
        customs_codes: [2504101000]
        hs6: ["380110"]
        measure: The graphite licensing dated at its announcement.
        source_urls: {URLS[0]}
    """)

TOML = textwrap.dedent(f"""\
    # the same content as YAML above, in TOML
    [[baskets]]
    name = "ree_downstream"
    product_group = "rare_earths"
    note = "Compounds and magnets, not the metals."

    [[baskets.lines]]
    hs6 = "284690"
    mixed_scope = true
    note = "Compounds of the controlled elements beside Nd, Pr, La."

    [[baskets.lines]]
    hs6 = "850511"

    [[events]]
    event_id = "U_JP_WATCHLIST_2026"
    announced = 2026-02-24
    effective = 2026-02-24
    event_type = "entity listing"
    targets = ["JPN"]
    basket = ["dual_use_catalogue", "ree_downstream"]
    authority = "MOFCOM"
    measure = 'Watch ("Concern") List of 20 Japanese entities.'
    source_urls = ["{URLS[0]}", "{URLS[1]}"]

    [[events]]
    event_id = "U_GRAPHITE_ANN"
    announced = 2023-10-20
    event_type = "licensing"
    targets = "ALL"
    basket = "graphite"
    customs_codes = ["2504101000"]
    hs6 = ["380110"]
    measure = "The graphite licensing dated at its announcement."
    source_urls = "{URLS[0]}"
    """)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "mine"
    write(folder, "mine.yaml", YAML)
    monkeypatch.setenv("RESEARCH_USER_DIR", str(folder))
    return folder


def line_of(text: str, fragment: str, after: str = "") -> int:
    """1-based number of the first line holding ``fragment`` (after the line holding
    ``after``): the expected position, counted in the test's own text."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(i for i in range(start, len(lines)) if fragment in lines[i]) + 1


def error_of(tmp_path: Path, name: str, text: str) -> UserFileError:
    path = write(tmp_path / "bad", name, text)
    with pytest.raises(UserFileError) as caught:
        user_files.parse_files([path])
    assert caught.value.path == str(path)
    return caught.value


def test_merged_into_events_and_baskets(user_dir: Path) -> None:
    table = datasets.load("events")
    assert len(table) == BUNDLED_EVENTS + 2
    assert table["event_id"].iloc[BUNDLED_EVENTS:].tolist() == ["U_JP_WATCHLIST_2026",
                                                                "U_GRAPHITE_ANN"]
    assert len(datasets.load("events", user=False)) == BUNDLED_EVENTS
    watch = events.get_event("U_JP_WATCHLIST_2026")
    assert watch["effective"] == pd.Timestamp("2026-02-24") and watch["targets"] == "JPN"
    assert watch["basket"] == "dual_use_catalogue;ree_downstream"
    assert watch["date_text"] == "ann. 2026-02-24, eff. 2026-02-24"
    assert watch["section"] == "User events (mine.yaml)"
    assert watch["source_urls"] == ";".join(URLS)
    graphite = events.get_event("U_GRAPHITE_ANN")
    # hs6 = the listed 380110 plus the prefix of customs code 2504101000
    assert graphite["hs6"] == "250410;380110" and graphite["customs_codes"] == "2504101000"
    assert pd.isna(graphite["effective"]) and graphite["targets"] == "ALL"

    lines = datasets.load("hs_baskets")
    mine = lines[lines["basket"].eq("ree_downstream")].set_index("hs6")
    assert list(mine.index) == ["284690", "850511"]
    # PROVENANCE (hs_nomenclature): 284690 is 1:1 HS2022<->HS2007/2012/2017; 850511 is n:1
    assert tuple(mine.loc["284690", ["hs2017", "hs2012", "hs2007"]]) == ("1:1",) * 3
    assert mine.loc["850511", "hs2017"] == "n:1"
    # harmonized-system.csv: 850511 "Magnets; permanent magnets and articles intended to
    # become permanent magnets after magnetisation, of metal"
    assert mine.loc["850511", "description"].startswith("Magnets; permanent magnets")
    # dual-use PROVENANCE: NdFeB/SmCo items carry no 8505.11 code; 284690 is listed
    assert not mine.loc["850511", "in_dual_use_catalogue"]
    assert mine.loc["284690", "in_dual_use_catalogue"]
    assert mine.loc["850511", "note"] == "Compounds and magnets, not the metals."
    assert mine.loc["850511", "mixed_scope"] and (mine["product_group"] == "rare_earths").all()


def test_basket_functions_see_user_baskets(user_dir: Path) -> None:
    assert "ree_downstream" in baskets.basket_names()
    assert baskets.basket_codes("ree_downstream") == ["284690", "850511"]
    assert baskets.BASKET_GROUP["ree_downstream"] == "rare_earths"
    assert "ree_downstream" not in baskets.BUNDLED_BASKET_GROUP


def test_ban_design_uses_user_event(user_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = ban_design("U_GRAPHITE_ANN", "graphite")
    # announced only, so the event date is the announcement
    assert design.event == pd.Timestamp("2023-10-20") and design.design == "products"
    assert design.treated_label == "graphite"
    with pytest.raises(ParameterError, match="U_JP_WATCHLIST_2026.*after the last month"):
        ban_design("U_JP_WATCHLIST_2026", "ree_downstream")


def test_toml_gives_the_same_rows(tmp_path: Path) -> None:
    from_yaml = user_files.parse_files([write(tmp_path / "y", "mine.yaml", YAML)])
    from_toml = user_files.parse_files([write(tmp_path / "t", "mine.toml", TOML)])
    pd.testing.assert_frame_equal(from_yaml.baskets, from_toml.baskets)
    left = from_yaml.events.drop(columns="section")
    pd.testing.assert_frame_equal(left, from_toml.events.drop(columns="section"))


def test_unset_folder_leaves_the_registry_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    assert user_files.current() is None
    assert len(events.load_events()) == BUNDLED_EVENTS


def test_missing_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RESEARCH_USER_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match="nowhere"):
        events.load_events()


def test_edited_file_is_read_again(user_dir: Path) -> None:
    assert "ree_downstream" in baskets.basket_names()
    write(user_dir, "mine.yaml", YAML.replace("ree_downstream", "ree_chain"))
    assert "ree_chain" in baskets.basket_names()
    assert "ree_downstream" not in baskets.basket_names()


def test_yaml_keeps_leading_zeros(tmp_path: Path) -> None:
    # Unquoted 010121 would be the octal number 4177 under YAML 1.1; it is read as text.
    # harmonized-system.csv: 010121 "Horses; live, pure-bred breeding animals"
    data = user_files.parse_files([write(tmp_path, "h.yaml", textwrap.dedent("""\
        baskets:
          - name: horses
            lines: [010121]
        """))])
    assert data.baskets["hs6"].tolist() == ["010121"]
    assert data.baskets["description"].item() == "Horses; live, pure-bred breeding animals"


# ------------------------------------------------------------------ errors name file and line


def test_unknown_hs_code_yaml(tmp_path: Path) -> None:
    # 811230 is germanium in HS2002, in none of HS2007-HS2022 (PROVENANCE, WTO list caveat)
    error = error_of(tmp_path, "b.yaml", "baskets:\n  - name: ge_old\n    lines:\n"
                                         "      - \"811292\"\n      - \"811230\"\n")
    assert (error.line, error.field, error.value) == (5, "hs6", "811230")
    assert str(error).startswith(f"{error.path}:5: field 'hs6'")
    assert "unknown HS code" in str(error)


def test_bad_date_toml(tmp_path: Path) -> None:
    text = TOML.replace('announced = 2023-10-20', 'announced = "2023-02-30"')
    error = error_of(tmp_path, "b.toml", text)
    expected = line_of(text, '"2023-02-30"')
    assert (error.line, error.field, error.value) == (expected, "announced", "2023-02-30")
    assert "not a calendar date" in str(error)


def test_date_format_yaml(tmp_path: Path) -> None:
    text = YAML.replace("announced: 2023-10-20", "announced: 20/10/2023")
    error = error_of(tmp_path, "b.yaml", text)
    assert error.line == line_of(text, "20/10/2023")
    assert "YYYY-MM-DD" in str(error)


def test_unknown_country_code(tmp_path: Path) -> None:
    text = YAML.replace("targets: [JPN]", "targets: [JPN, JPX]")
    error = error_of(tmp_path, "b.yaml", text)
    assert (error.line, error.field, error.value) == (line_of(text, "JPX"), "targets", "JPX")
    assert "ISO 3166-1 alpha-3" in str(error)
    error = error_of(tmp_path, "c.yaml", YAML.replace("targets: [JPN]", "targets: [Japan]"))
    assert "did you mean 'JPN'" in str(error)


def test_unknown_country_code_toml_list_item(tmp_path: Path) -> None:
    text = TOML.replace('targets = ["JPN"]', 'targets = ["JPN",\n  "XXA"]')
    error = error_of(tmp_path, "b.toml", text)
    assert error.line == line_of(text, '"XXA"') and error.value == "XXA"


def test_id_clashes_with_bundled_event(tmp_path: Path) -> None:
    text = YAML.replace("U_GRAPHITE_ANN", "C11")
    error = error_of(tmp_path, "b.yaml", text)
    assert (error.line, error.field, error.value) == (line_of(text, "C11"), "event_id", "C11")
    assert "already in the bundled registry (MOFCOM Announcement No. 11" in str(error)
    error = error_of(tmp_path, "c.yaml", YAML.replace("U_GRAPHITE_ANN", "C12"))
    assert "reserved for the bundled timeline" in str(error)


def test_basket_name_clashes_with_bundled(tmp_path: Path) -> None:
    text = TOML.replace('name = "ree_downstream"', 'name = "graphite"')
    error = error_of(tmp_path, "b.toml", text)
    assert (error.line, error.field, error.value) == (line_of(text, "graphite"), "name",
                                                      "graphite")


def test_repeated_across_files(tmp_path: Path) -> None:
    first = write(tmp_path / "two", "a.yaml", YAML)
    second = write(tmp_path / "two", "b.toml", TOML)
    where = (line_of(TOML, 'name = "ree_downstream"'), line_of(YAML, "name: ree_downstream"))
    with pytest.raises(UserFileError, match=rf"b.toml:{where[0]}:.*defined twice; first at "
                                            rf"{first}:{where[1]}"):
        user_files.parse_files([first, second])


def test_unknown_field_with_suggestion(tmp_path: Path) -> None:
    text = YAML.replace("    effective: 2026-02-24", "    efective: 2026-02-24")
    error = error_of(tmp_path, "b.yaml", text)
    assert (error.line, error.field) == (line_of(text, "efective"), "efective")
    assert "did you mean 'effective'" in str(error)


def test_end_before_start_and_missing_dates(tmp_path: Path) -> None:
    text = YAML.replace("    effective: 2026-02-24", "    effective: 2026-02-24\n"
                                                    "    end: 2026-01-01")
    error = error_of(tmp_path, "b.yaml", text)
    assert (error.line, error.field) == (line_of(text, "end: 2026-01-01"), "end")
    assert "before the start" in str(error)
    error = error_of(tmp_path, "c.yaml", YAML.replace("    announced: 2023-10-20\n", ""))
    assert "at least one of 'announced' and 'effective'" in str(error)


def test_unknown_basket_and_customs_code(tmp_path: Path) -> None:
    error = error_of(tmp_path, "b.yaml", YAML.replace("basket: graphite", "basket: grafite"))
    assert error.field == "basket" and "did you mean 'graphite'" in str(error)
    # chapter 77 of the HS is reserved for future use: 770100 is no subheading
    text = YAML.replace("[2504101000]", "[7701001000]")
    error = error_of(tmp_path, "c.yaml", text)
    assert (error.line, error.field, error.value) == (line_of(text, "7701001000"),
                                                      "customs_codes", "7701001000")


def test_syntax_errors_carry_the_line(tmp_path: Path) -> None:
    error = error_of(tmp_path, "b.yaml", "events:\n  - event_id: [unclosed\n")
    assert error.line == 3 and "not valid YAML" in str(error)
    error = error_of(tmp_path, "b.toml", "[[events]]\nevent_id = \n")
    assert error.line == 2 and "not valid TOML" in str(error)
    error = error_of(tmp_path, "c.yaml", "event:\n  - x\n")
    assert "did you mean 'events'" in str(error) and error.line == 1


def test_cli_check(tmp_path: Path, user_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--user-dir", str(user_dir), "user", "check"])
    assert result.exit_code == 0, result.output
    assert "ok: 2 event(s), 1 basket(s)" in result.output
    assert "U_JP_WATCHLIST_2026" in result.output
    bad = write(tmp_path / "bad", "b.yaml", YAML.replace("[JPN]", "[JPX]"))
    result = runner.invoke(app, ["user", "check", str(bad.parent)])
    assert result.exit_code == 1
    flat = "".join(result.output.split())  # rich wraps the message at the terminal width
    expected = line_of(YAML, "targets: [JPN]")
    assert f"{bad}:{expected}:field'targets':value'JPX'" in flat


# ---------------------------------------------------------------- hostile files

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n"
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("text", "line", "message"), [
    (BILLION_LAUGHS, 2, "alias *a is not allowed"),  # 9**9 strings from ~550 bytes
    ("events: &loop [*loop]\n", 1, "alias *loop is not allowed"),  # a cycle
    ("events:\n  - &e {event_id: U_A}\n  - *e\n", 3, "alias *e is not allowed"),
    ("events: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nested deeper than 50 levels"),
])
def test_yaml_aliases_and_deep_nesting_are_refused(tmp_path: Path, text: str, line: int,
                                                   message: str) -> None:
    error = error_of(tmp_path, "bomb.yaml", text)
    assert error.line == line and message in str(error)


def test_deeply_nested_toml_is_refused(tmp_path: Path) -> None:
    error = error_of(tmp_path, "deep.toml", "events = " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in str(error)


@pytest.mark.parametrize("day", ["1600-01-01", "9999-12-31", "1677-09-20", "2262-04-12"])
def test_dates_outside_the_table_range_are_named(tmp_path: Path, day: str) -> None:
    # pandas nanosecond timestamps hold 1677-09-21 .. 2262-04-11
    text = YAML.replace("announced: 2026-02-24", f"announced: {day}")
    error = error_of(tmp_path, "old.yaml", text)
    assert error.field == "announced" and error.value == day
    assert "outside the dates a table can hold" in str(error)
    assert error.line == line_of(text, "announced:")
