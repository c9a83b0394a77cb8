"""Write ``notebooks/tutorial.ipynb`` from the cells below (run: python docs/build_tutorial.py).

The notebook is kept without outputs; ``tests/test_tutorial.py`` executes it with
papermill. The docs show it **with its outputs**: ``python docs/build_tutorial.py
--executed`` runs it (papermill, offline, on the bundled data) and writes the executed
copy ``docs/tutorial.ipynb``, which mkdocs-jupyter renders without executing anything
(so ``make docs`` stays fast, offline and free of kernel output). Rerun it whenever the
cells or the package change what the tutorial prints; ``tests/test_docs.py`` fails when
the executed copy's cells differ from the ones below.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

TARGET = Path(__file__).resolve().parent.parent / "notebooks" / "tutorial.ipynb"
EXECUTED = Path(__file__).resolve().parent / "tutorial.ipynb"

CELLS: list[tuple[str, str]] = [
    ("md", """\
# Tutorial: your own events, baskets, files and estimator

This notebook starts from the bundled data and extends the toolkit **without editing the
package**:

1. it adds an export-control event of your own (the February 2026 Watch List of Japanese
   entities) and an HS basket of your own, in YAML and TOML files in a folder of yours;
2. it runs the ban-impact analysis on them, and shows what happens for an event after the
   end of the bundled trade data;
3. it reads a CSV file of your own through the file loader;
4. it wraps a small estimator of your own in the `Result` interface, so it fits the
   report index and the plots;
5. it ends with exercises.

Run it from JupyterLab (`make lab`) or from the shell with papermill; the only parameter is
the folder for your files (empty: a new temporary folder)."""),
    ("parameters", """\
