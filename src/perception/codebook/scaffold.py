"""Codebook scaffolding: draft a codebook from a survey file's own metadata.

``suggest_codebook`` profiles every column and suggests a harmonized target, missing codes,
a recode to the standard codes and personal-data flags; ``render_codebook_stub`` writes the
suggestions as commented codebook YAML; ``codebook_stub`` does both for a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from perception.codebook.values import (
    SourceKey,
    SourceMetadata,
    _fold,
    _key,
    _name_key,
    _normalized,
)
from perception.config import ID_VARIABLE, MissingKind
from perception.io import read_survey

__all__ = [
    "VariableSuggestion",
    "codebook_stub",
    "render_codebook_stub",
    "suggest_codebook",
]

_QUESTION_PREFIX = re.compile(r"^(?:q\s?\d+\w*|[a-z]{1,3}\d+[a-z0-9]*)\s+")


def _label_key(name: str, label: str) -> str:
    """Normalize a variable label and drop its question number: "Q101. Sexe" → "sexe"."""
    text = _fold(label)
    own = _fold(name)
    if own and text.startswith(own + " "):
        text = text[len(own) + 1 :]
    return _QUESTION_PREFIX.sub("", text, count=1)


@dataclass(frozen=True)
class _Profile:
    """What the heuristics know about one source column."""

    name: str
    position: int
    label: str
    name_key: str
    tokens: frozenset[str]
    label_key: str
    vtype: str
    value_labels: dict[SourceKey, str]
    n_rows: int
    n_present: int
    n_distinct: int
    max_length: int
    spaced: bool
    labelled: bool
    distinct_text: tuple[str, ...]

    @property
    def numeric(self) -> bool:
        """Tell whether the column holds numbers."""
        return self.vtype == "numeric"

    @property
    def is_date(self) -> bool:
        """Tell whether the column holds dates."""
        return self.vtype in ("date", "datetime")

    @property
    def unique(self) -> bool:
        """Tell whether every row has a distinct non-missing value."""
        return self.n_present == self.n_rows > 0 and self.n_distinct == self.n_rows


def _profile(df: pd.DataFrame, metadata: SourceMetadata, name: str, position: int) -> _Profile:
    """Profile a column for the heuristics."""
    series = df[name]
    label = str(metadata.column_labels.get(name) or "")
    vtype = metadata.variable_types.get(name) or _dtype_kind(series)
    value_labels = {_key(k): str(v) for k, v in (metadata.value_labels.get(name) or {}).items()}
    values = _normalized(series)
    present = values.dropna()
    distinct = pd.unique(present)
    texts = [v for v in distinct if isinstance(v, str)]
    labelled = bool(value_labels) and all(_key(v) in value_labels for v in distinct[:1000])
    return _Profile(
        name=name,
        position=position,
        label=" ".join(label.split()),
        name_key=_name_key(name),
        tokens=frozenset(t for t in _name_key(name).split("_") if t),
        label_key=_label_key(name, label),
        vtype=vtype,
        value_labels=value_labels,
        n_rows=len(series),
        n_present=len(present),
        n_distinct=len(distinct),
        max_length=max((len(t) for t in texts), default=0),
        spaced=any(" " in t for t in texts),
        labelled=labelled,
        distinct_text=tuple(sorted(texts)) if len(texts) <= _SHOWN_LABELS else (),
    )


def _dtype_kind(series: pd.Series) -> str:
    """Guess "numeric", "string" or "datetime" from a pandas dtype."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return "numeric"
    return "string"


# ----------------------------------------------------------------- personal data

