"""Issue 11, security: hostile report grids, cache folders, user events and source files.

Threat model: grids, cache folders, user folders and input files may come from someone
else. Each hostile case asserts the named error, the command's exit code and, by hash
snapshots of a sandbox tree before and after, that nothing outside the output changed.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from sandbox import snapshot
from typer.testing import CliRunner

from research import cli
from research.cache import Cache, Download, cache_key, cached
from research.errors import OfflineError, ParameterError, ReportError
from research.estimate.ban_impact import event_summary
from research.files import spreadsheet_safe, spreadsheet_text, write_csv
from research.markup import escape_markdown, markdown_link, safe_url, url_problem
from research.report import runner
from research.report.runner import RunSpec, html_exporter, load_grid, run_all, run_folder

VICTIM_TEXT = "someone else's file\n"


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path with a victim folder and file beside the output, notebooks in a folder."""
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "victim.txt").write_text(VICTIM_TEXT)
    (tmp_path / "victim.txt").write_text(VICTIM_TEXT)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
                   notebooks / "ok.ipynb")
    (tmp_path / "outside.ipynb").write_text(notebooks.joinpath("ok.ipynb").read_text())
    monkeypatch.setenv("RESEARCH_NOTEBOOKS_DIR", str(notebooks))
    monkeypatch.delenv("RESEARCH_USER_DIR", raising=False)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli.app, [str(a) for a in args])


def output_of(result) -> str:
    return " ".join(result.output.split())  # the console wraps long lines


# --- report grids: run names, notebook paths, field types -----------------------------------

HOSTILE_NAMES = ["/../../../../victim", "../victim", "..", ".", "", "a/b", "a\\b", ".hidden",
                 "-flag", "x" * 101, "name with space", "victim/../../victim", "\u00e9t\u00e9",
                 "nul\x00byte"]


@pytest.mark.parametrize("command", ["run", "regenerate"])
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_run_name_is_refused(sandbox: Path, name: str, command: str) -> None:
    grid = sandbox / "grid.toml"
    grid.write_text(f'[[run]]\nname = {json.dumps(name)}\nnotebook = "ok.ipynb"\n')
    out = sandbox / "out"
    before = snapshot(sandbox, outside=(out,))
    result = invoke("report", command, "--grid", grid, "--out", out, "--jobs", "1")
    assert result.exit_code == 1, result.output
    assert "field 'name'" in output_of(result) and "is not a valid run name" in output_of(result)
    assert snapshot(sandbox, outside=(out,)) == before
    with pytest.raises(ParameterError, match="is not a valid run name"):
        load_grid(grid)
    with pytest.raises(ParameterError, match="is not a valid run name"):
        RunSpec(name, "ok.ipynb")


WRONG_TYPES = [  # (grid body, field named in the error)
    ('name = 5\nnotebook = "ok.ipynb"', "'name' = 5"),
    ('name = "r"\nnotebook = "ok.ipynb"\nparameters = "a=b"', "'parameters' = 'a=b'"),
    ('name = "r"\nnotebook = 3', "'notebook' = 3"),
    ('name = "r"\nnotebook = "ok.ipynb"\ntitle = [1]', "'title' = [1]"),
    ('name = ["r"]\nnotebook = "ok.ipynb"', "'name' = ['r']"),
]


@pytest.mark.parametrize(("body", "named"), WRONG_TYPES)
def test_grid_field_of_the_wrong_type(sandbox: Path, body: str, named: str) -> None:
    grid = sandbox / "grid.toml"
    grid.write_text(f"[[run]]\n{body}\n")
    out = sandbox / "out"
    before = snapshot(sandbox, outside=(out,))
    result = invoke("report", "run", "--grid", grid, "--out", out)
    assert result.exit_code == 1, result.output
    text = output_of(result)
    assert "grid.toml: run #1" in text and named in text  # file, field and value
    assert "Traceback" not in result.output
    assert snapshot(sandbox, outside=(out,)) == before


