"""HS6 baskets of the goods China's export controls touch, with their caveats.

A basket is a named list of HS6 lines. :data:`BASKETS` holds the definitions, each
line with a judgement of whether it mixes controlled and uncontrolled goods
(``mixed_scope``) and a note. The data build enriches them from the raw files:
the HS2022 description (``harmonized-system.csv``), the UN correlation of each line
with HS2017, HS2012 and HS2007 (``1:1``, ``n:1``, ``1:n``, ``n:n``, or ``absent``
when the line is not an HS2022 subheading) and whether the 2026 dual-use catalogue
lists the line for export.

Two baskets are derived rather than chosen: ``comtrade_groups`` (the HS6 lines of
the product groups of the monthly Comtrade table) and ``dual_use_catalogue`` (every
export HS6 of the catalogue parse).

Choices: the gallium basket follows the monthly Comtrade group and the China
tariff lines of the raw ``hs_map.csv`` (811292, 811299, 282590, 285000, 285390).
Lines that the catalogue attaches to gallium entries but which are downstream
goods or noise of the parse are left out: 381800 (doped wafers), 382569, 854141
(LEDs), 284290. The germanium basket leaves out 282739 (GeCl4 sits in "other
chlorides"), 261710 and the optical lines 900190/900220 that the parse attaches to
germanium entries one row off. Tungsten adds 810110 (powders) and 284990
(carbides) to the lines of the brief; 1C117 also reaches 810210 (molybdenum),
which is left out.

Users add their own baskets in YAML or TOML files in the folder ``RESEARCH_USER_DIR``
(:mod:`research.reference.user_files`): :func:`basket_names`, :func:`basket_codes`,
:data:`BASKET_GROUP` and ``datasets.load("hs_baskets")`` include them; the data
build uses only the bundled definitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from research import datasets
from research.datasets import Dataset
from research.errors import ParameterError, SourceFormatError
from research.hs import CORRELATION_FILES, FOLDER, read_correlations
from research.reference import dual_use, user_files
from research.reference.tables import GROUP_CODES, HS_BASKETS, NOT_IN_HS2022
from research.sources.comtrade_monthly import read_csv_checked

NOMENCLATURE_FILE = "harmonized-system.csv"


@dataclass(frozen=True)
class Line:
    """One HS6 line of a basket."""

    hs6: str
    mixed_scope: bool
    note: str


_MAGNETS = ("All metal permanent magnets (NdFeB, SmCo, AlNiCo, ferrous alloys), not only "
            "rare-earth magnets; the catalogue's NdFeB/SmCo items carry no 8505.11 code. n:1 "
            "HS2022->HS2017, and 8549 (e-waste, new in HS2022) maps n:n into it.")
_GA_GE_UNWROUGHT = ("Unwrought Ga, Ge, In, Nb and V (waste, scrap, powders): gallium (3C001) "
                    "and germanium (3C002) beside uncontrolled indium, niobium, vanadium and "
                    "others. Breaks in 2022: hafnium (811231) and rhenium (811241) were split "
                    "out of it (n:1 HS2022->HS2017).")
_GA_GE_WROUGHT = ("Wrought Ga, Ge, In, Nb and V articles: gallium and germanium beside "
                  "uncontrolled metals. Breaks in 2022: hafnium (811239) and rhenium (811249) "
                  "were split out of it (n:1 HS2022->HS2017).")
_OXIDES = ("Other inorganic bases and metal oxides: gallium oxide and tungsten oxides (China "
           "tariff lines 2825.90) beside many uncontrolled oxides.")
_NITRIDES = ("Hydrides, nitrides, azides, silicides and borides: gallium nitride and antimony "
             "hydride beside many uncontrolled compounds.")
_PHOSPHIDES = ("Phosphides and other inorganic compounds n.e.c.: gallium arsenide and "
               "phosphide, indium phosphide and antimonide beside uncontrolled compounds.")

BASKETS: dict[str, tuple[Line, ...]] = {
    "rare_earths": (
        Line("280530", True, "Rare-earth metals, scandium and yttrium: the controlled metals "
             "(Sm, Gd, Tb, Dy, Lu, Sc, Y; 1C902-1C908) share the line with uncontrolled La, "
             "Ce, Nd, Pr."),
        Line("284610", False, "Cerium compounds: cerium is not among the controlled elements; "
             "a comparison line."),
        Line("284690", True, "Other rare-earth compounds: oxides and compounds of the "
             "controlled elements beside uncontrolled Nd, Pr and La compounds."),
    ),
    "magnets": (Line("850511", True, _MAGNETS),),
    "gallium": (
        Line("811292", True, _GA_GE_UNWROUGHT),
        Line("811299", True, _GA_GE_WROUGHT),
        Line("282590", True, _OXIDES),
        Line("285000", True, _NITRIDES),
        Line("285390", True, _PHOSPHIDES),
    ),
    "germanium": (
        Line("811292", True, _GA_GE_UNWROUGHT),
        Line("811299", True, _GA_GE_WROUGHT),
        Line("282560", True, "Germanium oxides together with zirconium dioxide (uncontrolled, "
             "usually the larger trade)."),
    ),
    "graphite": (
        Line("250410", True, "Natural graphite in powder or flakes: 1C108 controls "
             "high-purity, spherical and flake graphite above thresholds, not all of it."),
        Line("380110", True, "Artificial graphite: only grades meeting the 1C108 purity, "
             "strength and density thresholds are controlled."),
    ),
    "antimony": (
        Line("261710", False, "Antimony ores and concentrates (3C003.a)."),
        Line("811010", False, "Unwrought antimony and powders (3C003.a/b)."),
        Line("811020", False, "Antimony waste and scrap."),
        Line("811090", False, "Wrought antimony and articles (3C003.b)."),
        Line("282580", True, "Antimony oxides: controlled at high purity only (3C003.c)."),
    ),
    "tungsten": (
        Line("810110", True, "Tungsten powders: only grades meeting 1C117 are controlled."),
        Line("810194", True, "Unwrought tungsten: only grades meeting 1C117 are controlled."),
        Line("810199", True, "Tungsten articles n.e.c.: only items meeting 1C117."),
        Line("284180", True, "Tungstates: ammonium paratungstate (1C117.d) beside other "
             "tungstates."),
        Line("282590", True, _OXIDES),
        Line("284990", True, "Carbides n.e.c.: tungsten carbide beside other carbides."),
    ),
    "polysilicon": (
        Line("280461", False, "Silicon with at least 99.99% Si: not a Chinese dual-use "
             "export item; a comparison line for the monthly polysilicon group."),
    ),
}

# Basket -> product group of the monthly Comtrade table that approximates it.
BUNDLED_BASKET_GROUP: dict[str, str] = {
    "rare_earths": "rare_earths",
    "magnets": "rare_earths",
    "gallium": "gallium_germanium",
    "germanium": "gallium_germanium",
    "graphite": "graphite",
    "polysilicon": "polysilicon",
}



class _BasketGroups(Mapping[str, str]):
    """Basket -> monthly product group: the bundled baskets, then the user's, read live."""

    def _groups(self) -> dict[str, str]:
        user = user_files.current()
        return {**BUNDLED_BASKET_GROUP, **(user.basket_groups() if user else {})}

    def __getitem__(self, name: str) -> str:
        return self._groups()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._groups())

    def __len__(self) -> int:
        return len(self._groups())

    def __repr__(self) -> str:
        return f"BASKET_GROUP({self._groups()!r})"