_PII_RULES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        "a person's name",
        re.compile(r"name|(?:^|_)(?:nom|noms|prenom|prenoms|surname|nom_complet)(?:_|$)"),
        re.compile(r"\b(?:names?|nom|noms|prenoms?|surname|first name|last name|full name)\b"),
    ),
    (
        "a phone number",
        re.compile(
            r"phone|(?:^|_)(?:tel|telephone|mobile|cell|gsm|msisdn|whatsapp|portable)(?:_|$)"
        ),
        re.compile(r"\b(?:phone|telephone|mobile|cellphone|gsm|portable|whatsapp)\b"),
    ),
    (
        "GPS coordinates",
        re.compile(
            r"gps|latitude|longitude|geopoint|coordinates|coordonnees"
            r"|(?:^|_)(?:lat|lon|lng|long|coord|geo|altitude)(?:_|$)"
        ),
        re.compile(
            r"\b(?:gps|latitude|longitude|coordinates|coordonnees|geolocalisation|geopoint)\b"
        ),
    ),
    (
        "an e-mail address",
        re.compile(r"e_?mail|courriel"),
        re.compile(r"\b(?:e ?mail|courriel)\b"),
    ),
    (
        "a postal address",
        re.compile(r"address|adresse|(?:^|_)(?:addr|street|rue|domicile)(?:_|$)"),
        re.compile(r"\b(?:address|adresse|street|rue|domicile|house number|numero de maison)\b"),
    ),
    (
        "a date of birth",
        re.compile(r"(?:^|_)(?:dob|birth|naissance|date_of_birth|birthdate)(?:_|$)"),
        re.compile(r"\b(?:date of birth|birth date|date de naissance)\b"),
    ),
    (
        "an identity document number",
        re.compile(r"passport|passeport|(?:^|_)(?:cni|nin|national_id|id_card)(?:_|$)"),
        re.compile(r"\b(?:passport|passeport|national id|id card|carte d identite)\b"),
    ),
)
_FREE_TEXT_LABEL = re.compile(
    r"\b(?:verbatim|specify|preciser|precisez|comment|comments|commentaire|commentaires"
    r"|observations?|remarks?|remarques?|notes?|free text|texte libre|other|others|autre|autres)\b"
)


def _pii_name_reasons(name: str, label: str) -> list[str]:
    """Say why a column name or label looks like personal data."""
    key, text = _name_key(name), _fold(label)
    reasons = []
    for what, by_name, by_label in _PII_RULES:
        if by_name.search(key):
            reasons.append(f"{what} (column name {name!r})")
        elif text and by_label.search(text):
            reasons.append(f"{what} (label {label!r})")
    return reasons


_INTERVIEWER_NAME = re.compile(
    r"(?:^|_)(?:int_?id|intnum|intvno|interviewer(?:_?(?:id|no|num|number|code))?"
    r"|enumerator(?:_?(?:id|no|num|code))?|enum_?id|enqueteur(?:_?(?:id|no|num|code))?"
    r"|entrevistador|encuestador)(?:_|$)"
)
_INTERVIEWER = re.compile(
    r"\b(?:interviewer|interviewers|enumerator|enqueteur|enqueteuse|entrevistador|encuestador"
    r"|fieldworker)\b"
)
_NUMBER_WORD = re.compile(r"\b(?:number|no|id|code|numero|identifiant|name|nom|nombre|codigo)\b")


def _interviewer_reason(profile: _Profile) -> list[str]:
    """Flag an interviewer number or name: it links every answer to a named field worker."""
    label = profile.label_key
    if _INTERVIEWER_NAME.search(profile.name_key) or (
        _INTERVIEWER.search(label) and _NUMBER_WORD.search(label)
    ):
        return [f"an interviewer number (links answers to a named field worker; {profile.name!r})"]
    return []


def _pii_reasons(profile: _Profile) -> list[str]:
    """Say why a column may hold personal data (empty when it does not look personal)."""
    coded = profile.labelled or (profile.numeric and 0 < profile.n_distinct <= 10)
    reasons = _interviewer_reason(profile)
    reasons += [] if coded else _pii_name_reasons(profile.name, profile.label)
    question = profile.name.rpartition("/")[0]
    if coded and question and _pii_name_reasons(question, ""):
        reasons.append(
            f"option of the select_multiple question {question!r}, named like personal data"
        )
    if profile.vtype == "string" and profile.n_present:
        ratio = profile.n_distinct / profile.n_present
        if _FREE_TEXT_LABEL.search(profile.label_key):
            reasons.append(f"free text (label {profile.label!r})")
        elif _FREE_TEXT_LABEL.search(profile.name_key.replace("_", " ")):
            reasons.append(f"free text (column name {profile.name!r})")
        elif (
            profile.spaced and profile.max_length >= 20 and profile.n_distinct > 12 and ratio >= 0.2
        ):
            reasons.append(
                f"free text ({profile.n_distinct} distinct answers in {profile.n_present} rows, "
                f"up to {profile.max_length} characters)"
            )
    return reasons


# ----------------------------------------------------------------- target heuristics


