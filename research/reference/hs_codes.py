"""Every valid HS6 subheading of HS2022, HS2017, HS2012 and HS2007, for checking codes.

The table ``hs6_codes`` lists each six-digit subheading that exists in at least one
of the four HS versions, with:

- ``description``: the HS2022 text (``harmonized-system.csv``); for a code not in
  HS2022, the text of the UN Comtrade HS2017 list, else of the HS2007 list
  (``classificationH5/H3.json``, the ``"NNNNNN - "`` prefix removed); six codes that
  exist only in HS2012 have no text in the raw files and are left empty;
- ``in_hs2022`` ... ``in_hs2007``: membership. HS2022 from ``harmonized-system.csv``;
  HS2017, HS2012 and HS2007 from the older-version column of the UN correlation
  tables, plus the UN Comtrade lists for HS2017 and HS2007 (the HS2017 list holds
  300219, which the correlation table lacks);
- ``hs2017`` ... ``hs2007_codes``: the UN relationship of an HS2022 code to each
  older version and its counterparts, exactly as in ``hs_baskets``
  (:func:`research.reference.baskets.hs_relationship`); ``absent`` for codes that
  are not HS2022 subheadings.

User baskets and events (:mod:`research.reference.user_files`) are checked and
enriched against it, so they get the same columns as the bundled baskets without
the raw files. HS2002 codes such as 811230 (germanium) are in none of the four
versions and are rejected.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from research import datasets
from research.datasets import Dataset
from research.errors import SourceFormatError
from research.hs import CORRELATION_FILES, FOLDER, RELATIONSHIPS, read_correlations
from research.reference.baskets import NOMENCLATURE_FILE, read_hs2022_descriptions
from research.schemas import HS6, Column, Schema

COMTRADE_LISTS = {"hs2017": "classificationH5.json", "hs2007": "classificationH3.json"}
VERSIONS = ("hs2022", *CORRELATION_FILES)  # hs2022, hs2017, hs2012, hs2007

HS6_CODES = Schema(
    name="hs6_codes",
    description="One row per HS6 subheading valid in HS2022, HS2017, HS2012 or HS2007.",
    columns={
        "hs6": Column("str", pattern=HS6),
        "description": Column("str", nullable=True,
                              description="HS2022 text, else the latest older text"),
        **{f"in_{version}": Column("bool", description=f"a subheading of {version.upper()}")
           for version in VERSIONS},
        **{version: Column("str", allowed=RELATIONSHIPS | {"absent"},
                           description=f"UN correlation HS2022 -> {version.upper()}")
           for version in CORRELATION_FILES},
        **{f"{version}_codes": Column("str", nullable=True,
                                      description=f"{version.upper()} counterparts, ';'")
           for version in CORRELATION_FILES},
    },
    key=("hs6",),
)


def read_comtrade_list(path: Path) -> dict[str, str]:
    """Six-digit codes and texts of a UN Comtrade classification JSON (``{results: [...]}``).

    Aggregate pseudo-codes (``TOTAL``, ``AG2``, chapters, headings) are skipped; the
    ``"NNNNNN - "`` prefix of each text is removed.
    """
    source = str(path)
    try:
        results = json.loads(Path(path).read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SourceFormatError(source, f"not a classification list with 'results': "
                                f"{error}") from error
    found = {}
    for position, item in enumerate(results):
        if not isinstance(item, dict) or "id" not in item or "text" not in item:
            raise SourceFormatError(source, "entry without 'id' and 'text'", row=position,
                                    value=item)
        code = str(item["id"])
        if len(code) == 6 and code.isdigit():
            text = str(item["text"])
            found[code] = text.removeprefix(f"{code} - ").strip()
    if not found:
        raise SourceFormatError(source, "no six-digit codes in the list", field="id")
    return found


def relationships(correlations: pd.DataFrame) -> pd.DataFrame:
    """Relationship and counterpart codes of every HS2022 code of one correlation table.

    Same rule as :func:`~research.reference.baskets.hs_relationship`: the single
    relationship of the code's rows, or ``n:n`` when they differ; counterparts sorted
    and ';'-separated. Index: the HS2022 code.
    """
    grouped = correlations.groupby("hs2022")
    kinds = grouped["relationship"].agg(lambda v: v.iloc[0] if v.nunique() == 1 else "n:n")
    codes = grouped["older"].agg(lambda v: ";".join(sorted(set(v))))
    return pd.DataFrame({"relationship": kinds, "codes": codes})


def build(raw_dir: Path) -> pd.DataFrame:
    """Build ``hs6_codes`` from the HS2022 nomenclature, the UN correlation tables and the
    UN Comtrade HS2017/HS2007 lists."""
    folder = Path(raw_dir) / FOLDER
    texts = {"hs2022": read_hs2022_descriptions(folder / NOMENCLATURE_FILE)}
    members = {"hs2022": set(texts["hs2022"])}
    links = {}
    for version, filename in CORRELATION_FILES.items():
        correlations = read_correlations(folder / filename)
        members[version] = set(correlations["older"])
        links[version] = relationships(correlations)
    for version, filename in COMTRADE_LISTS.items():
        texts[version] = read_comtrade_list(folder / filename)
        members[version] |= set(texts[version])
    codes = sorted(set().union(*members.values()))
    table = pd.DataFrame({"hs6": codes})
    description = table["hs6"].map(texts["hs2022"])
    for version in COMTRADE_LISTS:  # hs2017 before hs2007: the latest older text
        description = description.fillna(table["hs6"].map(texts[version]))
    table["description"] = description
    for version in VERSIONS:
        table[f"in_{version}"] = table["hs6"].isin(members[version])
    for version, link in links.items():
        table[version] = table["hs6"].map(link["relationship"]).fillna("absent")
        table[f"{version}_codes"] = table["hs6"].map(link["codes"])
    for column, spec in HS6_CODES.columns.items():
        if spec.kind == "str":
            table[column] = table[column].astype("str").where(table[column].notna())
    return table[list(HS6_CODES.columns)]


def load_hs6_codes() -> pd.DataFrame:
    """The bundled ``hs6_codes`` table."""
    return datasets.load("hs6_codes")


def unknown_codes(codes: Iterable[str]) -> list[str]:
    """The codes that are not a subheading of HS2022, HS2017, HS2012 or HS2007, in order.

    Examples
    --------
    >>> unknown_codes(["280530", "811230", "854140", "2805"])
    ['811230', '2805']
    """
    valid = set(load_hs6_codes()["hs6"])
    return [code for code in codes if str(code) not in valid]


DATASETS = [
    Dataset(
        name="hs6_codes",
        filename="reference/hs6_codes.parquet",
        title="Valid HS6 subheadings of HS2022, HS2017, HS2012 and HS2007, with HS2022 text "
              "and UN correlations (for checking user baskets and events)",
        publisher="UN Statistics Division (HS correspondence tables), UN Comtrade "
                  "(classification lists), HS2022 nomenclature via datasets/harmonized-system",
        vintage="HS2022 nomenclature (datasets/harmonized-system, commit 905e5a0f); UNSD "
                "HS2022-HS2017/2012/2007 correlation tables and UN Comtrade H3/H5 lists "
                "(insongkim/concordance, commit 201c812e)",
        licence="HS nomenclature ODC-PDDL-1.0; UNSD correspondence tables and UN Comtrade "
                "lists (UN terms, redistributed in the MIT-licensed R package concordance)",
        citation="World Customs Organization, Harmonized System 2022 nomenclature; United "
                 "Nations Statistics Division, HS 2022 correlation and conversion tables "
                 "with HS 2017, HS 2012 and HS 2007; UN Comtrade classification lists H3, H5.",
        raw_inputs=(f"{FOLDER}/{NOMENCLATURE_FILE}",
                    *(f"{FOLDER}/{name}" for name in CORRELATION_FILES.values()),
                    *(f"{FOLDER}/{name}" for name in COMTRADE_LISTS.values())),
        build=build,
        schema=HS6_CODES,
        notes="One row per six-digit code valid in at least one of HS2022, HS2017, HS2012, "
              "HS2007. Descriptions: HS2022 text, else the HS2017 or HS2007 UN Comtrade text; "
              "six HS2012-only codes have none. Relationship columns as in hs_baskets "
              "('absent' for codes not in HS2022). Used to check the HS codes of user "
              "baskets and events (RESEARCH_USER_DIR).",
    ),
]