BASKET_GROUP: Mapping[str, str] = _BasketGroups()
"""Basket -> product group of the monthly Comtrade table, including user baskets that
name a ``product_group``."""

DERIVED_BASKETS = ("comtrade_groups", "dual_use_catalogue")

# HS_BASKETS (the schema of the table) and NOT_IN_HS2022 live in research.reference.tables,
# shared with the user-file checks.


def bundled_basket_names() -> list[str]:
    """Names of the bundled baskets, sorted."""
    return sorted([*BASKETS, *DERIVED_BASKETS])


def _user_baskets():
    return user_files.current()


def basket_names() -> list[str]:
    """Names of all baskets, sorted: the bundled ones and the user's (``RESEARCH_USER_DIR``).

    Examples
    --------
    >>> "graphite" in basket_names()
    True
    """
    user = _user_baskets()
    return sorted([*bundled_basket_names(), *(user.basket_names() if user else [])])


def _check_name(name: str) -> None:
    if name not in basket_names():
        raise ParameterError(f"unknown basket {name!r}; allowed: {basket_names()}")


def basket_codes(name: str) -> list[str]:
    """Sorted HS6 codes of basket ``name``.

    ``dual_use_catalogue`` reads the bundled catalogue table; user baskets come from
    the user folder; the others are constants.
    Raises :class:`~research.errors.ParameterError` listing the allowed names.

    Parameters
    ----------
    name : a bundled basket (:func:`basket_names`) or one of the user folder.

    Examples
    --------
    >>> basket_codes("graphite")
    ['250410', '380110']
    """
    _check_name(name)
    if name not in bundled_basket_names():
        return _user_baskets().basket_codes(name)
    if name == "comtrade_groups":
        return sorted({code for codes in GROUP_CODES.values() for code in codes})
    if name == "dual_use_catalogue":
        return dual_use.catalogue_hs6("export")
    return sorted({line.hs6 for line in BASKETS[name]})