@dataclass(frozen=True)
class _TargetRule:
    """How to recognize one harmonized variable from a column's name, label and values."""

    target: str
    names: re.Pattern[str]
    tokens: frozenset[str]
    label_exact: re.Pattern[str]
    label_strong: re.Pattern[str] | None
    label_words: re.Pattern[str]
    accepts: Callable[[_Profile], bool]
    respondent_bonus: bool = False
    value_words: re.Pattern[str] | None = None
    preference: Callable[[_Profile], int] | None = None

    def score(self, p: _Profile) -> tuple[int, list[str]]:
        """Score a column (0 = no match) and say what matched."""
        if not self.accepts(p):
            return 0, []
        why: list[str] = []
        score = 0
        if self.names.fullmatch(p.name_key):
            score, why = 3, ["name"]
        elif self.tokens & p.tokens:
            score, why = 2, ["name"]
        label_score = 0
        if p.label_key and self.label_exact.fullmatch(p.label_key):
            label_score = 3
        elif self.label_strong is not None and self.label_strong.search(p.label_key):
            label_score = 2
        elif self.label_words.search(p.label_key):
            label_score = 1 + int(self.respondent_bonus and bool(_RESPONDENT.search(p.label_key)))
        if label_score:
            score += label_score
            why.append("label")
        if self.value_words is not None and any(
            self.value_words.search(_fold(v)) for v in (*p.value_labels.values(), *p.distinct_text)
        ):
            score += 1
            why.append("value labels")
        if score and self.preference is not None:
            score += self.preference(p)
        return score, why


_RESPONDENT = re.compile(
    r"\b(?:respondent|repondant|repondante|enquete|enquetee|your|votre|vous|personne interrogee)\b"
)
_GROUPED = re.compile(r"\b(?:group|groupe|grp|band|tranche|classe|cat|categorie|range|cohort)\b")
_MAX_CATEGORIES = 200


def _categoryish(p: _Profile, limit: int) -> bool:
    """Accept a non-date column with at most ``limit`` distinct values."""
    return not p.is_date and 0 < p.n_distinct <= limit


def _weightish(p: _Profile) -> bool:
    """Accept a numeric column without value labels on its values."""
    return p.numeric and not p.labelled and p.n_present > 0


_NEWER = re.compile(r"\b(?:new|nouveau|nouvelle|current|actuel|actuelle)\b")
_OLDER = re.compile(r"\b(?:old|ancien|ancienne|previous|former|obsolete)\b")


def _weight_preference(p: _Profile) -> int:
    """Prefer Afrobarometer's analysis weight ``withinwt``, then a weight labelled new over old."""
    label = _fold(p.label)
    return (
        2 * (p.name_key == "withinwt")
        + int(bool(_NEWER.search(label)))
        - int(bool(_OLDER.search(label)))
    )


def _clusterish(p: _Profile) -> bool:
    """Accept a column with repeated ids: several groups, fewer groups than rows."""
    return not p.is_date and not p.labelled and 2 < p.n_distinct < p.n_present


