"""The index page: one row per run manifest, filters by event and basket, escaping."""

import json

from research.report.index import read_manifests, render_index, write_index


def _manifest(name, status="succeeded", **parameters):
    return {"name": name, "title": f"Title of {name}", "notebook": "ban_impact.ipynb",
            "parameters": parameters, "status": status, "finished": "2026-01-06T00:00:00+00:00"}


def test_rows_filters_and_headline():
    good = _manifest("ban_B2", event_id="B2", basket="graphite")
    good["headline"] = {"label": "post-event change, %", "estimate": -41.234,
                        "conf_low": -60.04, "conf_high": -15.96}
    failed = _manifest("ban_B1", status="failed", event_id="B1", basket="gallium")
    failed["error"] = {"cell_index": 4, "ename": "EstimationError", "evalue": "no controls"}
    other = _manifest("defense", countries=["JPN"])
    page = render_index([failed, good, other])
    assert "3 runs, 1 failed" in page
    # the filter lists hold exactly the events and baskets of the runs, sorted
    assert ('<option value="">all</option>\n<option value="B1">B1</option>'
            '<option value="B2">B2</option>') in page
    assert '<option value="gallium">gallium</option><option value="graphite">' in page
    assert '<tr data-event="B2" data-basket="graphite">' in page
    assert '<tr data-event="" data-basket="">' in page  # a run without event or basket
    # one decimal, as the page shows it: -41.234 -> -41.2, CI [-60.0, -16.0]
    assert "post-event change, %: <b>-41.2</b> [-60.0, -16.0]" in page
    assert "cell 4: EstimationError: no controls" in page
    assert 'href="ban_B2/ban_B2.html"' in page and 'href="ban_B2/manifest.json"' in page


def test_text_is_escaped():
    bad = _manifest("x", basket='<script>alert("x")</script>')
    bad["title"] = "A & B"
    page = render_index([bad])
    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page and "A &amp; B" in page


def test_write_index_reads_run_folders_only(tmp_path):
    for name in ("b", "a", ".a.tmp1234"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps(_manifest(name)))
    assert [m["name"] for m in read_manifests(tmp_path)] == ["a", "b"]
    page = write_index(tmp_path).read_text()
    assert "2 runs, 0 failed" in page and ".a.tmp1234" not in page


def test_corrupt_manifests_are_listed_as_corrupt_not_a_crash(tmp_path):
    texts = {"cut": json.dumps(_manifest("cut"))[:40],  # a truncated write
             "list": "[1, 2]",
             "typed": json.dumps({**_manifest("typed"), "parameters": "a=b"}),
             "headline": json.dumps({**_manifest("headline"),
                                     "headline": {"label": "x", "estimate": "big"}}),
             "good": json.dumps(_manifest("good"))}
    for name, text in texts.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(text)
    found = {m["name"]: m for m in read_manifests(tmp_path)}
    assert found["good"]["status"] == "succeeded"
    assert {n for n, m in found.items() if m["status"] == "corrupt"} == {
        "cut", "list", "typed", "headline"}
    assert "not a JSON object but list" in found["list"]["corrupt"]
    assert "field 'parameters' = 'a=b' is not a dict" in found["typed"]["corrupt"]
    assert "field 'headline.estimate' = 'big' is not a number" in found["headline"]["corrupt"]
    page = write_index(tmp_path).read_text()
    assert "5 runs, 4 failed" in page
    assert f"corrupt manifest: {tmp_path / 'cut' / 'manifest.json'}: unreadable" in page
