"""Write the Afrobarometer Tunisia Round 8 extract that make_afrobarometer_reference.R reads.

Run from the repository root, with the shared fixtures next to it:
    python tests/reference/make_afrobarometer_extract.py [path/to/tun_r8_data.sav]

Only the columns the reference needs are kept, with their raw codes (no respondent number,
no interviewer or location detail): REGION, URBRUR (the strata), withinwt_hh (the design
weight), Q101 (gender), Q1 (age), Q41G (trust police), Q41I (trust courts), Q83 (most people
can be trusted). Source: Afrobarometer Data, Tunisia, Round 8, available at afrobarometer.org
(public release, via github.com/malouche/AfrobarometerData at commit
b1e470ddb69b577f021c1cb7274df1c0a1d5296a).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyreadstat

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1].parent / "shared" / "fixtures" / "afrobarometer" / "tun_r8_data.sav"
COLUMNS = ["REGION", "URBRUR", "withinwt_hh", "Q101", "Q1", "Q41G", "Q41I", "Q83"]


def main() -> None:
    """Read the SPSS file and write the extract as CSV, codes as integers."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    df, _ = pyreadstat.read_sav(source, usecols=COLUMNS, user_missing=True)
    df = df[COLUMNS]
    for column in COLUMNS:
        if column != "withinwt_hh":
            df[column] = df[column].astype("int64")
    df.to_csv(HERE / "afrobarometer_tun_r8.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