_RULES: tuple[_TargetRule, ...] = (
    _TargetRule(
        target="respondent_id",
        names=re.compile(
            r"(?:resp|respondent|r|repondant|questionnaire|quest|case|record|interview|form"
            r"|submission|instance|meta_instance)_?(?:id|no|num|number|numero|nr|key|uuid)"
            r"|respno|respid|id|uuid|key|caseid|instanceid|serial(?:_?no)?|numquest|num_quest"
            r"|identifiant|identifier|id_?(?:resp|repondant|questionnaire|quest)"
        ),
        tokens=frozenset({"respno", "respid", "uuid", "caseid", "instanceid", "identifiant"}),
        label_exact=re.compile(
            r"(?:respondent|questionnaire|case|record|interview)\s?(?:number|no|id|identifier|code)"
            r"|(?:numero|no|code|identifiant|id)\s(?:du |de l |d )?"
            r"(?:repondant|questionnaire|entretien|interview)|id|uuid|identifiant|identifier"
        ),
        label_strong=None,
        label_words=re.compile(r"\b(?:respondent (?:number|id)|numero du repondant|identifiant)\b"),
        accepts=lambda p: p.unique and not p.is_date,
    ),
    _TargetRule(
        target="interview_date",
        names=re.compile(
            r"date|dateintr|date_?(?:intr|int|interview|entretien|enquete|entrevue|visite)"
            r"|(?:interview|entretien|survey|enquete)_?date|today|submission_?time|start|starttime"
        ),
        tokens=frozenset({"date", "dateintr", "today"}),
        label_exact=re.compile(
            r"date|(?:date|jour) (?:de l |d |de |of )?(?:the )?(?:interview|entretien|enquete|"
            r"entrevue)|interview date"
        ),
        label_strong=None,
        label_words=re.compile(r"\bdate\b"),
        accepts=lambda p: p.is_date,
    ),
    _TargetRule(
        target="gender",
        names=re.compile(r"(?:(?:resp|r)_?)?(?:sex|sexe|gender|genre)(?:_?(?:resp|r|repondant))?"),
        tokens=frozenset({"sex", "sexe", "gender", "genre"}),
        label_exact=re.compile(
            r"(?:sex|sexe|gender|genre)(?: (?:of |du |de l |de la )?(?:the )?"
            r"(?:respondent|repondant|repondante|enquete|enquetee))?"
            r"|quel est votre (?:sexe|genre)|what is your (?:sex|gender)"
        ),
        label_strong=None,
        label_words=re.compile(r"\b(?:sex|sexe|gender|genre)\b"),
        accepts=lambda p: _categoryish(p, 10),
        respondent_bonus=True,
        value_words=re.compile(
            r"\b(?:male|female|man|woman|men|women|homme|femme|masculin|feminin)\b"
        ),
    ),
    _TargetRule(
        target="age",
        names=re.compile(
            r"(?:(?:resp|r)_?)?age(?:_?(?:years|yrs|ans|annees|resp|r|respondent|repondant))?|ageyrs"
        ),
        tokens=frozenset({"age", "ageyrs"}),
        label_exact=re.compile(
            r"(?:age|quel age avez vous|quel est votre age|how old are you|what is your age)"
            r"(?: (?:of |du |de l )?(?:the )?(?:respondent|repondant|repondante))?"
            r"(?: (?:in |en )?(?:years|ans|annees|annees revolues|revolus))?"
        ),
        label_strong=None,
        label_words=re.compile(r"\bage\b"),
        accepts=lambda p: (
            p.numeric
            and not p.labelled
            and not _GROUPED.search(p.label_key)
            and not _GROUPED.search(p.name_key.replace("_", " "))
        ),
        respondent_bonus=True,
    ),
    _TargetRule(
        target="region",
        names=re.compile(
            r"region|reg|province|prov|gouvernorat|governorate|admin_?1(?:_?(?:code|name))?|adm_?1"
            r"|wilaya|prefecture|departement|state"
        ),
        tokens=frozenset(
            {"region", "province", "gouvernorat", "governorate", "admin1", "adm1", "wilaya"}
        ),
        label_exact=re.compile(
            r"(?:province(?: or region| ou region)?|region(?: or province| ou province)?"
            r"|gouvernorat|governorate|wilaya|admin 1|adm1|prefecture|departement)"
            r"(?: (?:of |du |de |de la )?(?:residence|the respondent|repondant))?"
        ),
        label_strong=None,
        label_words=re.compile(
            r"\b(?:region|province|gouvernorat|governorate|wilaya|prefecture)\b"
        ),
        accepts=lambda p: _categoryish(p, _MAX_CATEGORIES),
        respondent_bonus=True,
    ),
    _TargetRule(
        target="urban_rural",
        names=re.compile(
            r"urbrur|urb_?rur|urban_?rural|urbain_?rural|milieu(?:_?(?:de_)?residence)?|urban|rural"
            r"|area_?type|type_?(?:zone|milieu)|residence_?type"
        ),
        tokens=frozenset({"urbrur", "milieu", "urban", "rural"}),
        label_exact=re.compile(
            r"urban(?: or | ou | )rural|urbain(?: ou | )rural|milieu(?: de residence)?|area type"
        ),
        label_strong=re.compile(r"urban\b.*\brural|rural\b.*\burban|\bmilieu\b"),
        label_words=re.compile(r"\b(?:urban|urbain|rural)\b"),
        accepts=lambda p: _categoryish(p, 5),
        value_words=re.compile(r"\b(?:urban|urbain|rural)\b"),
    ),
    _TargetRule(
        target="base_weight",
        names=re.compile(
            r"\w*(?:weight|wgt|wght|poids|ponderation)\w*|pond\w*|wt|w|\w*wt(?:_\w+)?"
        ),
        tokens=frozenset({"weight", "wt", "wgt", "poids", "pond", "withinwt"}),
        label_exact=re.compile(
            r"(?:(?:sampling|design|base|survey|final|household|individual) )?weights?"
            r"(?: factor| variable)?|weighting(?: factor| coefficient)?"
            r"|poids(?: de sondage| d echantillonnage| final)?|ponderation"
            r"|(?:facteur|coefficient) de ponderation.*|coefficient d extrapolation"
        ),
        label_strong=None,
        label_words=re.compile(r"\b(?:weight|weights|weighting|poids|ponderation)\b"),
        accepts=_weightish,
        preference=_weight_preference,
    ),
    _TargetRule(
        target="stratum",
        names=re.compile(r"strat\w*"),
        tokens=frozenset({"strat", "strata", "stratum", "strate", "strates"}),
        label_exact=re.compile(
            r"(?:sampling |sample |explicit )?(?:stratum|strata|strate|strates|stratification)"
            r"(?: (?:id|code|number|numero|no))?"
        ),
        label_strong=None,
        label_words=re.compile(r"\b(?:stratum|strata|strate|strates|stratification)\b"),
        accepts=lambda p: not p.is_date and 0 < p.n_distinct < max(p.n_present, 2),
    ),
    _TargetRule(
        target="psu",
        names=re.compile(
            r"psu(?:_?\w+)?|ea|ea_?(?:id|no|num|number|code|nr)|eanumber|grappe(?:_?\w+)?"
            r"|cluster(?:_?(?:id|no|num|number|code))?|clust|zd(?:_?(?:id|no|num|code))?"
            r"|(?:num|no|numero|id)_?grappe|hv001|v001|upm(?:_?(?:id|no|num|code))?"
        ),
        tokens=frozenset({"psu", "grappe", "cluster", "upm"}),
        label_exact=re.compile(
            r"(?:(?:numero|no|code|id|identifiant) )?(?:de (?:la )?)?(?:grappe|cluster|psu|ea|zd"
            r"|zone de denombrement|enumeration area|primary sampling unit|unite primaire"
            r"(?: de sondage)?|section d enumeration|upm|unidad primaria de muestreo)"
            r"(?: (?:number|id|no|code|numero))?"
        ),
        label_strong=None,
        label_words=re.compile(
            r"\b(?:grappe|cluster|psu|enumeration area|zone de denombrement"
            r"|primary sampling unit|unite primaire|unidad primaria de muestreo|upm)\b"
        ),
        accepts=_clusterish,
    ),
)
_THRESHOLD = 2
#: Targets whose codebook `missing` may only say "missing" (no don't know/refused codes).
_PLAIN_MISSING_TARGETS = frozenset(
    {"respondent_id", "interview_date", "base_weight", "stratum", "psu"}
)


