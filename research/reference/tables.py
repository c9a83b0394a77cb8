"""What the reference tables hold: their schemas, the event id forms and the product
groups of the monthly Comtrade table.

Shared by the modules that build the tables (:mod:`~research.reference.events`,
:mod:`~research.reference.baskets`) and by :mod:`~research.reference.user_files`,
which checks the user's rows against them. Keeping them here lets the dependency
point one way: the builders import ``user_files`` to merge the user's rows, and
``user_files`` imports only this module and the bundled tables, never the builders.
"""

from __future__ import annotations

from dataclasses import replace

from research.hs import CORRELATION_FILES, RELATIONSHIPS
from research.schemas import EVENTS, HS6, Column, Schema

# HS6 lines of each group (from strategic_premium_hs6.csv, as the raw PROVENANCE lists them).
GROUP_CODES: dict[str, tuple[str, ...]] = {
    "rare_earths": ("280530", "284690", "850511"),
    "gallium_germanium": ("282560", "282590", "285000", "285390", "811292", "811299"),
    "graphite": ("250410", "380110"),
    "polysilicon": ("280461",),
}
"""Product group of the monthly Comtrade table -> its HS6 lines."""

# ---------------------------------------------------------------- events

BUNDLED_EVENT_ID = r"[A-C]\d{1,2}"
"""Ids of the bundled timeline, ``A1``..``C99``: reserved, a user event may not take one."""
USER_EVENT_ID = r"[A-Za-z][A-Za-z0-9_.-]{0,39}"
"""Ids a user event may take (except the bundled form)."""

# The EVENTS schema with ids widened to user names: checks user rows and the merged table.
REGISTRY_EVENTS = replace(
    EVENTS, name="events",
    description=EVENTS.description + " Bundled rows and the user's own (RESEARCH_USER_DIR).",
    columns={**EVENTS.columns,
             "event_id": Column("str", pattern=USER_EVENT_ID,
                                description="A1..C99 for bundled events; any other name "
                                            "for user events")})

# ---------------------------------------------------------------- baskets

NOT_IN_HS2022 = "not an HS2022 subheading (pre-2022 code)"
"""The description of a basket line whose code is not an HS2022 subheading."""

HS_BASKETS = Schema(
    name="hs_baskets",
    description="One row per basket and HS6 line.",
    columns={
        "basket": Column("str"),
        "hs6": Column("str", pattern=HS6),
        "description": Column("str", description="HS2022 text, or that the code is not HS2022"),
        "in_hs2022": Column("bool"),
        **{version: Column("str", allowed=RELATIONSHIPS | {"absent"},
                           description=f"UN correlation HS2022 -> {version.upper()}")
           for version in CORRELATION_FILES},
        **{f"{version}_codes": Column("str", nullable=True,
                                      description=f"{version.upper()} counterparts, ';'")
           for version in CORRELATION_FILES},
        "mixed_scope": Column("bool", description="the line mixes controlled and "
                                                  "uncontrolled goods"),
        "in_dual_use_catalogue": Column("bool", description="listed for export in the 2026 "
                                                            "catalogue parse"),
        "product_group": Column("str", nullable=True,
                                description="group of the monthly Comtrade table"),
        "note": Column("str", nullable=True),
    },
    key=("basket", "hs6"),
)
