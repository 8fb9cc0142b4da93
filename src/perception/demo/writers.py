"""Write each wave as its provider delivers it: SPSS (w1), Stata (w2), KoBoToolbox XLSX (w3).

Every wave names and codes its questions differently (see the codebooks in
``config/codebooks/``). Files are byte-for-byte reproducible: the creation timestamps that
SPSS, Stata and XLSX writers stamp into a file are set to the end of fieldwork.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyreadstat

from perception.demo.country import REGIONS
from perception.demo.items import DONT_KNOW, INFO_SOURCES, REFUSED, WAVE_IDS, Item, item
from perception.demo.sample import FIELDWORK, SEED, simulate_wave
from perception.demo.xlsx import read_columns, write_xlsx
from perception.forking import forked_results

Code = int | float | str
KoboHeaders = Literal["xml", "label"]
KoboMultiple = Literal["space", "split"]

FILES = {"w1": "demo_w1_pollster.sav", "w2": "demo_w2_university.dta", "w3": "demo_w3_kobo.xlsx"}
PROVIDERS = {
    "w1": "Horizon Research & Polling Ltd. (SPSS export)",
    "w2": "Institute for Peace and Development Studies, University of Kelvara (Stata export)",
    "w3": "Mission civil affairs field team (KoBoToolbox XLSX export)",
}
KOBO_SHEET = "Enquête perception vague 3"
STATA_LABEL_MAX = 80
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Column:
    """One column of a provider file and how canonical values are written into it."""

    name: str
    source: str
    label: str
    codes: Mapping[int, Code] | None = None  # canonical code -> file value; None: as is
    value_labels: Mapping[Code, str] | None = None  # file value -> label (SPSS/Stata)
    dont_know: Code | None = None
    refused: Code | None = None
    not_asked: Code | None = None  # written for NaN; None leaves the cell missing


def encode(values: pd.Series, col: Column) -> list[Any]:
    """Return a canonical column written in the file's codes (None where the cell is missing)."""
    specials: dict[float, Code | None] = {
        float(DONT_KNOW): col.dont_know,
        float(REFUSED): col.refused,
    }
    out: list[Any] = []
    for value in values.tolist():
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out.append(col.not_asked)
        elif col.codes is None:
            out.append(value)
        elif float(value) in specials and specials[float(value)] is not None:
            out.append(specials[float(value)])
        else:
            out.append(col.codes[int(value)])
    return out


def _scale_labels(
    it: Item, language: int, transform: Mapping[int, Code] | None = None
) -> dict[Code, str]:
    labels = it.scale.labels
    return {(transform or {}).get(c, c): text[language] for c, text in labels.items()}


# --- wave 1: SPSS from a polling firm ------------------------------------------------------

_W1_ITEMS = (
    ("Q10", "incl_peace_process"),
    ("Q11", "incl_views_considered"),
    ("Q12", "aware_agreement"),
    ("Q13", "know_agreement"),
    ("Q14", "know_monitoring_body"),
    *((f"Q15{chr(ord('A') + k)}", name) for k, name in enumerate(INFO_SOURCES)),
    ("Q16", "consulted_12m"),
    ("Q17", "dialogue_attended_12m"),
    ("Q18", "voice_system_say"),
    ("Q19", "voice_leaders_listen"),
    ("Q20", "dialogue_parties"),
    ("Q21", "disputes_peaceful"),
    ("Q22", "safe_walk_night"),
    ("Q23", "security_change"),
    ("Q24", "violence_experienced_12m"),
    ("Q25", "violence_witnessed_12m"),
    ("Q26A", "trust_government"),
    ("Q26B", "trust_police"),
    ("Q26C", "trust_courts"),
    ("Q26D", "trust_local_authorities"),
    ("Q27", "state_officials_seen"),
    ("Q28", "state_services_satisfaction"),
    ("Q29A", "repr_women"),
    ("Q29B", "repr_youth"),
    ("Q29C", "repr_minorities"),
    ("Q30", "discrim_experienced_12m"),
    ("Q31", "trust_mission"),
)
W1_REVERSED = "Q10"  # coded 1 = A lot ... 4 = Not at all, the reverse of the catalogue
W1_UNDECLARED_DK = "Q18"  # uses 98/99 for don't know/refused, not declared as missing
_W1_MONITORING = {0: 1, 1: 2, 2: 3, 3: 4}
_W1_MONITORING_LABELS: dict[Code, str] = {
    1: "Joint Monitoring Commission",
    2: "The government",
    3: "The UN mission",
    4: "The armed groups",
}