def _assign_targets(
    profiles: Sequence[_Profile], rules: Sequence[_TargetRule] = _RULES
) -> dict[str, tuple[str, list[str], list[str]]]:
    """Pick at most one column per target and one target per column, best score first.

    Returns ``{column: (target, reasons, notes)}``; notes name runner-up matches.
    """
    candidates = []
    for p in profiles:
        for rule in rules:
            score, why = rule.score(p)
            if score >= _THRESHOLD:
                candidates.append((-score, p.position, rule.target, p.name, why))
    candidates.sort()
    chosen: dict[str, tuple[str, list[str]]] = {}
    winner: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    for _, _, target, column, why in candidates:
        if column in chosen:
            continue
        if target in winner:
            notes.setdefault(column, []).append(
                f"also looks like {target}; suggested for {winner[target]} instead"
            )
            continue
        winner[target] = column
        chosen[column] = (target, why)
    return {
        column: (*chosen.get(column, ("", [])), notes.get(column, []))
        for column in {*chosen, *notes}
    }


# ----------------------------------------------------------------- missing codes

#: Don't know, alone or followed only by "haven't heard (enough)", "can't say"...: a label that
#: goes on ("Don't know how to report", "Je ne sais pas comment obtenir le vaccin") is an answer.
_DONT_KNOW = re.compile(
    r"(?:(?:i )?(?:don t|dont|do not) know|dk|(?:je )?ne (?:sait|sais) pas|no sabe|no se"
    r"|nao sabe|nao sei)"
    r"(?: (?:or |ou |o )?(?:(?:haven t|have not|has not|hasn t|never) heard(?: \w+)*"
    r"|n en a (?:pas|jamais)(?: \w+)*|enough(?: \w+)*|(?:can t|cannot) say|not sure|no opinion"
    r"|dk|nsp|ns|refused|no responde|no contesta|nr|nao respondeu))?"
    r"|nsp|ns|ns nr|(?:can t|cannot|ne peut|ne peut pas) (?:determine|determiner|dire|say)"
    r"|not sure|pas sur"
)
_REFUSED = re.compile(
    r"(?:a |has )?refus(?:e|ed|al|ee)?(?: (?:de repondre|to answer|to respond|de repondre a la"
    r" question))?|rf|declined(?: to answer)?|refuse de repondre|pas de reponse refus"
    r"|no responde|no respondio|no contesta|no contesto|se nego a responder|rehuso(?: \w+)?"
    r"|nao respondeu|nao responde|recusou(?: se)?(?: a responder)?|recusa|nr"
)
_MISSING = re.compile(
    r"missing(?: value| data)?|system missing|manquant|manquante|valeur manquante|no answer"
    r"|no response|pas de reponse|sans reponse|non reponse|not applicable|non applicable"
    r"|sans objet|n a|na|not asked(?: in [a-z ]+)?|skip(?:ped)?"
    r"|non (?:posee?|demandee?)(?: (?:en|au|aux|dans) [a-z ]+)?"
    r"|no se le pregunto|no se pregunto|no aplica|no aplicable|inaplicable|nao se aplica"
    r"|nao aplicavel|nao (?:foi )?perguntado|sin respuesta|sem resposta|perdido|dato perdido"
)