# Parameters (papermill injects values after this cell)
user_dir = ""  # folder for your own events and baskets; "" makes a temporary one"""),
    ("code", """\
import json
import os
import tempfile
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from research import datasets
from research.errors import ParameterError, UserFileError
from research.estimate.ban_impact import ban_event_study, event_summary
from research.estimate.result import Result, tidy_row
from research.markup import markdown_list
from research.readers import read_file
from research.reference import baskets, events, user_files
from research.report.outputs import record_result

folder = Path(user_dir) if user_dir else Path(tempfile.mkdtemp(prefix="research-user-"))
folder.mkdir(parents=True, exist_ok=True)
# What `research --user-dir FOLDER ...` sets for a command and the notebooks it runs; the
# package reads it whenever it looks up events or baskets.
os.environ["RESEARCH_USER_DIR"] = str(folder)

warnings.simplefilter("default")  # show each identification caveat once
pd.set_option("display.max_colwidth", 80)
print(f"your folder: {folder}")"""),
    ("md", """\
## 1. The bundled event registry

The registry is the curated table `events` (34 events, 2010-2026), parsed from the
hand-compiled timeline `events/TIMELINE_NOTES.md` of the shared raw data. Its last row,
**C11**, is the 24 February 2026 listing of Japanese entities."""),
    ("code", """\
registry = events.load_events()
registry[["event_id", "effective", "event_type", "targets", "basket"]].tail(6)"""),
    ("code", """\
display(Markdown(event_summary(events.get_event("C11"))))"""),
    ("md", """\
The timeline's row C11 records two lists published together on 2026-02-24: MOFCOM
Announcement No. 11 of 2026 puts **20 Japanese entities on the Export Control List**
(dual-use exports prohibited), and a parallel announcement puts **20 more on the first
Watch ("Concern") List** (case-by-case licences, risk assessments and pledges; the timeline
notes that its announcement number was not seen). The registry keeps both in the one row
C11.

The Watch List works differently from the Control List (a licence review, not a ban), so a
study may want it as **its own event**. We add it under a new id, `U_JP_WATCHLIST_2026`,
citing the pages the timeline lists for it. Ids of the form `A1`..`C99` are reserved for
the bundled timeline; any other name works.

## 2. Your own basket and event (YAML)

A basket is a named list of HS6 lines. `ree_downstream` keeps the rare-earth compounds
(284690) and permanent magnets (850511) and leaves out the metals (280530): the annual
WITS panel has all three, so the basket lets us ask whether the downstream goods moved
differently. `product_group` links the basket to a group of the monthly Comtrade table
(here `rare_earths`), which the monthly designs use."""),
    ("code", """\
watchlist_pages = [
    "https://rareearthexchanges.com/news/china-places-20-japanese-companies-on-export-concern-"
    "list-expands-dual-use-controls",
    "https://chinaindustryintel.com/china-imposes-dual-use-export-controls-on-40-japanese-"
    "entities/",
]
yaml_text = textwrap.dedent(f'''\\
    baskets:
      - name: ree_downstream
        product_group: rare_earths
        note: Rare-earth compounds and permanent magnets, without the metals (280530).
        lines:
          - hs6: "284690"
            note: Compounds of the controlled elements beside uncontrolled Nd, Pr, La.
          - hs6: "850511"
            note: All metal permanent magnets (NdFeB, SmCo, AlNiCo, ferrous), not only
              rare-earth magnets.
    events:
      - event_id: U_JP_WATCHLIST_2026
        announced: 2026-02-24
        effective: 2026-02-24
        event_type: entity listing
        targets: [JPN]
        basket: [dual_use_catalogue, ree_downstream]
        authority: MOFCOM
        measure: >-
          Watch ("Concern") List: 20 Japanese entities (among them Subaru, Mitsubishi
          Materials, Sumitomo Heavy Industries, TDK, Nitto Denko) need case-by-case
          licences, risk assessments and pledges for dual-use imports from China.
          Published with No. 11 of 2026 (row C11 of TIMELINE_NOTES.md); number not seen.
        source_urls:
          - {watchlist_pages[0]}
          - {watchlist_pages[1]}
    ''')
(folder / "japan_2026.yaml").write_text(yaml_text, encoding="utf-8")
print(yaml_text)"""),
    ("md", """\
## 3. A past-dated event (TOML)

Trade data bundled with the package end in **December 2024**, so no event of 2025-2026 can
be estimated from them (section 5 shows the message). To get an estimate from a user
event, we add one that the data cover: the December 2023 graphite licensing (B2) **dated
at its announcement, 2023-10-20**, instead of its effective date 2023-12-01. Exporters
knew six weeks ahead; dating the event at the announcement asks how exports moved from the
day the rule was known. The file is TOML this time, citing B2's pages."""),
    ("code", """\
b2_pages = events.get_event("B2")["source_urls"].split(";")
toml_text = f'''\\
[[events]]
event_id = "U_GRAPHITE_ANN"
announced = 2023-10-20
event_type = "licensing"
targets = "ALL"
basket = ["graphite"]
authority = "MOFCOM & GAC"
measure = "The graphite licensing of B2, dated at its announcement (2023-10-20) instead of its effective date (2023-12-01)."
source_urls = {json.dumps(b2_pages)}
'''
(folder / "graphite_announcement.toml").write_text(toml_text, encoding="utf-8")
print(toml_text)"""),
    ("md", """\
## 4. Check the files; they are now part of the registry

`user_files.read_user_dir` (or, from the shell, `research user check FOLDER`) reads every
YAML and TOML file of the folder and checks it against the schemas of the bundled tables:
HS codes against the bundled list of HS2007-HS2022 subheadings, dates, ISO3 codes, event
types, basket names, and ids that clash with bundled ones."""),
    ("code", """\
mine = user_files.read_user_dir(folder)
mine.events[["event_id", "announced", "effective", "event_type", "targets", "basket",
             "section"]]"""),
    ("code", """\
mine.baskets[["basket", "hs6", "description", "hs2017", "in_dual_use_catalogue",
              "product_group"]]"""),
    ("code", """\
print(len(events.load_events(user=False)), "bundled events;",
      len(events.load_events()), "with yours")
print("baskets:", baskets.basket_names())
print("ree_downstream:", baskets.basket_codes("ree_downstream"))"""),
    ("md", """\
A mistake is reported with the file, the line, the field and the value. Germanium's
HS code 811230 is an HS2002 subheading, in none of HS2007-HS2022 (it became part of
811292, see the bundled `hs_baskets` notes):"""),
    ("code", """\
broken = Path(tempfile.mkdtemp(prefix="research-broken-"))
(broken / "germanium.yaml").write_text(textwrap.dedent('''\\
    baskets:
      - name: germanium_2002
        lines: ["811292", "811230"]
    '''), encoding="utf-8")
try:
    user_files.read_user_dir(broken)
except UserFileError as error:
    print(error)"""),
    ("md", """\
## 5. Ban impact on your event and your basket

**The February 2026 Watch List.** The analysis stops with a clear message: the event is
after the last month of the bundled trade data. Estimating it needs fresh monthly data
(UN Comtrade, reporter 156, flow X), passed as `flows=` (see the exercises)."""),
    ("code", """\
try:
    ban_event_study("U_JP_WATCHLIST_2026", "ree_downstream")
except ParameterError as error:
    print(error)"""),
    ("md", """\
**The graphite licensing dated at its announcement.** Same design as the bundled B2
report (graphite against product groups no measure touched in the window, monthly,
PPML with unit and month fixed effects), but with event month October 2023 and no
anticipation window; beside it, B2 at its effective date with one month of anticipation
(the report's choice)."""),
    ("code", """\
announced, design_announced = ban_event_study("U_GRAPHITE_ANN", "graphite", anticipation=0)
effective, design_effective = ban_event_study("B2", "graphite", anticipation=1)
display(Markdown(markdown_list(announced.notes)))
comparison = pd.DataFrame([
    {"event": name, "event month": f"{design.event:%Y-%m}", "post effect %": r.post_effect["pct"],
     "conf_low": r.post_effect["pct_low"], "conf_high": r.post_effect["pct_high"],
     "pre-trend p": r.pretrend["p_value"]}
    for name, r, design in (("U_GRAPHITE_ANN (announced)", announced, design_announced),
                            ("B2 (effective, 1 month anticipation)", effective,
                             design_effective))])
comparison"""),
    ("md", """\
Read the `pre-trend p` column before the effects: a small p-value means that treated and
control groups already diverged before the event month, so the post-event difference is
not the effect of the measure alone. Dating the event earlier also moves the November 2023
surge (section 6) from the anticipation window into the post period."""),
    ("code", """\
announced.plot();"""),
    ("md", """\
**Your basket on a bundled event.** The 2010 halt of rare-earth shipments to Japan (A2)
predates the monthly data, so the design uses the annual WITS HS6 panel, where the basket's
lines matter: `ree_downstream` (compounds and magnets) against the bundled `rare_earths`
basket (metals and compounds). Read the notes: 2010 is the first year of data and is itself
partly treated."""),
    ("code", """\
rows = []
for basket in ("ree_downstream", "rare_earths"):
    result, design = ban_event_study("A2", basket)
    rows.append({"basket": basket, "HS6 lines": ", ".join(sorted(design.panel["product"].unique())),
                 "post effect %": result.post_effect["pct"], "conf_low": result.post_effect["pct_low"],
                 "conf_high": result.post_effect["pct_high"], "n_obs": result.post_effect["n_obs"]})
pd.DataFrame(rows)"""),
    ("md", """\
## 6. Your own CSV through the file loader

`research.readers.read_file(source, path)` reads a file you downloaded into the same tidy
table as the bundled data (schema `trade_flows`), with errors that name the file, row,
column and value. Here we write a small UN Comtrade export ourselves, so that the
notebook runs offline: China's monthly exports of natural graphite (HS 250410) to Japan in
2023, with the values of the bundled table, in the layout of a "Get data" download from
comtradeplus.un.org (API field names). In practice you download the file."""),
    ("code", """\
monthly = datasets.load("china_exports_monthly")
graphite_jpn = monthly[monthly["product"].eq("250410") & monthly["partner_iso3"].eq("JPN")
                       & monthly["period"].dt.year.eq(2023)]
export = pd.DataFrame({
    "typeCode": "C", "freqCode": "M", "refYear": graphite_jpn["period"].dt.year,
    "refMonth": graphite_jpn["period"].dt.month,
    "period": graphite_jpn["period"].dt.strftime("%Y%m"), "reporterCode": 156,
    "reporterISO": "CHN", "flowCode": "X", "partnerCode": 392, "partnerISO": "JPN",
    "partner2Code": 0, "classificationCode": "H6", "cmdCode": "250410", "customsCode": "C00",
    "motCode": 0, "qtyUnitAbbr": "kg", "netWgt": graphite_jpn["quantity"].to_numpy(),
    "primaryValue": graphite_jpn["value_usd"].to_numpy()})
csv_path = folder / "TradeData_graphite_JPN_2023.csv"
export.to_csv(csv_path, index=False)
mine_flows = read_file("comtrade", csv_path)
mine_flows[["partner_iso3", "product", "period", "value_usd", "quantity", "source"]].tail(4)"""),
    ("code", """\
same = np.allclose(mine_flows["value_usd"], graphite_jpn["value_usd"])
print(f"values read back equal the bundled ones: {same}")
change = mine_flows.set_index("period")["value_usd"].pct_change() * 100
print(f"Nov 2023 vs Oct: {change['2023-11-01']:+.0f}%, Dec vs Nov: {change['2023-12-01']:+.1f}%")"""),
    ("md", """\
The November spike and the December collapse are the front-loading between the
announcement and the effective date that section 5 dates differently.

## 7. Your own estimator in the `Result` interface

Any estimator fits the report index and the plots if it returns a `Result`: a tidy
table (`term, estimate, std_error, conf_low, conf_high, p_value, n_obs, method`), a
`headline` (`term, label, estimate, conf_low, conf_high`) and notes. A deliberately naive
one: the difference in mean log monthly graphite exports (all destinations of the monthly
panel) in the 12 months after the announcement against the 12 months before, with a
Welch standard error. It ignores trends and common shocks, which is what the event study
above handles."""),
    ("code", """\
def before_after(flows: pd.DataFrame, group: str, date: str, months: int = 12) -> Result:
    \"\"\"Mean log exports of ``group`` after minus before ``date`` (a naive comparison).\"\"\"
    date = pd.Timestamp(date)
    sums = (flows[flows["product"].eq(group) & flows["partner_iso3"].ne("WLD")]
            .groupby("period")["value_usd"].sum())
    before = np.log(sums[(sums.index < date) & (sums.index >= date - pd.DateOffset(months=months))])
    after = np.log(sums[(sums.index >= date) & (sums.index < date + pd.DateOffset(months=months))])
    estimate = after.mean() - before.mean()
    std_error = np.sqrt(after.var() / len(after) + before.var() / len(before))
    row = tidy_row("after_minus_before", estimate, std_error, n_obs=len(before) + len(after),
                   method="before-after difference in mean log exports")

    def pct(value: float) -> float:  # log points -> percent change
        return 100 * np.expm1(value)

    return Result(method=row["method"], table=pd.DataFrame([row]),
                  headline={"term": row["term"], "label": "after vs before, % change",
                            "estimate": pct(estimate), "conf_low": pct(row["conf_low"]),
                            "conf_high": pct(row["conf_high"])},
                  notes=["No control group: trends and common shocks are attributed to the "
                         "measure."])


naive = before_after(monthly[monthly["product_level"].eq("group")], "graphite", "2023-10-20")
print(naive.summary())
record_result(naive, event_id="U_GRAPHITE_ANN", basket="graphite")  # what a report run records
naive.plot();"""),
    ("md", """\
## 8. Exercises

1. **Run the report notebook on your event.** Write a grid file `my_reports.toml` with one
   `[[run]]` of `ban_impact.ipynb` and `event_id = "U_GRAPHITE_ANN"`, then run
   `research --user-dir FOLDER report run --grid my_reports.toml`. Find your headline on
   `reports/index.html`.
2. **A placebo.** Add `U_GRAPHITE_PLACEBO`, the same event moved back a year (announced
   2022-10-20). What should the event study find? What does it find? Note that an event
   with a basket also removes that basket's product group from the automatic controls of
   other events in its window.
3. **Basket scope.** Add a basket `natural_graphite` with only 250410 and product group
   `graphite`, and run `ban_event_study("U_GRAPHITE_ANN", "natural_graphite")`. Why is the
   estimate identical to the `graphite` basket's? (Hint: what is the unit of the monthly
   design?) Which design would use the HS6 lines?
4. **Read the errors.** Put `targets: [EU]` in your YAML event, then `targets: [Japan]`,
   then `announced: 2026-02-30`. Read each message; fix the file.
5. **Fresh data for 2026.** Download from comtradeplus.un.org China's monthly exports
   (reporter 156, flow X) of the HS6 lines of `comtrade_groups` for 2023-2026, read the
   file with `read_file("comtrade", path)`, sum the lines into the product groups of the
   monthly table (`research.sources.comtrade_monthly.GROUP_CODES`; `product_level`
   "group") and pass the result as `flows=` to
   `ban_event_study("U_JP_WATCHLIST_2026", "ree_downstream")`.
6. **Your estimator in a report.** Put `before_after` in a module of yours and call it
   from a copy of `ban_impact.ipynb`; `record_result` puts its headline on the index."""),
]