def read_hs2022_descriptions(path: Path) -> dict[str, str]:
    """HS2022 six-digit subheadings and their descriptions from ``harmonized-system.csv``."""
    table = read_csv_checked(path, {"hscode": "str", "description": "str", "level": "str"})
    six = table[table["level"].eq("6")]
    bad = ~six["hscode"].str.fullmatch(r"\d{6}")
    if bad.any():
        raise SourceFormatError(str(path), "level-6 code is not six digits", field="hscode",
                                value=six.loc[bad, "hscode"].iloc[0])
    return dict(zip(six["hscode"], six["description"], strict=True))


def hs_relationship(correlations: pd.DataFrame, code: str) -> tuple[str, str | None]:
    """Relationship of HS2022 ``code`` to the older version and its counterpart codes.

    Returns ``("absent", None)`` when ``code`` is not an HS2022 subheading.
    """
    rows = correlations[correlations["hs2022"].eq(code)]
    if rows.empty:
        return "absent", None
    kinds = sorted(set(rows["relationship"]))
    # A line has one relationship per version in the UN tables; n:n wins if they ever differ.
    kind = kinds[0] if len(kinds) == 1 else "n:n"
    return kind, ";".join(sorted(set(rows["older"])))


def _named_lines() -> dict[str, Line]:
    """The first definition of each HS6 among the chosen baskets (for derived baskets)."""
    found: dict[str, Line] = {}
    for lines in BASKETS.values():
        for line in lines:
            found.setdefault(line.hs6, line)
    return found


def basket_lines(catalogue_hs6: list[str]) -> pd.DataFrame:
    """Basket, hs6, mixed_scope, product_group and note of every basket, before enrichment.

    Parameters
    ----------
    catalogue_hs6 : the export HS6 of the dual-use catalogue (for the derived basket).
    """
    rows = []
    for basket, lines in BASKETS.items():
        for line in lines:
            rows.append({"basket": basket, "hs6": line.hs6, "mixed_scope": line.mixed_scope,
                         "product_group": BUNDLED_BASKET_GROUP.get(basket),
                         "note": line.note})
    named = _named_lines()
    for group, codes in GROUP_CODES.items():
        for code in codes:
            line = named.get(code)
            rows.append({"basket": "comtrade_groups", "hs6": code,
                         "mixed_scope": line.mixed_scope if line else True,
                         "product_group": group,
                         "note": f"HS6 line of the monthly Comtrade group {group}."})
    for code in sorted(set(catalogue_hs6)):
        line = named.get(code)
        rows.append({"basket": "dual_use_catalogue", "hs6": code,
                     "mixed_scope": line.mixed_scope if line else True, "product_group": None,
                     "note": "Export HS6 of the 2026 dual-use catalogue parse; a listed line "
                             "also covers uncontrolled goods unless a named basket says "
                             "otherwise."})
    return pd.DataFrame(rows)