def _missing_kind(label: str) -> MissingKind | None:
    """Classify a value label as don't know, refused or missing (None for a real answer)."""
    text = _fold(label)
    if _DONT_KNOW.fullmatch(text):
        return "dont_know"
    if _REFUSED.fullmatch(text):
        return "refused"
    if _MISSING.fullmatch(text):
        return "missing"
    return None


def _suggest_missing(p: _Profile, metadata: SourceMetadata) -> dict[SourceKey, MissingKind]:
    """Suggest `missing` entries from value labels, declared user-missing and Stata codes."""
    out: dict[SourceKey, MissingKind] = {}
    for value, label in p.value_labels.items():
        kind = _missing_kind(label)
        if kind is not None:
            out[value] = kind
    for value in _declared_missing(metadata.missing_ranges.get(p.name)):
        label = p.value_labels.get(value, "")
        out.setdefault(value, _missing_kind(label) or "missing")
    for code in metadata.extended_missing.get(p.name, ()):
        label = p.value_labels.get(code, "")
        out.setdefault(code, _missing_kind(label) or "missing")
    return dict(sorted(out.items(), key=lambda item: _sort_key(item[0])))


def _sort_key(value: SourceKey) -> tuple[int, float, str]:
    """Order source values: numbers by value, then texts."""
    if isinstance(value, str):
        return (1, 0.0, value)
    return (0, float(value), "")


def _declared_missing(declared: Any) -> list[SourceKey]:
    """Return the single values among declared SPSS user-missing values and ranges."""
    out: list[SourceKey] = []
    for entry in declared or []:
        if isinstance(entry, Mapping):
            low, high = entry.get("lo"), entry.get("hi")
        elif isinstance(entry, tuple) and len(entry) == 2:
            low, high = entry
        else:
            low = high = entry
        if isinstance(low, int | float | str) and low == high:
            out.append(_key(low))
    return out


# ----------------------------------------------------------------- rendering


@dataclass(frozen=True)
class VariableSuggestion:
    """The stub entry drafted for one source column."""

    name: str
    label: str
    vtype: str
    value_labels: dict[SourceKey, str]
    target: str | None
    pii_reasons: list[str]
    missing: dict[SourceKey, MissingKind]
    recode: dict[SourceKey, int] | None = None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    distinct_text: tuple[str, ...] = ()


#: Standard codes of schema.md (gender 1 = man, 2 = woman; urban_rural 1 = urban, 2 = rural),
#: recognized from value labels or text values so that the stub can suggest a recode.
_STANDARD_CODES: dict[str, tuple[tuple[int, str, re.Pattern[str]], ...]] = {
    "gender": (
        (1, "man", re.compile(r"male|man|men|homme|hommes|masculin|m|h")),
        (2, "woman", re.compile(r"female|woman|women|femme|femmes|feminin|f")),
    ),
    "urban_rural": (
        (1, "urban", re.compile(r"urban|urbain|urbaine|u")),
        (2, "rural", re.compile(r"rural|rurale|r")),
    ),
}