def build() -> nbformat.NotebookNode:
    """The tutorial notebook, without outputs."""
    cells = []
    for number, (kind, source) in enumerate(CELLS):
        cell = new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        cell.id = f"tutorial-{number:02d}"  # stable ids: the file only changes with the text
        if kind == "parameters":
            cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                       "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


def main(target: Path = TARGET) -> Path:
    notebook = build()
    nbformat.validate(notebook)
    target.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    return target


def executed(target: Path = EXECUTED) -> Path:
    """Run the tutorial and write the executed copy the docs show.

    It runs in a temporary folder with ``user_dir="my_files"``, so the printed paths are
    relative; the machine's paths left in warnings and messages (the package folder, the
    temporary folders) are replaced by short names.
    """
    import os
    import re
    import tempfile

    import papermill

    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="research-tutorial-") as folder:
        source = Path(folder) / "tutorial.ipynb"
        source.write_text(nbformat.writes(build()) + "\n", encoding="utf-8")
        env_user = os.environ.pop("RESEARCH_USER_DIR", None)  # the bundled data only
        try:
            notebook = papermill.execute_notebook(
                str(source), None, parameters={"user_dir": "my_files"}, cwd=folder,
                kernel_name="python3", progress_bar=False)
        finally:
            if env_user is not None:
                os.environ["RESEARCH_USER_DIR"] = env_user
        paths = [(str(Path(folder).resolve()) + os.sep, ""), (str(repo) + os.sep, ""),
                 (tempfile.gettempdir() + os.sep, "")]
        temporary = re.compile(r"research-(broken|user)-[A-Za-z0-9_]+")

        def scrub(text: str) -> str:
            for old, new in paths:
                text = text.replace(old, new)
            return temporary.sub(r"research-\1-folder", text)

        for cell in notebook.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
            for output in cell.get("outputs", []):
                if "text" in output:
                    output["text"] = scrub(output["text"])
                for kind, value in output.get("data", {}).items():
                    if kind.startswith("text/") and isinstance(value, str):
                        output["data"][kind] = scrub(value)
        notebook.metadata.pop("papermill", None)
    if target.is_symlink():
        target.unlink()
    target.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    return target


if __name__ == "__main__":
    if sys.argv[1:2] == ["--executed"]:
        print(executed(Path(sys.argv[2]) if len(sys.argv) > 2 else EXECUTED))
    else:
        print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET))