def build(raw_dir: Path) -> pd.DataFrame:
    """Build ``hs_baskets`` from the raw nomenclature, correlation tables and catalogue."""
    raw_dir = Path(raw_dir)
    entries = dual_use.read_catalogue_entries(raw_dir / dual_use.FOLDER / dual_use.JSON_FILE)
    catalogue = sorted(set(entries.loc[entries["catalogue_type"].eq("export"), "hs6"]))
    table = basket_lines(catalogue)
    descriptions = read_hs2022_descriptions(raw_dir / FOLDER / NOMENCLATURE_FILE)
    table["in_hs2022"] = table["hs6"].isin(descriptions)
    table["description"] = table["hs6"].map(descriptions).fillna(NOT_IN_HS2022)
    for version, filename in CORRELATION_FILES.items():
        correlations = read_correlations(raw_dir / FOLDER / filename)
        pairs = [hs_relationship(correlations, code) for code in table["hs6"]]
        table[version] = [kind for kind, _ in pairs]
        table[f"{version}_codes"] = [codes for _, codes in pairs]
    table["in_dual_use_catalogue"] = table["hs6"].isin(catalogue)
    table = table[list(HS_BASKETS.columns)]
    table = table.sort_values(["basket", "hs6"], kind="mergesort", ignore_index=True)
    for column, spec in HS_BASKETS.columns.items():
        if spec.kind == "str":
            table[column] = table[column].astype("str").where(table[column].notna())
        elif spec.kind == "bool":
            table[column] = table[column].astype("bool")
    return table


def _merge_user_baskets(table: pd.DataFrame, user_dir: Path) -> pd.DataFrame:
    return user_files.merge_baskets(table, user_dir)


DATASETS = [
    Dataset(
        name="hs_baskets",
        filename="reference/hs_baskets.parquet",
        title="HS6 baskets of export-controlled minerals and magnets, with HS2022 text, "
              "HS version correlations and scope caveats",
        publisher="UN Statistics Division (HS correspondence tables, HS2022 nomenclature via "
                  "datasets/harmonized-system); basket definitions by this project",
        vintage="HS2022 nomenclature (datasets/harmonized-system, commit 905e5a0f); UNSD "
                "HS2022-HS2017/2012/2007 correlation tables (insongkim/concordance, commit "
                "201c812e); 2026 dual-use catalogue parse",
        licence="HS nomenclature ODC-PDDL-1.0; UNSD correspondence tables (UN terms, "
                "redistributed in the MIT-licensed R package concordance); basket "
                "definitions part of this project",
        citation="United Nations Statistics Division, HS 2022 correlation and conversion "
                 "tables with HS 2017, HS 2012 and HS 2007; World Customs Organization, "
                 "Harmonized System 2022 nomenclature.",
        raw_inputs=(f"{FOLDER}/{NOMENCLATURE_FILE}",
                    *(f"{FOLDER}/{name}" for name in CORRELATION_FILES.values()),
                    f"{dual_use.FOLDER}/{dual_use.JSON_FILE}"),
        build=build,
        schema=HS_BASKETS,
        user_rows=_merge_user_baskets,
        notes="Baskets: rare_earths, magnets, gallium, germanium, graphite, antimony, "
              "tungsten, polysilicon (chosen, see research/reference/baskets.py), "
              "comtrade_groups (HS6 of the monthly Comtrade groups, product_group names the "
              "group) and dual_use_catalogue (every export HS6 of the catalogue parse). "
              "mixed_scope is a judgement from the HS text against the control "
              "descriptions. Relationships come from the UN correlation sheets (row of the "
              "HS2022 code); 'absent' means the code is not an HS2022 subheading. 811292 "
              "and 811299 hold In, Nb, V beside Ga and Ge and break in 2022 (Hf, Re split "
              "out); 850511 covers all metal permanent magnets and 8549 maps n:n into it.",
    ),
]


# --- scope labels for reports (which lines a product group holds, and what they mix) ---------

MAGNET_LINES = ("850511",)
"""HS6 lines of permanent magnets: 850511 covers all metal permanent magnets (NdFeB, SmCo,
AlNiCo, ferrous alloys), not only rare-earth magnets."""
MAGNET_LABEL = "incl. 850511 magnets (all metal permanent magnets)"


