"""Write the two-round Afrobarometer Tunisia extract that make_afrobarometer_e2e.R reads.

Run from the repository root, with the shared fixtures next to it:
    python tests/reference/make_afrobarometer_e2e_extract.py

One row per respondent of Round 8 (``tun_r8_data.sav``, English) and Round 9
(``tun_r9_data.sav``, French), raw codes only (no respondent number, interviewer or location
detail): the strata (REGION, URBRUR), the design weight (withinwt_hh), gender (Q101), age (Q1)
and five trust items, renamed to one name across rounds because the question numbers differ
(R8 Q41x is R9 Q37x). Source: Afrobarometer Data, Tunisia, Rounds 8 and 9, available at
afrobarometer.org (public release, via github.com/malouche/AfrobarometerData at commit
b1e470ddb69b577f021c1cb7274df1c0a1d5296a).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[1].parent / "shared" / "fixtures" / "afrobarometer"
DESIGN = ["REGION", "URBRUR", "withinwt_hh", "Q101", "Q1"]
#: Harmonized item -> (Round 8 column, Round 9 column).
ITEMS = {
    "trust_police": ("Q41G", "Q37G"),
    "trust_courts_law": ("Q41I", "Q37I"),
    "trust_president": ("Q41A", "Q37A"),
    "trust_religious_leaders": ("Q41L", "Q37K"),
    "trust_national_electoral_commission": ("Q41C", "Q37C"),
}


def main() -> None:
    """Read both rounds and write the extract as CSV, codes as integers."""
    frames = []
    for index, (wave, file) in enumerate((("w1", "tun_r8_data.sav"), ("w2", "tun_r9_data.sav"))):
        columns = {source[index]: item for item, source in ITEMS.items()}
        df, _ = pyreadstat.read_sav(SHARED / file, usecols=[*DESIGN, *columns], user_missing=True)
        df = df[[*DESIGN, *columns]].rename(columns=columns)
        for column in df.columns:
            if column != "withinwt_hh":
                df[column] = df[column].astype("int64")
        frames.append(df.assign(wave=wave))
    out = pd.concat(frames, ignore_index=True)
    out.to_csv(HERE / "afrobarometer_tun_e2e.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