def _w1_item(name: str, source: str) -> Column:
    it = item(name)
    label = f"{source}. {it.question[0]}"
    codes: dict[int, Code] = {c: c for c in it.scale.labels}
    if source == W1_REVERSED:
        top = max(it.scale.labels)
        codes = {c: top + 1 - c for c in it.scale.labels}
    elif it.scale.name == "yesno":
        codes = {1: 1, 0: 2}
    labels: dict[Code, str] = _scale_labels(it, 0, codes)
    column_source = name
    if name == "know_monitoring_body":
        codes, labels, column_source = (
            dict(_W1_MONITORING),
            dict(_W1_MONITORING_LABELS),
            f"{name}_option",
        )
    dk, ref = (98, 99) if source == W1_UNDECLARED_DK else (9, 8)
    if it.dont_know > 0 or it.refused > 0:
        labels |= {dk: "Don't know", ref: "Refused"}
    not_asked = -1 if it.if_aware else None
    if not_asked is not None:
        labels[not_asked] = "Not asked"
    return Column(source, column_source, label, codes, labels, dk, ref, not_asked)


def w1_columns() -> list[Column]:
    """Return the polling firm's SPSS layout."""
    regions: dict[Code, str] = {r.code: r.name_en for r in REGIONS}
    return [
        Column("RESPNO", "respno", "Respondent number"),
        Column("INTDATE", "interview_date", "Date of interview"),
        Column("INTID", "interviewer", "Interviewer number"),
        Column("REGION", "region", "Region", {r.code: r.code for r in REGIONS}, regions),
        Column(
            "URBRUR", "urban_rural", "Urban or rural EA", {1: 1, 2: 2}, {1: "Urban", 2: "Rural"}
        ),
        Column("STRATUM", "stratum", "Sampling stratum"),
        Column("EA_ID", "psu", "Enumeration area"),
        Column("DWEIGHT", "base_weight", "Design weight (inverse selection probability)"),
        Column("RESPNAME", "name", "Respondent name"),
        Column("PHONE", "phone", "Respondent phone number"),
        Column("GPS_LAT", "latitude", "GPS latitude"),
        Column("GPS_LON", "longitude", "GPS longitude"),
        Column("Q1", "age", "Q1. How old are you?"),
        Column("Q2", "gender", "Q2. Respondent's sex", {1: 1, 2: 2}, {1: "Male", 2: "Female"}),
        Column(
            "Q3",
            "displacement",
            "Q3. Residence status",
            {1: 1, 2: 2, 3: 3},
            {1: "Resident", 2: "Internally displaced", 3: "Returnee"},
        ),
        Column(
            "Q4",
            "disability",
            "Q4. Do you have a disability?",
            {1: 2, 2: 1},
            {1: "Yes", 2: "No", 8: "Refused"},
            refused=8,
        ),
        *(_w1_item(name, source) for source, name in _W1_ITEMS),
        Column("COMMENTS", "comment", "Interviewer comments"),
    ]


def write_w1(frame: pd.DataFrame, path: Path) -> None:
    """Write wave 1 as the polling firm's SPSS file (declared missing 8/9 on most items)."""
    data = frame.assign(respno=[f"HRP-25-{s:05d}" for s in frame["seq"]])
    data["interview_date"] = data["interview_date"].dt.date
    columns = w1_columns()
    table = _encode_table(data, columns)
    numeric = [c.name for c in columns if c.codes is not None]
    table[numeric] = table[numeric].astype(np.float64)
    declared: dict[str, list[Any]] = {
        c.name: [v for v in (c.refused, c.dont_know) if v is not None]
        for c in columns
        if c.refused == 8
    }
    pyreadstat.write_sav(
        table,
        path,
        file_label="Kelvara Peace Perceptions Poll, March 2025",
        column_labels={c.name: c.label for c in columns},
        variable_value_labels=_numeric_labels(columns),
        missing_ranges=declared,
        variable_measure={c.name: "nominal" for c in columns if c.value_labels},
    )
    _stamp_sav(path, _delivered("w1"))


