"""Figures and tables a notebook saves: SVG + 200-dpi PNG, numbered captions and notes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

import research.report.outputs as outputs  # noqa: E402
from research.provenance import RUN_DIR_VARIABLE  # noqa: E402


@pytest.fixture()
def shown(monkeypatch, tmp_path):
    """A run folder, and what the functions display (IPython's display replaced)."""
    import IPython.display

    monkeypatch.setenv(RUN_DIR_VARIABLE, str(tmp_path))
    seen = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: seen.extend(objects))
    return seen


def _markdown(seen) -> list[str]:
    return [o.data for o in seen if type(o).__name__ == "Markdown"]


def test_figure_is_saved_as_svg_and_png_at_200_dpi(shown, tmp_path):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 3], [2, 1, 3])
    assert outputs.save_figure(fig, "line") is fig
    svg = (tmp_path / "figures" / "line.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "<dc:date>" not in svg  # no date: the same figure gives the same file
    with Image.open(tmp_path / "figures" / "line.png") as png:
        # the PNG's pHYs chunk, in dots per inch (stored as dots per metre, so 199.9996)
        assert min(png.info["dpi"]) >= 199.99
        assert png.size[0] >= 3 * 200  # at least 3 inches wide at 200 dpi (tight box)
    assert shown == []  # no caption: nothing displayed, as before
    plt.close(fig)


def test_captioned_figures_are_numbered_in_order_with_their_note(shown):
    figures = [plt.subplots()[0] for _ in range(2)]
    outputs.save_figure(figures[0], "first", caption="Exports to Japan",
                        note="Source: <UN Comtrade>; USD")
    outputs.save_figure(figures[1], "second", note="Units: kg")
    outputs.save_figure(figures[0], "first", caption="Exports to Japan")  # a cell run again
    markdown = _markdown(shown)
    assert markdown[0].startswith("**Figure 1.** Exports to Japan")
    assert "*Note:* Source\\: &lt;UN Comtrade&gt;; USD" in markdown[0]  # escaped
    assert markdown[1] == "**Figure 2.**\n\n*Note:* Units\\: kg"
    assert markdown[2].startswith("**Figure 1.**")
    assert shown[0] is figures[0]  # the figure first, its caption under it
    assert not plt.fignum_exists(figures[0].number)  # closed: not shown twice


def test_table_caption_number_and_formatting(shown, tmp_path):
    frame = pd.DataFrame({"value_usd": [1234567.8, None]})
    assert outputs.save_table(frame, "values", caption="Values", note="USD") is frame
    assert (tmp_path / "tables" / "values.csv").read_text().startswith("value_usd\n1234567.8\n")
    outputs.show_table(frame.assign(other=1), caption="Again, shown only")
    markdown = _markdown(shown)
    assert markdown == ["**Table 1.** Values", "*Note:* USD", "**Table 2.** Again, shown only"]
    html = shown[1].to_html()
    assert "1,234,568" in html and "nan" not in html.lower()
    outputs.save_table(frame, "plain")  # no caption: nothing shown, not numbered
    assert len(shown) == 5


def test_outside_a_run_nothing_is_written(monkeypatch, tmp_path):
    monkeypatch.delenv(RUN_DIR_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    fig = plt.figure()
    outputs.save_figure(fig, "x")
    outputs.save_table(pd.DataFrame({"a": [1]}), "x")
    assert list(tmp_path.iterdir()) == []
    plt.close(fig)
