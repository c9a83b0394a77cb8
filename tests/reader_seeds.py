"""One small valid file per registered file reader, written from the test's own text.

Used by the property tests and the hostile-input corpus: each seed is mutated
(truncated, bytes flipped, re-encoded, numbers made extreme) and read again.
"""

from __future__ import annotations

import io

import openpyxl

# BACI: China (156) -> Japan (392), HS 280530, 2022: 1 thousand USD, 1 ton.
BACI = "t,i,j,k,v,q\n2022,156,392,280530,1,1\n2022,156,392,284690,2.5,NA\n"
# A Comtrade web export with the API's field names: China's exports to Japan, 2020.
COMTRADE = ("freqCode,refYear,refMonth,period,reporterCode,flowCode,partnerCode,cmdCode,"
            "primaryValue,netWgt\n"
            "A,2020,52,2020,156,X,392,280530,1000,10\n"
            "M,2020,3,202003,156,X,392,280530,250.5,2\n")
# WITS "By HS6 Product" download (tests/test_wits.py EXPORT_ROWS).
WITS = ("Reporter,TradeFlow,ProductCode,Product Description,Year,Partner,Trade Value 1000USD,"
        "Quantity,Quantity Unit\n"
        "China,Export,280530,Rare-earth metals,2010,Australia,66.8,7000,Kg\n"
        "China,Export,280530,Rare-earth metals,2010,Austria,336.18,4210,Kg\n")
# The WITS long CSV: two partners and the World row that sums them.
WITS_LONG = ("reporter,flow,hs6,year,partner,is_world_total,export_value_1000usd,"
             "export_value_usd,quantity,quantity_unit,source_file,source_sheet,wits_file\n"
             "China,Export,280530,2010,Japan,0,1.0,1000.0,10.0,Kg,f.xlsx,s,w.xlsx\n"
             "China,Export,280530,2010,Germany,0,2.0,2000.0,20.0,Kg,f.xlsx,s,w.xlsx\n"
             "China,Export,280530,2010,World,1,3.0,3000.0,30.0,Kg,f.xlsx,s,w.xlsx\n")
WORLDBANK = ("Country Name,Country Code,Year,Value\n"
             "Japan,JPN,2022,4256410760723.85\nJapan,JPN,2023,4204494802431.55\n")
FRED = ("observation_date,AEXJPUS,AEXKOUS\n2021-01-01,.,\n2022-01-01,131.4589,1291.7796\n"
        "2023-01-01,140.5001,1306.7637\n")
FRED_DATAHUB = "Date,Country,Value\n2023-01-01,Japan,140.5001\n2024-01-01,Japan,151.4551\n"
GRAVITY = ("exporter,importer,pair_id,year,trade,DIST,CNTG,LANG,CLNY,RTA\n"
           "JPN,CHN,1,1990,10.5,2000,0,0,0,0\nCHN,JPN,1,1990,8.25,2000,0,0,0,1\n")


def sipri_workbook() -> bytes:
    """A one-sheet SIPRI Milex workbook (the 2024 release's layout): Japan and South
    Korea, current US$ m, 2021-2023, with a '...' marker."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Current US$"
    sheet.cell(1, 1, "Military expenditure by country, in millions of US$ at current prices")
    for column, label in enumerate(["Country", "Notes", 2021, 2022, 2023], start=1):
        sheet.cell(4, column, label)
    for row, values in enumerate([["Japan", "", 1.0, 2.0, 3.0],
                                  ["Korea, South", "", "...", 5.0, 6.0]], start=6):
        for column, value in enumerate(values, start=1):
            sheet.cell(row, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def seeds() -> dict[str, tuple[str, bytes]]:
    """Reader name -> (file name, valid bytes)."""
    text = {"baci": ("BACI_HS17_Y2022_V202401.csv", BACI),
            "comtrade": ("TradeData.csv", COMTRADE),
            "wits": ("WITS-By-HS6Product.csv", WITS),
            "wits_long": ("china_ree_exports_wits_2010_2024_long.csv", WITS_LONG),
            "worldbank": ("worldbank.csv", WORLDBANK),
            "fred": ("fredgraph.csv", FRED),
            "fred_datahub": ("yearly.csv", FRED_DATAHUB),
            "gravity": ("Chapter2Application2.csv", GRAVITY)}
    found = {name: (file, body.encode()) for name, (file, body) in text.items()}
    found["sipri"] = ("SIPRI-Milex-data.xlsx", sipri_workbook())
    return found