def _numeric_labels(columns: Sequence[Column]) -> dict[str, dict[int | float, str]]:
    """Return the value labels of every labelled column (SPSS labels numbers only here)."""
    return {
        c.name: {k: v for k, v in c.value_labels.items() if not isinstance(k, str)}
        for c in columns
        if c.value_labels
    }


# --- wave 2: Stata from a university partner -------------------------------------------------

_W2_ITEMS = (
    ("incl_pp", "incl_peace_process"),
    ("views_considered", "incl_views_considered"),
    ("aware_pa", "aware_agreement"),
    ("know_pa", "know_agreement"),
    ("monitor_body", "know_monitoring_body"),
    ("src_radio", "info_radio"),
    ("src_tv", "info_tv"),
    ("src_press", "info_newspaper"),
    ("src_social", "info_social_media"),
    ("src_community", "info_community_leaders"),
    ("src_religious", "info_religious_leaders"),
    ("src_mission", "info_mission"),
    ("src_family", "info_family_friends"),
    ("consulted", "consulted_12m"),
    ("dialogue_mtg", "dialogue_attended_12m"),
    ("have_say", "voice_system_say"),
    ("leaders_listen", "voice_leaders_listen"),
    ("parties_dialogue", "dialogue_parties"),
    ("disputes_peaceful", "disputes_peaceful"),
    ("safe_night", "safe_walk_night"),
    ("security_change", "security_change"),
    ("victim_violence", "violence_experienced_12m"),
    ("witness_violence", "violence_witnessed_12m"),
    ("trust_gov", "trust_government"),
    ("trust_police", "trust_police"),
    ("trust_courts", "trust_courts"),
    ("trust_local", "trust_local_authorities"),
    ("officials_seen", "state_officials_seen"),
    ("services_sat", "state_services_satisfaction"),
    ("women_rep", "repr_women"),
    ("youth_rep", "repr_youth"),
    ("minority_rep", "repr_minorities"),
    ("discrimination", "discrim_experienced_12m"),
    ("trust_mission", "trust_mission"),
    ("mission_protects", "mission_protects"),
)
W2_NUMERIC_MISSING = ("trust_gov", "trust_police", "trust_courts", "trust_local")  # -8/-9
W2_PROVINCES = tuple(sorted(REGIONS, key=lambda r: r.name_en))  # coded alphabetically 1..8
_W2_MONITORING = {0: 3, 1: 1, 2: 2, 3: 4}
_W2_MONITORING_LABELS: dict[Code, str] = {
    1: "government",
    2: "un mission",
    3: "joint monitoring commission",
    4: "armed groups",
}


def _w2_item(name: str, source: str) -> Column:
    it = item(name)
    codes: dict[int, Code] = {c: c for c in it.scale.labels}
    labels = {k: v.lower() for k, v in _scale_labels(it, 0).items()}
    column_source = name
    if name == "know_monitoring_body":
        codes, labels, column_source = (
            dict(_W2_MONITORING),
            dict(_W2_MONITORING_LABELS),
            f"{name}_option",
        )
    if source in W2_NUMERIC_MISSING:
        dk: Code = -8
        ref: Code = -9
    else:
        dk, ref = "d", "r"
    labels |= {dk: "don't know", ref: "refused"}
    not_asked = "a" if it.if_aware else None
    if not_asked is not None:
        labels[not_asked] = "not applicable"
    return Column(
        source, column_source, it.label[0][:STATA_LABEL_MAX], codes, labels, dk, ref, not_asked
    )