def _suggest_recode(
    target: str, p: _Profile, missing: Mapping[SourceKey, MissingKind]
) -> tuple[dict[SourceKey, int] | None, str]:
    """Suggest a recode to the standard codes from labels; return it and a note for the stub."""
    rules = _STANDARD_CODES.get(target)
    if rules is None:
        return None, "check the codes against config/variables.yaml; add `recode` if they differ"
    pairs = list(p.value_labels.items()) or [(t, t) for t in p.distinct_text]
    recode: dict[SourceKey, int] = {}
    for value, label in pairs:
        if value in missing:
            continue
        codes = [code for code, _, pattern in rules if pattern.fullmatch(_fold(label))]
        if len(codes) != 1:
            return None, f"value {value!r} ({label}) has no standard {target} code: add `recode`"
        recode[value] = codes[0]
    standard = ", ".join(f"{code} = {name}" for code, name, _ in rules)
    if not recode:
        return None, f"check the codes against the standard ones ({standard})"
    if all(key == code for key, code in recode.items()):
        return None, f"codes already follow the standard ones ({standard})"
    return recode, f"recode suggested from the labels, to the standard codes ({standard})"


_NUMBER_LABEL = re.compile(r"-?\d+(?:\.\d+)?")


def _factor_position_warning(p: _Profile, missing: Mapping[SourceKey, MissingKind]) -> list[str]:
    """Warn when value labels are numbers other than their codes (codes are factor positions)."""
    pairs = [
        (code, label.strip())
        for code, label in p.value_labels.items()
        if code not in missing and _NUMBER_LABEL.fullmatch(label.strip())
    ]
    shifted = [(code, label) for code, label in pairs if float(label) != code]
    if not pairs or len(pairs) < len(p.value_labels) - len(missing) or not shifted:
        return []
    shown = ", ".join(f'{code} = "{label}"' for code, label in shifted[:5])
    return [
        f"WARNING: the value labels are numbers other than their codes ({shown}): the codes "
        "look like factor positions (a Stata export of an R/LAPOP factor); recode each code "
        "to the number its label shows"
    ]


def suggest_codebook(df: pd.DataFrame, metadata: SourceMetadata) -> list[VariableSuggestion]:
    """Draft one codebook entry per column: target, personal-data flag and missing codes."""
    profiles = [_profile(df, metadata, str(name), i) for i, name in enumerate(df.columns)]
    pii = {p.name: _pii_reasons(p) for p in profiles}
    assigned = _assign_targets([p for p in profiles if not pii[p.name]])
    if ID_VARIABLE not in {target for target, _, _ in assigned.values()}:
        id_rules = [rule for rule in _RULES if rule.target == ID_VARIABLE]
        personal = _assign_targets([p for p in profiles if pii[p.name]], id_rules)
        assigned |= {col: entry for col, entry in personal.items() if entry[0]}
    out = []
    for p in profiles:
        target, why, notes = assigned.get(p.name, ("", [], []))
        missing = {} if pii[p.name] else _suggest_missing(p, metadata)
        if target in _PLAIN_MISSING_TARGETS:
            missing = dict.fromkeys(missing, "missing")
        recode: dict[SourceKey, int] | None = None
        if target and target not in _PLAIN_MISSING_TARGETS and target != "age":
            recode, note = _suggest_recode(target, p, missing)
            notes = [note, *notes]
        if target == ID_VARIABLE and not pii[p.name]:
            pii[p.name] = [
                "respondent number: hashed so that harmonized data cannot be linked back to the "
                "field's contact sheets"
            ]
        notes = [*_factor_position_warning(p, missing), *notes]
        out.append(
            VariableSuggestion(
                name=p.name,
                label=p.label,
                vtype=("labelled " if p.value_labels else "") + p.vtype,
                value_labels=p.value_labels,
                target=target or None,
                pii_reasons=pii[p.name],
                missing=missing,
                recode=recode,
                reasons=why,
                notes=notes,
                distinct_text=p.distinct_text if target else (),
            )
        )
    return out


_PLAIN_SCALAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})
_SHOWN_LABELS = 15

