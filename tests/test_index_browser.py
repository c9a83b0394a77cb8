"""The index page in a real headless Chromium: run list, filters, links, rendered figures.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). The
test skips, saying why, when they are missing, except on CI (``CI=true``) where a
missing browser is a failure.
"""

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import write_notebook

from research.report.pdf import find_chromium, headless_flags
from research.report.runner import RunSpec, run_all


def _browser_paths() -> tuple[Path, Path]:
    chromium = find_chromium()
    driver = Path("/usr/bin/chromedriver")
    if not driver.is_file():
        found = shutil.which("chromedriver")
        driver = Path(found) if found else None
    if chromium is None or driver is None:
        reason = ("headless browser test needs chromium and chromedriver "
                  "(apt-get install chromium chromium-driver); found "
                  f"chromium={chromium}, chromedriver={driver}")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return chromium, driver


def a4_driver(profile_dir):
    """Headless Chromium (Selenium) at A4 width, 96 px per inch; the caller quits it."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from research.report.pdf import headless_flags

    chromium, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)  # never let Selenium Manager download one
    for flag in headless_flags(profile_dir):
        options.add_argument(flag)
    options.add_argument("--window-size=794,1123")
    return webdriver.Chrome(service=Service(str(driver_path)), options=options)




# A small real report: the registry's events per year of announcement, the chosen
# event highlighted; one figure (shown in the page and saved) and one table.
CARD = [
    'event_id = "B2"\nbasket = "graphite"',
    "import matplotlib.pyplot as plt\n"
    "from research import datasets\n"
    "from research.report.outputs import save_figure, save_table\n"
    "events = datasets.load('events')\n"
    "years = events['announced'].dt.year.value_counts().sort_index()\n"
    "chosen = events.loc[events['event_id'] == event_id, 'announced'].dt.year.iloc[0]\n"
    "fig, ax = plt.subplots(figsize=(5, 3))\n"
    "ax.bar(years.index, years.values, color=['C3' if y == chosen else 'C0' for y in years.index])\n"
    "ax.set_title(f'Events announced per year ({event_id}: {basket})')\n"
    "save_figure(fig, 'events_per_year')\n"
    "save_table(years.rename('events').reset_index(), 'events_per_year')\n"
    "plt.show()",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A small grid run into a temporary reports folder, served on localhost."""
    _browser_paths()
    root = tmp_path_factory.mktemp("browser")
    notebooks, reports = root / "notebooks", root / "reports"
    notebooks.mkdir()
    write_notebook(notebooks / "card.ipynb", CARD)
    write_notebook(notebooks / "bad.ipynb", ['event_id = "B1"', "raise ValueError('boom')"])
    specs = [RunSpec("card_B1", "card.ipynb", {"event_id": "B1", "basket": "gallium"},
                     "Gallium card"),
             RunSpec("card_B2", "card.ipynb", {"event_id": "B2", "basket": "graphite"},
                     "Graphite card"),
             RunSpec("broken_B1", "bad.ipynb", {"event_id": "B1"}, "Broken")]
    manifests = run_all(specs, reports_dir=reports, jobs=2, notebooks_dir=notebooks)
    assert [m["status"] for m in manifests] == ["succeeded", "succeeded", "failed"]

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(reports)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)  # never let Selenium Manager download one
    for flag in headless_flags(tmp_path_factory.mktemp("chromium-profile")):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _visible_runs(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [row.find_element(By.CSS_SELECTOR, "td:nth-child(2) .note").text.split()[0]
            for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr") if row.is_displayed()]


@pytest.mark.slow
def test_index_lists_filters_and_links_rendered_reports(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{served}/index.html")
    assert browser.title == "Reports: export controls and defense"
    assert _visible_runs(browser) == ["broken_B1", "card_B1", "card_B2"]
    assert "3 runs, 1 failed" in browser.find_element(By.TAG_NAME, "body").text
    status = {row: browser.find_element(By.XPATH, f"//tr[contains(., '{row}')]/td[1]").text
              for row in ("broken_B1", "card_B2")}
    assert status == {"broken_B1": "failed", "card_B2": "succeeded"}

    event, basket = (Select(browser.find_element(By.ID, i)) for i in ("f-event", "f-basket"))
    assert [o.text for o in event.options] == ["all", "B1", "B2"]
    event.select_by_value("B1")
    assert _visible_runs(browser) == ["broken_B1", "card_B1"]
    basket.select_by_value("graphite")
    assert _visible_runs(browser) == []  # no B1 run is about graphite
    event.select_by_value("")
    assert _visible_runs(browser) == ["card_B2"]
    basket.select_by_value("")
    assert len(_visible_runs(browser)) == 3

    links = {a.text + ":" + a.get_attribute("href").rsplit("/", 2)[-2]: a.get_attribute("href")
             for a in browser.find_elements(By.CSS_SELECTOR, "tbody a")}
    assert len(links) == 9  # report, notebook and manifest for each of the three runs
    for key, href in sorted(links.items()):
        kind, run = key.split(":")
        browser.get(href)
        assert "404" not in browser.title, href
        if kind != "report":
            continue
        assert browser.execute_script("return document.readyState") == "complete"
        images = browser.find_elements(By.TAG_NAME, "img")
        widths = [browser.execute_script(
            "return arguments[0].complete ? arguments[0].naturalWidth : 0", img)
            for img in images]
        if run.startswith("card"):
            assert widths and all(w > 0 for w in widths), (href, widths)
        else:
            assert "boom" in browser.find_element(By.TAG_NAME, "body").text


def test_missing_browser_skips_but_fails_on_ci(monkeypatch):
    monkeypatch.setenv("RESEARCH_CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but headless browser test"):
        _browser_paths()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="needs chromium and chromedriver"):
        _browser_paths()