def w2_columns() -> list[Column]:
    """Return the university partner's Stata layout."""
    return [
        Column("resp_key", "resp_key", "respondent key (phone and initials)"),
        Column("int_date", "interview_date", "interview date"),
        Column("enum_id", "interviewer", "enumerator id"),
        Column(
            "province",
            "region",
            "province",
            {r.code: k for k, r in enumerate(W2_PROVINCES, start=1)},
            {k: r.name_en.lower() for k, r in enumerate(W2_PROVINCES, start=1)},
        ),
        Column("rural", "urban_rural", "rural ea", {1: 0, 2: 1}, {0: "urban", 1: "rural"}),
        Column("stratum", "stratum", "sampling stratum"),
        Column("ea_code", "psu", "enumeration area code"),
        Column("design_wt", "base_weight", "design weight"),
        Column("resp_name", "name", "respondent name"),
        Column("phone", "phone", "phone number"),
        Column("latitude", "latitude", "gps latitude"),
        Column("longitude", "longitude", "gps longitude"),
        Column("gender", "gender", "respondent gender", {1: 0, 2: 1}, {0: "male", 1: "female"}),
        Column("age", "age", "age in completed years"),
        Column(
            "idp_status",
            "displacement",
            "displacement status",
            {1: 0, 2: 1, 3: 2},
            {0: "resident", 1: "idp", 2: "returnee"},
        ),
        Column(
            "disab",
            "disability",
            "has a disability",
            {1: 0, 2: 1},
            {0: "no", 1: "yes", "r": "refused"},
            refused="r",
        ),
        *(_w2_item(name, source) for source, name in _W2_ITEMS),
        Column("notes", "comment", "enumerator notes"),
        Column("duration", "duration", "interview duration (minutes)"),
    ]