_HEADER = """\
# Codebook stub drafted by `perception codebook init` from {file}
# ({format}, {rows} rows, {columns} columns). Review every entry before use.
#
# Each source column has exactly one of:
#   {{target: NAME}}  map it to the harmonized variable NAME of config/variables.yaml
#   {{pii: true}}     personal data: dropped during harmonization, never leaves data/raw
#                    (with target: respondent_id, the id is replaced by a salted hash)
#   {{skip: true}}    not used (its `missing` suggestion is kept for when you map it)
# `missing` maps a source value to missing, dont_know (-> 98) or refused (-> 99).
# `recode` maps each source value to a catalogue code; without it, values must already be
# catalogue codes. Suggested targets come from names and labels: check each one.
{suggested}
"""


def render_codebook_stub(
    suggestions: Sequence[VariableSuggestion],
    *,
    wave: str,
    source_file: str,
    description: str,
    file_format: str,
    n_rows: int,
) -> str:
    """Render suggestions as codebook YAML with explanatory comments."""
    mapped = [s for s in suggestions if s.target]
    flagged = [s for s in suggestions if s.pii_reasons]
    summary = (
        f"# Suggested: {len(mapped)} mapped, {len(flagged)} personal-data suspect(s), "
        f"{len(suggestions) - len(mapped) - len(flagged)} skipped."
    )
    lines = [
        _HEADER.format(
            file=source_file,
            format=file_format,
            rows=n_rows,
            columns=len(suggestions),
            suggested=summary,
        ).rstrip("\n"),
        f"wave: {_yaml_scalar(wave)}  # the id of this wave in config/survey.yaml",
        f"source_file: {_yaml_scalar(source_file)}",
        f"description: {_yaml_scalar(description)}",
        "id_salt_env: PERCEPTION_ID_SALT  # secret salt for a personal respondent id",
        "variables:",
    ]
    for suggestion in suggestions:
        lines += _entry_lines(suggestion)
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    """Make a one-line YAML comment."""
    return "  # " + " ".join(text.split())


def _entry_lines(s: VariableSuggestion) -> list[str]:
    """Render one codebook entry with its comments."""
    lines = [_comment(f"{s.label or '(no label)'}  [{s.vtype}]")]
    if s.value_labels and not s.pii_reasons:
        items = list(s.value_labels.items())
        shown = " | ".join(f"{_yaml_scalar(k)} = {v}" for k, v in items[:_SHOWN_LABELS])
        more = f" | ... ({len(items) - _SHOWN_LABELS} more)" if len(items) > _SHOWN_LABELS else ""
        lines.append(_comment(f"values: {shown}{more}"))
    elif s.distinct_text:
        lines.append(_comment("text values: " + " | ".join(s.distinct_text)))
    for reason in s.pii_reasons:
        lines.append(_comment(f"PII suspect: {reason}"))
    if s.target:
        lines.append(_comment(f"suggested target {s.target} (from the {' and '.join(s.reasons)})"))
    lines += [_comment(note) for note in s.notes]
    parts: list[str]
    if s.pii_reasons and s.target:
        lines.append(_comment("personal id: harmonization replaces it by a salted hash"))
        parts = [f"target: {s.target}", "pii: true"]
    elif s.pii_reasons:
        parts = ["pii: true"]
    elif s.target:
        parts = [f"target: {s.target}"]
        if s.recode:
            pairs = ", ".join(f"{_yaml_scalar(k)}: {v}" for k, v in s.recode.items())
            parts.append(f"recode: {{{pairs}}}")
    else:
        parts = ["skip: true"]
    if s.missing:
        codes = ", ".join(f"{_yaml_scalar(k)}: {v}" for k, v in s.missing.items())
        parts.append(f"missing: {{{codes}}}")
    lines.append(f"  {_yaml_scalar(s.name)}: {{{', '.join(parts)}}}")
    return lines


def _yaml_scalar(value: object) -> str:
    """Write a YAML scalar, quoting text that YAML could read as something else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if _PLAIN_SCALAR.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def codebook_stub(path: str | Path, *, wave: str = "w1") -> str:
    """Read a survey file and return a codebook stub (YAML text) drafted from its metadata."""
    file = Path(path)
    df, metadata = read_survey(file)
    return render_codebook_stub(
        suggest_codebook(df, metadata),
        wave=wave,
        source_file=file.name,
        description=metadata.file_label or f"{metadata.format} export {file.name}",
        file_format=metadata.format,
        n_rows=len(df),
    )