HOSTILE_NOTEBOOKS = ["../outside.ipynb", "../../outside.ipynb", "sub/../../outside.ipynb",
                     "/etc/passwd.ipynb", "ok.ipynb/../../outside.ipynb", "ok.py", "./../outside.ipynb"]


@pytest.mark.parametrize("notebook", HOSTILE_NOTEBOOKS)
def test_notebook_outside_the_notebooks_folder(sandbox: Path, notebook: str) -> None:
    grid = sandbox / "grid.toml"
    grid.write_text(f'[[run]]\nname = "r"\nnotebook = {json.dumps(notebook)}\n')
    out = sandbox / "out"
    before = snapshot(sandbox, outside=(out,))
    result = invoke("report", "run", "--grid", grid, "--out", out)
    assert result.exit_code == 1, result.output
    text = output_of(result)
    assert "field 'notebook'" in text and repr(notebook) in text
    assert snapshot(sandbox, outside=(out,)) == before


def test_notebook_symlinked_out_of_the_folder_is_refused(sandbox: Path) -> None:
    (sandbox / "notebooks" / "link.ipynb").symlink_to(sandbox / "outside.ipynb")
    with pytest.raises(ParameterError, match="resolves outside the notebooks folder"):
        runner.notebook_file(sandbox / "notebooks", "link.ipynb")


def test_run_folder_symlinked_out_is_replaced_never_followed(sandbox: Path,
                                                             monkeypatch) -> None:
    """reports/evil links to the victim folder: a (crashed) run named evil replaces the
    link, and the victim folder is untouched."""
    reports = sandbox / "reports"
    reports.mkdir()
    (reports / "evil").symlink_to(sandbox / "victim", target_is_directory=True)
    before = snapshot(sandbox, outside=(reports,))

    def crash(spec, *arguments):
        raise RuntimeError("worker died")

    monkeypatch.setattr(runner, "run_one", crash)
    [manifest] = run_all([RunSpec("evil", "ok.ipynb")], reports_dir=reports, jobs=1)
    assert manifest["status"] == "failed"
    assert not (reports / "evil").is_symlink() and (reports / "evil" / "manifest.json").exists()
    assert snapshot(sandbox, outside=(reports,)) == before


def test_replace_folder_refuses_a_target_outside_the_reports_folder(sandbox: Path) -> None:
    reports = sandbox / "reports"
    work = reports / ".run.abcd1234"
    work.mkdir(parents=True)
    before = snapshot(sandbox, outside=(reports,))
    with pytest.raises(ReportError, match="outside the reports folder"):
        runner._replace_folder(work, sandbox / "victim")
    with pytest.raises(ParameterError):
        run_folder(reports, "../victim")
    assert snapshot(sandbox, outside=(reports,)) == before


# --- the cache: records are not trusted ------------------------------------------------------

def _plant_hostile_records(cache_root: Path, victim: Path, payload_field: str) -> int:
    """Point every record's ``payload`` at ``victim``, with the victim's size and hash,
    so that a cache trusting the field would read (and on a bad parse, delete) it."""
    import hashlib

    data = victim.read_bytes()
    planted = 0
    for record_path in cache_root.rglob("*.json"):
        if ".payload" in record_path.name:
            continue
        record = json.loads(record_path.read_text())
        record.update(payload=payload_field, bytes=len(data),
                      sha256=hashlib.sha256(data).hexdigest())
        record_path.write_text(json.dumps(record))
        planted += 1
    return planted


@pytest.mark.parametrize("payload", ["../../victim.txt", "ABSOLUTE", "../victim.txt",
                                     "./../../victim.txt"])