def write_w2(frame: pd.DataFrame, path: Path) -> None:
    """Write wave 2 as the university's Stata file (extended missing .d/.r/.a on most items)."""
    initials = ["".join(part[0] for part in name.split()) for name in frame["name"].tolist()]
    digits = [re.sub(r"\D", "", phone) for phone in frame["phone"].tolist()]
    data = frame.assign(
        resp_key=[d + i for d, i in zip(digits, initials, strict=True)],
        duration=((frame["end"] - frame["start"]).dt.total_seconds() // 60).astype(np.int64),
    )
    data["interview_date"] = data["interview_date"].dt.date
    columns = w2_columns()
    table = _encode_table(data, columns)
    extended: dict[str, list[str]] = {}
    value_labels: dict[str, dict[Any, str]] = {}  # pyreadstat takes "a"-"z" keys too
    for c in columns:
        labels = dict(c.value_labels or {})
        letters = {v for v in table[c.name] if isinstance(v, str)} if c.codes else set()
        if letters:
            # pyreadstat labels an extended missing value only if the column declares it.
            extended[c.name] = sorted(letters | {k for k in labels if isinstance(k, str)})
        else:
            labels = {k: v for k, v in labels.items() if not isinstance(k, str)}
            if c.codes is not None:
                table[c.name] = table[c.name].astype(np.float64)
        if labels:
            value_labels[c.name] = labels
    pyreadstat.write_dta(
        table,
        path,
        file_label="Kelvara perception panel, round 2 (Nov 2025)",
        column_labels={c.name: c.label[:STATA_LABEL_MAX] for c in columns},
        variable_value_labels=value_labels,
        missing_user_values=extended,
    )
    _stamp_dta(path, _delivered("w2"))


# --- wave 3: KoBoToolbox XLSX export in French ----------------------------------------------

_W3_ITEMS = (
    ("grp_incl/q_inclusion", "incl_peace_process"),
    ("grp_incl/avis_pris_en_compte", "incl_views_considered"),
    ("grp_conn/connait_accord", "aware_agreement"),
    ("grp_conn/niveau_connaissance", "know_agreement"),
    ("grp_conn/organe_suivi", "know_monitoring_body"),
    ("grp_part/consulte_12m", "consulted_12m"),
    ("grp_part/dialogue_12m", "dialogue_attended_12m"),
    ("grp_voix/systeme_voix", "voice_system_say"),
    ("grp_voix/dirigeants_ecoutent", "voice_leaders_listen"),
    ("grp_dial/dialogue_parties", "dialogue_parties"),
    ("grp_dial/differends_pacifiques", "disputes_peaceful"),
    ("grp_secu/securite_nuit", "safe_walk_night"),
    ("grp_secu/evolution_securite", "security_change"),
    ("grp_secu/victime_violence", "violence_experienced_12m"),
    ("grp_secu/temoin_violence", "violence_witnessed_12m"),
    ("grp_conf/confiance_gouv", "trust_government"),
    ("grp_conf/confiance_police", "trust_police"),
    ("grp_conf/confiance_tribunaux", "trust_courts"),
    ("grp_conf/confiance_autorites", "trust_local_authorities"),
    ("grp_etat/presence_agents", "state_officials_seen"),
    ("grp_etat/satisfaction_services", "state_services_satisfaction"),
    ("grp_repr/repr_femmes", "repr_women"),
    ("grp_repr/repr_jeunes", "repr_youth"),
    ("grp_repr/repr_minorites", "repr_minorities"),
    ("grp_disc/discrimination", "discrim_experienced_12m"),
    ("grp_mission/confiance_mission", "trust_mission"),
    ("grp_mission/mission_protege", "mission_protects"),
)
W3_SOURCES = "grp_conn/sources_info"
W3_SOURCES_LABEL = "Par quelles sources avez-vous entendu parler de l'accord de paix ?"
W3_SOURCE_OPTIONS = {
    "info_radio": ("radio", "Radio"),
    "info_tv": ("television", "Télévision"),
    "info_newspaper": ("journaux", "Journaux"),
    "info_social_media": ("reseaux_sociaux", "Réseaux sociaux"),
    "info_community_leaders": ("leaders_communautaires", "Leaders communautaires"),
    "info_religious_leaders": ("leaders_religieux", "Leaders religieux"),
    "info_mission": ("mission_onu", "Mission de l'ONU"),
    "info_family_friends": ("famille_amis", "Famille et amis"),
}
W3_GPS = "gps"
W3_GPS_LABEL = "Coordonnées GPS"
W3_GPS_PARTS = ("latitude", "longitude", "altitude", "precision")
_GPS_SOURCES = ("latitude", "longitude", "gps_altitude", "gps_precision")
W3_DONT_KNOW, W3_REFUSED = "Ne sait pas", "Refus"
_W3_MONITORING = {
    0: "Commission mixte de suivi",
    1: "Le gouvernement",
    2: "La mission de l'ONU",
    3: "Les groupes armés",
}
_KOBO_VERSION = "vQm7hT3kZr8wXcN2pLd5Yb"


def _w3_item(name: str, source: str) -> Column:
    it = item(name)
    codes: dict[int, Code] = {c: text[1] for c, text in it.scale.labels.items()}
    column_source = name
    if name == "know_monitoring_body":
        codes, column_source = dict(_W3_MONITORING), f"{name}_option"
    return Column(source, column_source, it.question[1], codes, None, W3_DONT_KNOW, W3_REFUSED)


def w3_columns() -> list[Column]:
    """Return the KoBoToolbox form's questions (XML names with groups, French labels)."""
    return [
        Column("start", "kobo_start", "start"),
        Column("end", "kobo_end", "end"),
        Column("today", "today", "today"),
        Column("deviceid", "deviceid", "deviceid"),
        Column("grp_id/nom", "name", "Nom et prénom du répondant"),
        Column("grp_id/telephone", "phone", "Numéro de téléphone du répondant"),
        Column("grp_loc/region", "region", "Région", {r.code: r.name_fr for r in REGIONS}),
        Column("grp_loc/milieu", "urban_rural", "Milieu de résidence", {1: "Urbain", 2: "Rural"}),
        Column("grp_loc/strate", "stratum", "Strate de sondage"),
        Column("grp_loc/zd", "psu", "Zone de dénombrement (ZD)"),
        Column("grp_loc/poids_base", "base_weight", "Poids de sondage de base"),
        Column(W3_GPS, "geopoint", W3_GPS_LABEL),
        *(
            Column(f"_{W3_GPS}_{part}", source, f"_{W3_GPS_LABEL}_{part}")
            for part, source in zip(W3_GPS_PARTS, _GPS_SOURCES, strict=True)
        ),
        Column("grp_demo/sexe", "gender", "Sexe du répondant", {1: "Homme", 2: "Femme"}),
        Column("grp_demo/age", "age", "Âge du répondant (années révolues)"),
        Column(
            "grp_demo/deplacement",
            "displacement",
            "Statut de résidence",
            {1: "Résident", 2: "Déplacé interne", 3: "Retourné"},
        ),
        Column(
            "grp_demo/handicap",
            "disability",
            "Avez-vous un handicap ?",
            {1: "Non", 2: "Oui"},
            refused=W3_REFUSED,
        ),
        *(_w3_item(name, source) for source, name in _W3_ITEMS),
        Column("grp_fin/commentaire", "comment", "Commentaires de l'enquêteur"),
        Column("_id", "kobo_id", "_id"),
        Column("_uuid", "kobo_uuid", "_uuid"),
        Column("_submission_time", "submission_time", "_submission_time"),
        Column("_validation_status", "validation_status", "_validation_status"),
        Column("_notes", "kobo_notes", "_notes"),
        Column("_status", "kobo_status", "_status"),
        Column("_submitted_by", "submitted_by", "_submitted_by"),
        Column("__version__", "kobo_version", "__version__"),
        Column("_tags", "kobo_tags", "_tags"),
        Column("_index", "seq", "_index"),
    ]


def _kobo_meta(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng([seed, 100 + WAVE_IDS.index("w3")])
    n = len(frame)
    iso = "%Y-%m-%dT%H:%M:%S.000+01:00"
    devices = {i: "collect:" + rng.bytes(8).hex() for i in sorted(set(frame["interviewer"]))}
    submitted = frame["end"] + pd.to_timedelta(rng.integers(30, 600, size=n), unit="min")
    return frame.assign(
        kobo_start=frame["start"].dt.strftime(iso),
        kobo_end=frame["end"].dt.strftime(iso),
        today=frame["interview_date"].dt.date,
        deviceid=[devices[i] for i in frame["interviewer"]],
        geopoint=[
            f"{lat} {lon} {alt} {acc}"
            for lat, lon, alt, acc in zip(
                frame["latitude"],
                frame["longitude"],
                frame["gps_altitude"],
                frame["gps_precision"],
                strict=True,
            )
        ],
        kobo_id=48_210_000 + frame["seq"] * 7,
        kobo_uuid=[str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)],
        submission_time=submitted.dt.strftime("%Y-%m-%dT%H:%M:%S"),
        validation_status=None,
        kobo_notes=None,
        kobo_status="submitted_via_web",
        submitted_by=[f"enqueteur_{i}" for i in frame["interviewer"]],
        kobo_version=_KOBO_VERSION,
        kobo_tags=None,
        comment=frame["comment"].replace("", None),
    )


def _kobo_sources(
    frame: pd.DataFrame, multiple: KoboMultiple, headers: KoboHeaders
) -> pd.DataFrame:
    asked = frame[INFO_SOURCES[0]].notna().to_numpy()
    chosen = [
        " ".join(W3_SOURCE_OPTIONS[s][0] for s in INFO_SOURCES if row[s] == 1) if ok else None
        for ok, (_, row) in zip(asked, frame[list(INFO_SOURCES)].iterrows(), strict=True)
    ]
    question = W3_SOURCES if headers == "xml" else W3_SOURCES_LABEL
    columns: dict[str, list[Any]] = {question: chosen}
    if multiple == "split":
        for name in INFO_SOURCES:
            option = W3_SOURCE_OPTIONS[name][0 if headers == "xml" else 1]
            columns[f"{question}/{option}"] = [
                int(v) if ok else None for ok, v in zip(asked, frame[name], strict=True)
            ]
    return pd.DataFrame(columns)


def kobo_table(
    frame: pd.DataFrame,
    *,
    headers: KoboHeaders = "xml",
    multiple: KoboMultiple = "split",
    seed: int = SEED,
) -> pd.DataFrame:
    """Return wave 3 as KoBoToolbox exports it (object columns, ``None`` for blank cells)."""
    columns = w3_columns()
    table = _encode_table(_kobo_meta(frame, seed), columns)
    if headers == "label":
        table.columns = pd.Index([c.label for c in columns])
    position = 1 + [c.name for c in columns].index("grp_conn/organe_suivi")
    sources = _kobo_sources(frame, multiple, headers)
    return pd.concat([table.iloc[:, :position], sources, table.iloc[:, position:]], axis=1)


def write_kobo_xlsx(
    table: pd.DataFrame,
    path: Path,
    *,
    sheet_name: str = KOBO_SHEET,
    created: dt.datetime = dt.datetime(2000, 1, 1),
) -> None:
    """Write a table as a KoBoToolbox XLSX export, byte-for-byte reproducibly.

    ``None``/NaN cells stay blank; numbers, dates and strings are written as Excel values. The
    file's timestamps are ``created``.
    """
    rows = ([_plain(v) for v in row] for row in table.itertuples(index=False))
    write_xlsx(
        path,
        [str(c) for c in table.columns],
        rows,
        sheet_name=sheet_name,
        created=created,
        creator="KoBoToolbox",
    )


def write_w3(
    frame: pd.DataFrame,
    path: Path,
    *,
    headers: KoboHeaders = "xml",
    multiple: KoboMultiple = "split",
    seed: int = SEED,
) -> None:
    """Write wave 3 as the mission team's KoBoToolbox XLSX export (French labels as values)."""
    table = kobo_table(frame, headers=headers, multiple=multiple, seed=seed)
    write_kobo_xlsx(table, path, created=_delivered("w3"))


# --- shared helpers ---------------------------------------------------------------------------


def _encode_table(frame: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """Return the file's columns: coded ones as object columns, the others as they are."""
    return pd.DataFrame(
        {
            c.name: (
                pd.Series(encode(frame[c.source], c), dtype=object)
                if c.codes is not None
                else frame[c.source].reset_index(drop=True)
            )
            for c in columns
        }
    )


def _plain(value: Any) -> Any:
    """Convert numpy scalars to the Python values the XLSX writer takes."""
    return value.item() if isinstance(value, np.generic) else value


def _delivered(wave: str) -> dt.datetime:
    """Return when a wave's file was produced: the evening after fieldwork ended."""
    return dt.datetime.combine(FIELDWORK[wave][1], dt.time(18, 30))


def _stamp_sav(path: Path, when: dt.datetime) -> None:
    """Set the creation date and time in an SPSS header (bytes 92-108)."""
    raw = bytearray(path.read_bytes())
    stamp = f"{when.day:02d} {_MONTHS[when.month - 1]} {when.year % 100:02d}{when:%H:%M:%S}"
    if not re.fullmatch(rb"\d\d \w{3} \d\d\d\d:\d\d:\d\d", bytes(raw[92:109])):
        raise RuntimeError(f"unexpected SPSS header layout in {path}")
    raw[92:109] = stamp.encode("ascii")
    path.write_bytes(bytes(raw))


def _stamp_dta(path: Path, when: dt.datetime) -> None:
    """Set the ``<timestamp>`` of a Stata 117+ header."""
    raw = path.read_bytes()
    stamp = f"{when.day:02d} {_MONTHS[when.month - 1]} {when.year:04d} {when:%H:%M}"
    fixed, count = re.subn(
        rb"<timestamp>\x11.{17}</timestamp>",
        b"<timestamp>\x11" + stamp.encode("ascii") + b"</timestamp>",
        raw[:512],
        count=1,
    )
    if count != 1:
        raise RuntimeError(f"unexpected Stata header layout in {path}")
    path.write_bytes(fixed + raw[512:])


# --- entry points -------------------------------------------------------------------------------


def generate(
    raw_dir: Path,
    *,
    seed: int = SEED,
    waves: Sequence[str] = WAVE_IDS,
    kobo_headers: KoboHeaders = "xml",
    kobo_multiple: KoboMultiple = "split",
) -> list[Path]:
    """Write the demo survey's raw wave files into ``raw_dir`` and return their paths.

    The same ``seed`` always gives the same data (and the same bytes). ``kobo_headers`` and
    ``kobo_multiple`` choose the KoBoToolbox export variant of wave 3: XML-name or label
    headers, select_multiple as split 0/1 columns or one space-separated column.
    """
    raw_dir.mkdir(parents=True, exist_ok=True)
    calls = [
        functools.partial(_write_wave, raw_dir, wave, seed, kobo_headers, kobo_multiple)
        for wave in waves
    ]
    # Each wave from its own seed: side by side, the same bytes as one after another.
    return list(forked_results(calls, workers=os.cpu_count() or 1))


def _write_wave(
    raw_dir: Path, wave: str, seed: int, kobo_headers: KoboHeaders, kobo_multiple: KoboMultiple
) -> Path:
    """Simulate one wave and write its raw file; return its path."""
    frame = simulate_wave(wave, seed)
    path = raw_dir / FILES[wave]
    if wave == "w1":
        write_w1(frame, path)
    elif wave == "w2":
        write_w2(frame, path)
    else:
        write_w3(frame, path, headers=kobo_headers, multiple=kobo_multiple, seed=seed)
    return path


PII_COLUMNS: dict[str, tuple[str, ...]] = {
    "w1": ("RESPNAME", "PHONE", "GPS_LAT", "GPS_LON", "COMMENTS"),
    "w2": ("resp_key", "resp_name", "phone", "latitude", "longitude", "notes"),
    "w3": (
        "grp_id/nom",
        "grp_id/telephone",
        W3_GPS,
        *(f"_{W3_GPS}_{part}" for part in W3_GPS_PARTS),
        "grp_fin/commentaire",
    ),
}
"""Every column holding personal data, by wave (KoBo columns by their XML name)."""

PHONE_COLUMNS = {"w1": "PHONE", "w2": "phone", "w3": "grp_id/telephone"}
_NOT_DISTINCTIVE = {"_gps_altitude", "_gps_precision"}


def pii_canaries(raw_dir: Path) -> set[str]:
    """Return the personal-data values found in the demo files in ``raw_dir``.

    Names, phone numbers (as written, and as bare digits with and without leading zeros, the
    forms a reader may turn them into), personal respondent keys, free-text comments, KoBo
    geopoints and GPS coordinates (as ``str(float)``). None may appear in any processed
    output. Compare whole values, not substrings: coordinates are short numbers that can occur
    inside unrelated longer ones.
    """
    found: set[str] = set()
    for wave, file_name in FILES.items():
        path = raw_dir / file_name
        if not path.exists():
            continue
        wanted = [c for c in PII_COLUMNS[wave] if c not in _NOT_DISTINCTIVE]
        if wave == "w1":
            table, _ = pyreadstat.read_sav(path, usecols=wanted)
        elif wave == "w2":
            table, _ = pyreadstat.read_dta(path, usecols=wanted)
        else:
            table = _read_kobo_columns(path, wanted)
        for column in table.columns:
            for value in table[column].tolist():
                if isinstance(value, str) and value:
                    found.add(value)
                elif isinstance(value, float) and not np.isnan(value):
                    found.add(str(value))
        for phone in table[PHONE_COLUMNS[wave]].dropna().tolist():
            digits = re.sub(r"\D", "", str(phone))
            found |= {digits, digits.lstrip("0")}
    return found


def _read_kobo_columns(path: Path, xml_names: Sequence[str]) -> pd.DataFrame:
    """Read the named KoBo columns whichever header style the file uses."""
    xml_name = {c.label: c.name for c in w3_columns()}
    columns = read_columns(path, lambda header: xml_name.get(header, header) in xml_names)
    return pd.DataFrame({xml_name.get(h, h): values for h, values in columns.items()}, dtype=object)