def group_lines(groups: list[str] | None = None, table: pd.DataFrame | None = None
                ) -> pd.DataFrame:
    """The HS6 lines behind the monthly Comtrade product groups, with their scope flags.

    Parameters
    ----------
    groups : product groups (default: all of them), e.g. ``["rare_earths", "graphite"]``.
    table : the ``hs_baskets`` table (default: the bundled one, read with
        ``datasets.load("hs_baskets", user=False)``).

    Returns
    -------
    product_group, hs6, description (HS2022), mixed_scope, magnets (the line is in
    :data:`MAGNET_LINES`) and note (the scope note of the chosen basket that holds the
    line, else the table's), one row per group and line (the ``comtrade_groups`` rows of
    ``hs_baskets``).
    """
    if table is None:
        table = datasets.load("hs_baskets", user=False)
    rows = table[table["basket"].eq("comtrade_groups")]
    known = sorted(set(rows["product_group"].dropna()))
    groups = known if groups is None else list(groups)
    unknown = sorted(set(groups) - set(known))
    if unknown:
        raise ParameterError(f"product groups {unknown} unknown; known: {known}")
    rows = rows[rows["product_group"].isin(groups)]
    named = _named_lines()  # the scope note of a chosen basket says what the line mixes
    notes = [named[code].note if code in named else note
             for code, note in zip(rows["hs6"], rows["note"], strict=True)]
    lines = pd.DataFrame({"product_group": rows["product_group"], "hs6": rows["hs6"],
                          "description": rows["description"],
                          "mixed_scope": rows["mixed_scope"].astype(bool),
                          "magnets": rows["hs6"].isin(MAGNET_LINES), "note": notes})
    return lines.sort_values(["product_group", "hs6"], kind="mergesort", ignore_index=True)


def label_products(table: pd.DataFrame, lines: pd.DataFrame, column: str = "product"
                   ) -> pd.DataFrame:
    """Add the scope of each product (a product group or an HS6 line) to a report table.

    A product is a group when ``lines`` lists it as ``product_group``, else an HS6 line.
    Magnets are named in the label because 850511 counts every metal permanent magnet,
    not only rare-earth ones, and the rare-earth group of the monthly data includes it.

    Parameters
    ----------
    table : a table with the product in ``column``.
    lines : the output of :func:`group_lines`.
    column : the column holding the group name or HS6 code.

    Returns
    -------
    ``table`` with, after ``column``: ``product_label`` (e.g. "rare_earths incl. 850511
    magnets (all metal permanent magnets)", or "850511 magnets (all metal permanent
    magnets)" for the line), ``product_group`` (the group, or the group holding the
    line), ``hs6_lines`` (';'-joined), ``includes_magnets``,
    ``mixed_scope`` (any line mixes controlled and uncontrolled goods) and
    ``mixed_scope_lines`` (';'-joined). Products ``lines`` does not know get NaN.
    """
    by_group = lines.groupby("product_group", sort=True)
    groups = pd.DataFrame({
        "hs6_lines": by_group["hs6"].agg(lambda s: ";".join(sorted(s))),
        "includes_magnets": by_group["magnets"].any(),
        "mixed_scope": by_group["mixed_scope"].any(),
        "mixed_scope_lines": by_group.apply(
            lambda g: ";".join(sorted(g.loc[g["mixed_scope"], "hs6"])), include_groups=False),
    })
    groups["product_group"] = groups.index
    groups["product_label"] = [f"{name} {MAGNET_LABEL}" if magnets else name
                               for name, magnets in zip(groups.index, groups["includes_magnets"],
                                                        strict=True)]
    single = lines.drop_duplicates("hs6").set_index("hs6")
    codes = pd.DataFrame({
        "product_group": single["product_group"],
        "hs6_lines": single.index, "includes_magnets": single["magnets"],
        "mixed_scope": single["mixed_scope"],
        "mixed_scope_lines": [code if mixed else "" for code, mixed
                              in zip(single.index, single["mixed_scope"], strict=True)],
        "product_label": [f"{code} magnets (all metal permanent magnets)" if magnets else code
                          for code, magnets in zip(single.index, single["magnets"],
                                                   strict=True)]},
        index=single.index)
    scope = pd.concat([groups, codes.loc[~codes.index.isin(groups.index)]])
    scope = scope[["product_label", "product_group", "hs6_lines", "includes_magnets",
                   "mixed_scope", "mixed_scope_lines"]]
    labelled = table.drop(columns=[c for c in scope.columns if c in table.columns])
    labelled = labelled.join(scope, on=column)
    position = list(labelled.columns).index(column) + 1
    ordered = [*labelled.columns[:position], *scope.columns,
               *[c for c in labelled.columns[position:] if c not in scope.columns]]
    return labelled[ordered]