def test_cache_record_payload_cannot_point_outside(tmp_path: Path, payload: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    root = tmp_path / "cache"
    query = {"q": 1}
    cached("demo", query, "1", lambda: Download(b'{"a": 1}', url="https://example.org"),
           json.loads, len, cache_dir=root)
    payload = str(victim) if payload == "ABSOLUTE" else payload
    assert _plant_hostile_records(root, victim, payload) == 1
    (tmp_path / "demo").mkdir()  # so that ../../victim.txt from cache/demo/ is the victim
    before = snapshot(tmp_path, outside=(root,))
    with pytest.warns(Warning, match="not the payload of key"), \
            pytest.raises(OfflineError):
        cached("demo", query, "1", lambda: pytest.fail("offline"),
               lambda b: json.loads(b"{"), len, offline=True, cache_dir=root)
    assert snapshot(tmp_path, outside=(root,)) == before
    assert victim.read_text() == VICTIM_TEXT
    # the status listing reports the entry as bad without opening the victim
    key = cache_key("demo", query, "1")
    record, path, problem = Cache(root).check(root / "demo" / f"{key}.json")
    assert record is None and problem == "no record"  # the bad record was removed


def test_cache_payload_symlink_is_unlinked_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    root = tmp_path / "cache"
    cached("demo", {"q": 2}, "1", lambda: Download(b"[1, 2]"), json.loads, len, cache_dir=root)
    [payload] = (root / "demo").glob("*.payload*")
    payload.unlink()
    payload.symlink_to(victim)
    before = snapshot(tmp_path, outside=(root,))
    with pytest.warns(Warning, match="symbolic link"), pytest.raises(OfflineError):
        cached("demo", {"q": 2}, "1", lambda: pytest.fail("offline"), json.loads, len,
               offline=True, cache_dir=root)
    assert snapshot(tmp_path, outside=(root,)) == before


def test_offline_pull_with_hostile_cache_records(api_sandbox, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache filled by a real (fake-transport) pull, then every record pointed at
    ../../victim.txt: the offline pull fails with a named error, the victim stays."""
    from test_refresh import PULL, Transport

    api_sandbox(Transport())
    monkeypatch.setenv("COMTRADE_API_KEY", "test-key")
    victim = tmp_path / "victim.txt"
    victim.write_text(VICTIM_TEXT)
    cache_root = tmp_path / "cache"
    for payload in ("../../victim.txt", str(victim), "../../../victim.txt"):
        assert invoke(*PULL).exit_code == 0  # (re)fills the cache online
        assert _plant_hostile_records(cache_root, victim, payload) >= 1
        before = snapshot(tmp_path, outside=(cache_root, tmp_path / "updated"))
        result = invoke(*PULL, "--offline")
        assert result.exit_code == 1, result.output
        assert "offline mode" in output_of(result) and "not in the cache" in output_of(result)
        assert snapshot(tmp_path, outside=(cache_root, tmp_path / "updated")) == before
        assert _plant_hostile_records(cache_root, victim, payload) == 0  # bad records gone


# --- stored XSS: escaping and URL checks --------------------------------------------------

HOSTILE_TEXT = ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">',
                "<svg onload=alert(1)>", "[x](javascript:alert(1))", "<a href='//evil'>x</a>",
                "![i](https://evil.example/x.png)", "</div><script>alert(1)</script>",
                "&lt;script&gt;", "<iframe src=//evil>", "**bold** `code` $x$ # h\n- list"]
HOSTILE_URLS = ['https://x"><script>alert(1)</script>', "javascript:alert(1)",
                "https://x'onmouseover='alert(1)", "https://x y", "http://<x>", "ftp://x/y",
                "data:text/html,<script>alert(1)</script>", "https://", "//evil.example/x",
                "https://a.example:99999/", "https://a.example/\nx", "https://a.example/`x`",
                "vbscript:msgbox(1)", " https://a.example/"]
GOOD_URLS = ["https://www.trend.az/business/4156914.html", "http://example.org/a?b=1&c=2",
             "https://udn.com/news/story/7331/9248262#x", "https://x.example/%22%3E"]

LIVE_MARKUP = re.compile(r"<(script|img|svg|iframe|a href=[\"']?(?:javascript|//evil))",
                         re.IGNORECASE)


@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_escape_markdown_renders_as_text(text: str) -> None:
    body = _render_markdown(escape_markdown(text))
    assert not LIVE_MARKUP.search(body), body
    assert "onerror=" not in body.replace("onerror=&quot;", "") or "&lt;img" in body


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_hostile_urls_are_refused(url: str) -> None:
    assert url_problem(url) is not None
    with pytest.raises(ParameterError, match="is not a web address"):
        safe_url(url, where="events.yaml", field="source_urls")
    assert not markdown_link(url).startswith("<")


@pytest.mark.parametrize("url", GOOD_URLS)
def test_plain_urls_are_links(url: str) -> None:
    assert url_problem(url) is None and markdown_link(url) == f"<{url}>"


def _render_markdown(markdown: str) -> str:
    """The report HTML of a notebook whose one output is ``markdown`` (as
    ``display(Markdown(...))`` leaves it), exported as the runner does."""
    cell = nbformat.v4.new_code_cell("display(Markdown(text))", outputs=[
        nbformat.v4.new_output("display_data", data={"text/markdown": markdown})])
    body, _ = html_exporter().from_notebook_node(nbformat.v4.new_notebook(cells=[cell]))
    return body


def _hostile_event(url: str = 'https://x"><script>alert(3)</script>') -> pd.Series:
    return pd.Series({
        "event_id": "U1<script>alert(0)</script>", "measure": "<script>alert(1)</script>",
        "announced": pd.Timestamp("2025-01-01"), "effective": pd.NaT, "end": pd.NaT,
        "authority": '<img src=x onerror="alert(2)">', "instrument_no": None,
        "event_type": "licensing", "targets": "JPN", "basket": "<b>x</b>",
        "source_urls": f"https://ok.example/a;{url}"})


@pytest.mark.parametrize("url", HOSTILE_URLS[:4])
def test_event_summary_never_puts_live_markup_in_the_report(url: str) -> None:
    body = _render_markdown(event_summary(_hostile_event(url)))
    assert not LIVE_MARKUP.search(body), body
    assert '<a href="https://ok.example/a">' in body  # the plain address is still a link
    assert not re.search(r"<script\b[^>]*\bsrc=[\"']?(https?:)?//", body)


def test_report_html_loads_nothing_from_the_network() -> None:
    body = _render_markdown("# title\n\n$x^2$")
    assert "<script" not in body.lower()  # no require.js, MathJax or Mermaid
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", body)


def test_user_event_with_hostile_url_is_a_named_error(tmp_path: Path) -> None:
    folder = tmp_path / "user"
    folder.mkdir()
    for number, url in enumerate(HOSTILE_URLS[:3]):
        (folder / "events.yaml").write_text(textwrap.dedent(f"""\
            events:
              - event_id: U_BAD
                announced: 2025-01-01
                event_type: licensing
                targets: [JPN]
                basket: graphite
                measure: test
                source_urls: [{json.dumps(url)}]
            """))
        before = snapshot(tmp_path)
        result = invoke("user", "check", folder)
        assert result.exit_code == 1, (number, result.output)
        text = output_of(result)
        assert "events.yaml:" in text and "field 'source_urls'" in text, text
        assert "plain http:// or https:// address" in text
        assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_report_run_with_a_hostile_user_event(sandbox: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A user event whose text is markup reaches the report HTML escaped, never live."""
    user = sandbox / "user"
    user.mkdir()
    (user / "events.yaml").write_text(textwrap.dedent("""\
        events:
          - event_id: U_XSS
            announced: 2025-01-01
            event_type: licensing
            targets: [JPN]
            basket: graphite
            authority: "<img src=x onerror=alert(2)>"
            measure: "<script>alert(1)</script> [x](javascript:alert(1))"
            source_urls: ["https://ok.example/a"]
        """))
    monkeypatch.setenv("RESEARCH_USER_DIR", str(user))
    from helpers import write_notebook

    write_notebook(sandbox / "notebooks" / "card.ipynb", [
        'event_id = "B1"',
        "from IPython.display import Markdown, display\n"
        "from research.estimate.ban_impact import event_summary\n"
        "from research.reference.events import get_event\n"
        "display(Markdown(event_summary(get_event(event_id))))"])
    reports = sandbox / "reports"
    before = snapshot(sandbox, outside=(reports,))
    [manifest] = run_all([RunSpec("xss", "card.ipynb", {"event_id": "U_XSS"})],
                         reports_dir=reports, notebooks_dir=sandbox / "notebooks")
    assert manifest["status"] == "succeeded", manifest["error"]
    body = (reports / "xss" / "xss.html").read_text()
    assert "&lt;script&gt;alert" in body  # shown, as text
    assert not LIVE_MARKUP.search(body)
    assert not re.search(r"<script\b[^>]*\bsrc=", body)
    assert snapshot(sandbox, outside=(reports,)) == before


# --- CSV formula injection ---------------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+9)*cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil\",\"x\")", "\t=1+1",
            "\r=1+1", "-1+1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_cells_are_neutralised(text: str) -> None:
    assert spreadsheet_text(text) == "'" + text


def test_numbers_and_plain_text_are_kept() -> None:
    for value in (-1.5, 3, "-1.5", "+2", "1e-3", "-4%", "Japan", "", None, "a=b"):
        assert spreadsheet_text(value) == value
    frame = pd.DataFrame({"name": ["=1+1", "Japan"], "value": [-1.0, 2.0],
                          "kind": pd.Categorical(["@x", "ok"]), "=col": [1, 2]})
    safe = spreadsheet_safe(frame)
    assert safe["name"].tolist() == ["'=1+1", "Japan"]
    assert safe["value"].tolist() == [-1.0, 2.0]  # numbers are never touched
    assert safe["kind"].tolist() == ["'@x", "ok"] and list(safe.columns)[-1] == "'=col"


def test_worldbank_read_takes_reference_names_and_neutralises_csv(tmp_path: Path) -> None:
    source = tmp_path / "gdp_NY.GDP.MKTP.CD.csv"
    source.write_text("Country Name,Country Code,Year,Value\n"
                      "\"=cmd|' /C calc'!A0\",JPN,2023,4.2e12\n"
                      "\"@SUM(1+1)*cmd|' /C calc'!A0\",EAS,2023,-1.5e12\n")
    out = tmp_path / "out" / "gdp.csv"
    before = snapshot(tmp_path, outside=(out.parent,))
    result = invoke("data", "read", "worldbank", source, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    names = dict(zip(table["country_code"], table["country"], strict=True))
    assert names["JPN"] == "Japan"  # JPN is in the reference table: its name is used
    assert names["EAS"] == "'@SUM(1+1)*cmd|' /C calc'!A0"  # an aggregate: neutralised
    assert table["value"].tolist() == [-1.5e12, 4.2e12]  # numbers as they came
    assert not any(str(v).startswith(("=", "+", "@")) for v in table.to_numpy().ravel())
    assert snapshot(tmp_path, outside=(out.parent,)) == before


def test_report_tables_are_neutralised(tmp_path: Path, monkeypatch) -> None:
    from research.report.outputs import save_table

    monkeypatch.setenv("RESEARCH_RUN_DIR", str(tmp_path))
    save_table(pd.DataFrame({"measure": ["=1+1", "ok"], "pct": [-3.5, 1.0]}), "t")
    text = (tmp_path / "tables" / "t.csv").read_text()
    assert text.splitlines() == ["measure,pct", "'=1+1,-3.5", "ok,1"]
    with pytest.raises(ParameterError, match="one file name"):
        save_table(pd.DataFrame({"a": [1]}), "../../victim")
    write_csv(pd.DataFrame({"a": ["+x"]}), tmp_path / "direct.csv")
    assert (tmp_path / "direct.csv").read_text().splitlines() == ["a", "'+x"]
