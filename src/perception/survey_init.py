"""``perception survey init``: scaffold a whole survey configuration from its rounds' files.

Each file becomes a wave with its own codebook (drafted as ``codebook init`` does). Items are
matched across rounds by their variable labels and value labels, never by column names (the
same question number often means something else in another round), with this similarity:

``score = 0.6 * label + 0.4 * values``, where ``label`` is the weighted Dice coefficient of the
two variable labels' token sets and ``values = 0.5 * codes + 0.5 * value labels``: the Jaccard
index of the substantive code sets and the mean Dice coefficient of the value labels of the
codes both share. Label tokens are weighted by their inverse document frequency over every
item label of every round (``log(1 + n / count)``), so that a shared "trust" counts less
than a shared "army"; when each label has a word the other lacks that is rarer than every
shared word ("Influence of country: Japan" vs "...: Russia"), ``PENALTY`` is subtracted.
Tokens are folded (lower case, no accents or punctuation), French words are translated by a
small survey word map (confiance → trust, police, président → president...),
stop words dropped and plural ``s`` stripped. A pair scoring at least ``MATCH`` is merged
into one catalogue variable; a pair from ``UNCERTAIN`` to ``MATCH`` is listed in REVIEW.md and
left out of the catalogue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from perception.codebook import VariableSuggestion, render_codebook_stub, suggest_codebook
from perception.codebook.scaffold import _label_key, _yaml_scalar
from perception.codebook.values import SourceKey, _fold, _normalized
from perception.config import ID_VARIABLE
from perception.errors import ConfigError, ReadError
from perception.io import read_survey
from perception.storage import atomic_write
from perception.words import LANGS, say

__all__ = ["MATCH", "UNCERTAIN", "Match", "SurveyScaffold", "survey_init"]

MATCH = 0.6
UNCERTAIN = 0.4
PENALTY = 0.15
_MAX_CODES = 10
_NAME_CHARS = 40

#: Common survey words, French → English, so that French and English rounds share tokens.
_FR_EN = {
    "confiance": "trust",
    "president": "president",
    "presidence": "president",
    "parlement": "parliament",
    "assemblee": "assembly",
    "nationale": "national",
    "national": "national",
    "police": "police",
    "policiers": "police",
    "armee": "army",
    "tribunaux": "courts",
    "justice": "courts",
    "juges": "judges",
    "electorale": "electoral",
    "commission": "commission",
    "parti": "party",
    "partis": "party",
    "opposition": "opposition",
    "pouvoir": "ruling",
    "chefs": "leaders",
    "leaders": "leaders",
    "dirigeants": "leaders",
    "traditionnels": "traditional",
    "religieux": "religious",
    "conseil": "council",
    "local": "local",
    "locaux": "local",
    "elus": "elected",
    "elu": "elected",
    "corruption": "corruption",
    "securite": "safe",
    "insecurite": "unsafe",
    "quartier": "neighbourhood",
    "crime": "crime",
    "violence": "violence",
    "democratie": "democracy",
    "satisfaction": "satisfied",
    "satisfait": "satisfied",
    "economique": "economic",
    "situation": "condition",
    "conditions": "condition",
    "pays": "country",
    "vie": "living",
    "gouvernement": "government",
    "liberte": "freedom",
    "voter": "vote",
    "vote": "vote",
    "elections": "election",
    "election": "election",
    "impots": "tax",
    "fiscale": "tax",
    "pot": "bribe",
    "vin": "bribe",
    "soins": "care",
    "medicaux": "medical",
    "ecole": "school",
    "payer": "pay",
    "jamais": "never",
    "toujours": "always",
    "souvent": "often",
    "oui": "yes",
    "non": "no",
    "beaucoup": "lot",
    "peu": "little",
    "pas": "not",
    "du": "",
    "tout": "all",
    "assez": "fairly",
    "tres": "very",
    "bien": "well",
    "mal": "bad",
    "mauvais": "bad",
    "bon": "good",
    "accord": "agree",
    "desaccord": "disagree",
    "juste": "just",
    "quelque": "somewhat",
    "fois": "times",
    "plusieurs": "many",
    "quelques": "several",
    "libre": "free",
    "libres": "free",
    "sur": "safe",
    "nourriture": "food",
    "eau": "water",
    "discuter": "discuss",
    "chine": "china",
    "japon": "japan",
    "russie": "russia",
    "etats": "united",
    "unis": "states",
    "inde": "india",
    "france": "france",
    "politique": "political",
    "politiques": "political",
}
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "with",
        "by",
        "your",
        "you",
        "is",
        "are",
        "be",
        "at",
        "from",
        "as",
        "that",
        "this",
        "it",
        "its",
        "le",
        "la",
        "les",
        "l",
        "de",
        "d",
        "des",
        "du",
        "un",
        "une",
        "et",
        "ou",
        "en",
        "au",
        "aux",
        "a",
        "pour",
        "par",
        "sur",
        "vos",
        "votre",
        "vous",
        "dans",
        "que",
        "qui",
        "est",
        "ce",
        "cette",
        "se",
    ]
)
_AGREE = re.compile(r"\b(?:agree|accord|approve|approuve)\b")
_TRUST = re.compile(r"\b(?:trust|confiance)\b")
_SAFE = re.compile(r"\b(?:safe|unsafe|securite|insecurite|crime|violence|sur)\b")
_SUCCESS = re.compile(
    r"^(?:a lot|somewhat|strongly agree|agree|tout a fait d accord|d accord|beaucoup|un peu"
    r"|approve|strongly approve|approuve|tres|very)"
)
_THEMES: dict[str, re.Pattern[str]] = {
    "trust": _TRUST,
    "safety": _SAFE,
    "corruption": re.compile(r"\b(?:corruption|corrupt|bribe|pot de vin)\b"),
    "democracy": re.compile(
        r"\b(?:democracy|democratie|election|elections|vote|freedom|liberte)\b"
    ),
}
"""Themes guessed from item labels; each theme's name is words.yaml's ``draft.theme.<key>``."""
_OTHER_THEME = "general"


@dataclass(frozen=True)
class Match:
    """A proposed cross-round match of one item with its similarity score."""

    wave: str
    column: str
    reference_wave: str
    reference_column: str
    score: float
    label: str
    reference_label: str


@dataclass
class _Round:
    """One file: its wave id, data, metadata and codebook suggestions."""

    wave: str
    path: Path
    df: pd.DataFrame
    metadata: Any
    suggestions: dict[str, VariableSuggestion]
    french: bool


@dataclass
class _Item:
    """A candidate item of one round."""

    wave: str
    column: str
    label: str
    tokens: frozenset[str]
    codes: dict[int, str]
    code_tokens: dict[int, frozenset[str]]


@dataclass
class _Entry:
    """One harmonized item of the catalogue and its source column in each round."""

    name: str
    members: dict[str, _Item]


@dataclass(frozen=True)
class SurveyScaffold:
    """What ``survey_init`` wrote and found."""

    files: list[Path]
    matches: list[Match]
    uncertain: list[Match]
    pii: dict[str, list[str]]
    region_conflicts: list[str]


def _tokens(text: str) -> frozenset[str]:
    """Fold, translate French survey words, drop stop words and plural s."""
    out = set()
    for word in _fold(text).split():
        word = _FR_EN.get(word, word)
        if not word or word in _STOP or word.isdigit():
            continue
        out.add(word[:-1] if len(word) > 3 and word.endswith("s") else word)
    return frozenset(out)


def _dice(
    a: frozenset[str], b: frozenset[str], weights: Mapping[str, float] | None = None
) -> float:
    """Return the (weighted) Dice coefficient of two token sets (0 when both are empty)."""
    if not a and not b:
        return 0.0
    if weights is None:
        return 2 * len(a & b) / (len(a) + len(b))
    shared = sum(weights.get(t, 1.0) for t in a & b)
    total = sum(weights.get(t, 1.0) for t in a) + sum(weights.get(t, 1.0) for t in b)
    return 2 * shared / total


def _idf(items: Sequence[_Item]) -> dict[str, float]:
    """Weight each label token by its inverse document frequency over all items' labels."""
    counts: dict[str, int] = {}
    for item in items:
        for token in item.tokens:
            counts[token] = counts.get(token, 0) + 1
    n = max(len(items), 1)
    return {t: math.log(1 + n / c) for t, c in counts.items()}


def similarity(a: _Item, b: _Item, weights: Mapping[str, float] | None = None) -> float:
    """Score two items from their labels and value labels (see the module docstring)."""
    label = _dice(a.tokens, b.tokens, weights)
    ca, cb = set(a.codes), set(b.codes)
    codes = len(ca & cb) / len(ca | cb) if ca | cb else 0.0
    shared = sorted(ca & cb)
    words = (
        sum(_dice(a.code_tokens[c], b.code_tokens[c]) for c in shared) / len(shared)
        if shared
        else 0.0
    )
    score = 0.6 * label + 0.4 * (0.5 * codes + 0.5 * words)
    if weights is not None and _distinct_subjects(a.tokens, b.tokens, weights):
        score -= PENALTY
    return round(max(score, 0.0), 3)


def _distinct_subjects(a: frozenset[str], b: frozenset[str], weights: Mapping[str, float]) -> bool:
    """Tell whether each label has a word the other lacks, rarer than every shared word."""
    shared = max((weights.get(t, 1.0) for t in a & b), default=0.0)
    only_a = max((weights.get(t, 1.0) for t in a - b), default=0.0)
    only_b = max((weights.get(t, 1.0) for t in b - a), default=0.0)
    return min(only_a, only_b) > shared


def _is_french(suggestions: Sequence[VariableSuggestion]) -> bool:
    """Tell whether a file's labels are French rather than English."""
    text = " ".join(_fold(s.label) for s in suggestions).split()
    fr = sum(w in {"de", "du", "la", "le", "les", "des", "et"} for w in text)
    en = sum(w in {"of", "the", "and", "to", "in"} for w in text)
    return fr > en


def _items(rnd: _Round) -> list[_Item]:
    """List a round's candidate items: labelled, 2 to 10 whole substantive codes, unmapped."""
    out = []
    for s in rnd.suggestions.values():
        if s.target or s.pii_reasons or not s.value_labels or not s.vtype.endswith("numeric"):
            continue
        codes = {k: v for k, v in s.value_labels.items() if k not in s.missing}
        if not 2 <= len(codes) <= _MAX_CODES:
            continue
        if not all(isinstance(k, int) and 0 <= k < 98 for k in codes):
            continue
        ints = {int(k): v for k, v in codes.items()}
        out.append(
            _Item(
                wave=rnd.wave,
                column=s.name,
                label=s.label,
                tokens=_tokens(_label_key(s.name, s.label)),
                codes=ints,
                code_tokens={k: _tokens(v) for k, v in ints.items()},
            )
        )
    return out


def _slug(text: str, taken: set[str]) -> str:
    """Make a unique catalogue name from a label."""
    words = [w for w in _fold(text).split() if w not in _STOP and not w.isdigit()]
    base = "_".join(words)[:_NAME_CHARS].strip("_") or "item"
    if not base[0].isalpha():
        base = "q_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _read(path: Path, wave: str) -> _Round:
    """Read one file and draft its suggestions."""
    if not path.is_file():
        raise ReadError(
            "Survey file not found",
            expected="an existing survey file",
            found=f"no file {path}",
            hint="check the path of each round's file",
            file=path,
        )
    df, metadata = read_survey(path)
    suggestions = {s.name: s for s in suggest_codebook(df, metadata)}
    return _Round(wave, path, df, metadata, suggestions, _is_french(list(suggestions.values())))


def _target_column(rnd: _Round, target: str) -> str | None:
    """Return the column suggested for a target in a round."""
    return next((s.name for s in rnd.suggestions.values() if s.target == target), None)


def _match_rounds(rounds: list[_Round]) -> tuple[list[_Entry], list[Match], list[Match]]:
    """Match every later round's items to the catalogue built from the earlier rounds."""
    entries: list[_Entry] = []
    taken: set[str] = set()
    matches: list[Match] = []
    uncertain: list[Match] = []
    per_round = [_items(rnd) for rnd in rounds]
    weights = _idf([item for items in per_round for item in items])
    for index, rnd in enumerate(rounds):
        items = per_round[index]
        if index == 0:
            for item in items:
                entries.append(_Entry(_slug(_label_key(item.column, item.label), taken), {}))
                entries[-1].members[rnd.wave] = item
            continue
        pairs = []
        for item in items:
            for number, entry in enumerate(entries):
                score = max(similarity(item, other, weights) for other in entry.members.values())
                if score >= UNCERTAIN:
                    pairs.append((score, item.column, number, item))
        pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
        used_items: set[str] = set()
        used_entries: set[int] = set()
        for score, column, number, item in pairs:
            if column in used_items or number in used_entries:
                continue
            entry = entries[number]
            ref = next(iter(entry.members.values()))
            found = Match(rnd.wave, column, ref.wave, ref.column, score, item.label, ref.label)
            used_items.add(column)
            if score >= MATCH:
                used_entries.add(number)
                entry.members[rnd.wave] = item
                matches.append(found)
            else:
                uncertain.append(found)
        for item in items:
            if item.column not in used_items:
                entries.append(
                    _Entry(_slug(_label_key(item.column, item.label), taken), {rnd.wave: item})
                )
    if len(rounds) > 1 and not matches:
        raise ConfigError(
            "No item matches across the rounds",
            expected="rounds of the same survey, with items sharing labels and value labels",
            found=f"no item of {rounds[1].path.name} matches an item of {rounds[0].path.name}",
            hint="check that the files are rounds of one survey; scaffold each one alone otherwise",
            file=rounds[1].path,
        )
    return entries, matches, uncertain


def _region_conflicts(rounds: list[_Round]) -> list[str]:
    """Describe region codes whose labels change meaning between rounds."""
    out: list[str] = []
    seen: dict[int, tuple[str, str]] = {}
    for rnd in rounds:
        column = _target_column(rnd, "region")
        if column is None:
            continue
        labels = rnd.suggestions[column].value_labels
        for code, label in labels.items():
            if code in rnd.suggestions[column].missing or not isinstance(code, int):
                continue
            if code in seen and _fold(seen[code][1]) != _fold(label):
                out.append(
                    f"region code {code} is {seen[code][1]!r} in {seen[code][0]} "
                    f"but {label!r} in {rnd.wave} ({column})"
                )
            seen.setdefault(code, (rnd.wave, label))
    return out


def _yaml_label(en: str, fr: str) -> str:
    """Render a bilingual label inline."""
    return f"{{en: {_yaml_scalar(en or fr)}, fr: {_yaml_scalar(fr or en)}}}"


def _draft(entry: str, **fields: object) -> str:
    """Render a words.yaml entry as a bilingual label inline, for a drafted file."""
    return _yaml_label(*(say(entry, lang, **fields) for lang in LANGS))


def _theme(tokens_text: str) -> str:
    """Guess an item's theme from its label."""
    for key, pattern in _THEMES.items():
        if pattern.search(tokens_text):
            return key
    return _OTHER_THEME


def survey_init(
    files: Sequence[str | Path],
    output: str | Path,
    *,
    survey: str | None = None,
    force: bool = False,
) -> SurveyScaffold:
    """Write survey.yaml, codebooks, variables, indicators, weighting and REVIEW.md for rounds.

    Paths inside the files are relative to the project root, taken as the current directory.
    """
    out = Path(output)
    key = survey or re.sub(r"[^a-z0-9_-]+", "_", _fold(out.resolve().name)) or "survey"
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", key):
        key = "s_" + key
    paths = [Path(f) for f in files]
    if not paths:
        raise ConfigError(
            "No survey file given",
            expected="one file per round",
            found="none",
            hint="perception survey init r1.sav r2.sav -o config/<survey>/",
        )
    names = [p.name for p in paths]
    for path in paths:
        if names.count(path.name) > 1:
            raise ConfigError(
                "Two rounds share a file name",
                expected="a distinct file name per round",
                found=f"{path.name} given twice",
                hint="rename one of the files",
                file=path,
            )
        if path.resolve().parent != paths[0].resolve().parent:
            raise ConfigError(
                "Rounds in different folders",
                expected=f"every file in {paths[0].parent} (the survey's raw_dir)",
                found=str(path),
                hint="copy the rounds into one raw folder",
                file=path,
            )
    if (out / "survey.yaml").exists() and not force:
        raise ConfigError(
            "Output folder already holds a survey",
            expected="a new folder",
            found=f"{out / 'survey.yaml'} exists",
            hint="choose another -o, or pass --force to overwrite it",
            file=out / "survey.yaml",
        )
    rounds = [_read(path, f"w{i + 1}") for i, path in enumerate(paths)]
    entries, matches, uncertain = _match_rounds(rounds)
    conflicts = _region_conflicts(rounds)
    rel = _relative(out)
    written: list[Path] = []

    def write(name: str, text: str) -> None:
        target = out / name
        atomic_write(target, lambda stream: stream.write(text.encode("utf-8")))
        written.append(target)

    catalogue, roles = _catalogue(rounds, entries, conflicts)
    for rnd in rounds:
        write(f"codebooks/{rnd.wave}.yaml", _codebook(rnd, entries, roles, conflicts))
    write("variables.yaml", catalogue)
    write("indicators.yaml", _indicators(rounds, entries, roles))
    write("weighting.yaml", _weighting(rounds, roles))
    write("disclosure.yaml", DISCLOSURE_YAML)
    write("survey.yaml", _survey(key, rounds, rel))
    pii = {
        rnd.wave: [
            f"{s.name}: {'; '.join(s.pii_reasons)}"
            for s in rnd.suggestions.values()
            if s.pii_reasons
        ]
        for rnd in rounds
    }
    write("REVIEW.md", _review(key, rounds, matches, uncertain, pii, conflicts))
    return SurveyScaffold(written, matches, uncertain, pii, conflicts)


DISCLOSURE_YAML = """\
# Disclosure control of every published table (perception.disclosure), drafted by
# `perception survey init` with the DHS/MICS defaults.
suppress_below: 25      # unweighted denominator n below this: value hidden
flag_below: 50          # suppress_below <= n < flag_below: value shown and flagged
complementary: true     # also hide the fewest cells that would give a hidden value back
"""


def _relative(path: Path) -> str:
    """Return a path relative to the current directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _catalogue(
    rounds: list[_Round], entries: list[_Entry], conflicts: list[str]
) -> tuple[str, dict[str, dict[str, str]]]:
    """Render variables.yaml; return it and the source column of each role per wave."""
    roles: dict[str, dict[str, str]] = {}
    for target in (
        "interview_date",
        "gender",
        "age",
        "region",
        "urban_rural",
        "base_weight",
        "stratum",
        "psu",
        ID_VARIABLE,
    ):
        for rnd in rounds:
            column = _target_column(rnd, target)
            if column is not None:
                roles.setdefault(target, {})[rnd.wave] = column
    if conflicts and "region" in roles:  # keep the last round's regions; earlier ones to review
        last = rounds[-1].wave
        roles["region"] = {w: c for w, c in roles["region"].items() if w == last}
    lines = [
        "# Harmonized catalogue drafted by `perception survey init`: review it (see REVIEW.md).",
        "special_codes: {dont_know: 98, refused: 99}",
    ]
    ages: list[float] = []
    for rnd in rounds:
        column = roles.get("age", {}).get(rnd.wave)
        if column is not None:
            s = rnd.suggestions[column]
            values = pd.to_numeric(_normalized(rnd.df[column]), errors="coerce")
            values = values[~values.isin(list(s.missing))].dropna()
            ages += values.tolist()
    low = int(min([18, *ages])) if ages else 18
    high = int(max([110, *ages])) if ages else 110
    lines += [
        "age_bands:",
        "  bands:",
        f'    - {{code: 1, min: {low}, max: 24, label: {{en: "{low}-24", fr: "{low}-24 ans"}}}}',
        '    - {code: 2, min: 25, max: 34, label: {en: "25-34", fr: "25-34 ans"}}',
        '    - {code: 3, min: 35, max: 44, label: {en: "35-44", fr: "35-44 ans"}}',
        '    - {code: 4, min: 45, max: 54, label: {en: "45-54", fr: "45-54 ans"}}',
        '    - {code: 5, min: 55, max: null, label: {en: "55+", fr: "55 ans et plus"}}',
        "  youth_max_age: 35",
    ]
    domains = [
        d
        for d in ("gender", "age_band", "youth", "region", "urban_rural")
        if d in roles or (d in ("age_band", "youth") and "age" in roles)
    ]
    lines.append(f"domains: [{', '.join(domains)}]")
    used_themes = sorted({_theme(_fold(_entry_label(e)[0])) for e in entries})
    lines.append("themes:")
    for theme in used_themes:
        lines.append(f"  {theme}: {_draft(f'draft.theme.{theme}')}")
    lines += [
        "variables:",
        f"  respondent_id: {{role: id, kind: string, label: {_draft('draft.respondent_id')}}}",
    ]
    if "interview_date" in roles:
        lines.append(
            f"  interview_date: {{role: date, kind: date, label: {_draft('draft.interview_date')}}}"
        )
    if "gender" in roles:
        lines += [
            "  gender:",
            "    role: demographic",
            "    kind: categorical",
            f"    label: {_draft('draft.gender')}",
            "    codes:",
            f"      1: {_draft('draft.man')}",
            f"      2: {_draft('draft.woman')}",
        ]
    if "age" in roles:
        lines += [
            f"  age: {{role: demographic, kind: integer, min: {low}, max: {high}, label: "
            f"{_draft('draft.age')}}}",
            "  age_band: {role: derived, kind: categorical, derived_from: age, label: "
            f"{_draft('draft.age_group')}}}",
            "  youth:",
            "    role: derived",
            "    kind: categorical",
            "    derived_from: age",
            f"    label: {_draft('draft.youth')}",
            "    codes:",
            f"      1: {_draft('draft.youth_18_35')}",
            f"      2: {_draft('draft.adults_36')}",
        ]
    if "region" in roles:
        codes: dict[int, str] = {}
        for rnd in rounds:
            column = roles["region"].get(rnd.wave)
            if column is not None:
                s = rnd.suggestions[column]
                for code, label in s.value_labels.items():
                    if code not in s.missing and isinstance(code, int):
                        codes.setdefault(code, label)
        lines += [
            "  region:",
            "    role: demographic",
            "    kind: categorical",
            f"    label: {_draft('draft.region')}",
            "    codes:",
        ]
        lines += [f"      {c}: {_yaml_label(v, v)}" for c, v in sorted(codes.items())]
    if "urban_rural" in roles:
        lines += [
            "  urban_rural:",
            "    role: demographic",
            "    kind: categorical",
            f"    label: {_draft('draft.area_of_residence')}",
            "    codes:",
            f"      1: {_draft('draft.urban')}",
            f"      2: {_draft('draft.rural')}",
        ]
    lines.append(
        f"  base_weight: {{role: design, kind: number, label: {_draft('draft.design_weight')}}}"
    )
    lines.append(
        f"  stratum: {{role: design, kind: string, label: {_draft('draft.sampling_stratum')}}}"
    )
    if "psu" in roles:
        lines.append(
            f"  psu: {{role: design, kind: string, label: {_draft('draft.primary_sampling_unit')}}}"
        )
    for entry in entries:
        en, fr = _entry_label(entry)
        codes_all: dict[int, tuple[str, str]] = {}
        for item in entry.members.values():
            french = next(r.french for r in rounds if r.wave == item.wave)
            for code, label in item.codes.items():
                pair = codes_all.get(code, ("", ""))
                codes_all[code] = (
                    pair[0] or ("" if french else label),
                    pair[1] or (label if french else ""),
                )
        waves = ", ".join(f"{w} {i.column}" for w, i in entry.members.items())
        lines += [
            f"  {entry.name}:  # {waves}",
            "    role: item",
            "    kind: categorical",
            f"    theme: {_theme(_fold(en))}",
            "    ordered: true",
            f"    label: {_yaml_label(en, fr)}",
            "    codes:",
        ]
        lines += [f"      {c}: {_yaml_label(*v)}" for c, v in sorted(codes_all.items())]
    return "\n".join(lines) + "\n", roles


def _entry_label(entry: _Entry) -> tuple[str, str]:
    """Return an item's English and French labels from its members (question number dropped)."""
    en = fr = ""
    for item in entry.members.values():
        text = _label_key(item.column, item.label) and re.sub(
            r"^\s*[A-Za-z]{0,3}\d+[\w-]*[.:]?\s+", "", item.label
        )
        if _is_french_text(item.label):
            fr = fr or text
        else:
            en = en or text
    return en or fr, fr or en


def _is_french_text(text: str) -> bool:
    """Tell whether a short label reads as French."""
    return bool(re.search(r"[éèêàçù]|\b(?:de|du|des|la|le|les|aux)\b", text.lower()))


def _codebook(
    rnd: _Round, entries: list[_Entry], roles: dict[str, dict[str, str]], conflicts: list[str]
) -> str:
    """Render one round's codebook with the catalogue names and its derived columns."""
    by_column = {e.members[rnd.wave].column: e for e in entries if rnd.wave in e.members}
    suggestions = []
    for s in rnd.suggestions.values():
        if s.name in by_column:
            entry = by_column[s.name]
            values = pd.to_numeric(_normalized(rnd.df[s.name]), errors="coerce").dropna()
            extra: dict[SourceKey, Any] = {
                int(v): "missing"
                for v in sorted(set(values))
                if float(v).is_integer()
                and int(v) not in entry.members[rnd.wave].codes
                and int(v) not in s.missing
            }
            others = [w for w in entry.members if w != rnd.wave]
            note = f"catalogue item {entry.name}" + (
                f", matched with {', '.join(f'{w} {entry.members[w].column}' for w in others)}"
                if others
                else ", in this round only"
            )
            notes = [note] + (
                [f"unlabelled values {sorted(extra)} set to missing: check them"] if extra else []
            )
            s = replace(
                s,
                target=entry.name,
                missing={**s.missing, **extra},
                notes=[*notes, *s.notes],
                reasons=["cross-round labels"],
            )
        elif s.target == "region" and rnd.wave not in roles.get("region", {}):
            s = replace(
                s,
                target=None,
                recode=None,
                notes=[
                    "WARNING: region codes change meaning between rounds: "
                    + "; ".join(conflicts)
                    + ". Left unmapped: recode this round's regions to the catalogue's, then set "
                    "target: region",
                    *s.notes,
                ],
            )
        elif s.target == "region" and conflicts:
            s = replace(s, notes=["WARNING: " + "; ".join(conflicts), *s.notes])
        elif s.target == "stratum" and "stratum" not in roles:
            s = replace(s, target=None)
        suggestions.append(s)
    text = render_codebook_stub(
        suggestions,
        wave=rnd.wave,
        source_file=rnd.path.name,
        description=rnd.metadata.file_label or f"{rnd.metadata.format} export {rnd.path.name}",
        file_format=rnd.metadata.format,
        n_rows=len(rnd.df),
    )
    derived = []
    strata = _strata_source(rnd)
    if isinstance(strata, list):
        derived.append(f"  stratum: {{cross: [{', '.join(strata)}]}}")
    if rnd.wave not in roles.get(ID_VARIABLE, {}):
        derived.append(f"  {ID_VARIABLE}: {{row_number: true}}")
    if rnd.wave not in roles.get("base_weight", {}):  # no weight column: self-weighting sample
        derived.append("  base_weight: {constant: 1}  # no weight column found: check this")
    if derived:
        text += "derived:\n" + "\n".join(derived) + "\n"
    return text


def _indicators(
    rounds: list[_Round], entries: list[_Entry], roles: dict[str, dict[str, str]]
) -> str:
    """Render a starter indicator catalogue: one proportion per agree/trust item."""
    domains = ["national"] + [
        d
        for d in ("gender", "age_band", "youth", "region", "urban_rural")
        if d in roles or (d in ("age_band", "youth") and "age" in roles)
    ]
    lines = [
        "# Starter indicator catalogue drafted by `perception survey init`: one proportion per",
        "# matched agree/trust-type item, success codes guessed from the value labels. Review.",
        "benchmarks:",
        "  perceptions:",
        "    term: medium",
        "    label: " + _draft("draft.perceptions_benchmark"),
        "defaults:",
        f"  disaggregations: [{', '.join(domains)}]",
        f"  baseline_wave: {rounds[0].wave}",
        "indicators:",
    ]
    count = 0
    for entry in entries:
        if len(entry.members) < min(2, len(rounds)):
            continue
        en, fr = _entry_label(entry)
        item = next(iter(entry.members.values()))
        words = _fold(item.label) + " " + " ".join(_fold(v) for v in item.codes.values())
        if not (_AGREE.search(words) or _TRUST.search(words)):
            continue
        success = sorted(
            c
            for c, v in item.codes.items()
            if _SUCCESS.match(_fold(v)) and not re.search(r"\b(?:not|pas|dis|des)\w*", _fold(v))
        )
        if not success or len(success) == len(item.codes):
            continue
        lines += [
            f"  - id: {entry.name}",
            f"    label: {_yaml_label(en, fr)}",
            "    benchmark: perceptions",
            "    type: proportion",
            f"    items: [{entry.name}]",
            f"    success: [{', '.join(map(str, success))}]",
            "    direction: higher",
        ]
        count += 1
    if not count:
        lines = [*lines[:-1], "indicators: []  # no agree/trust item matched: add indicators"]
    return "\n".join(lines) + "\n"


def _strata_source(rnd: _Round) -> str | list[str] | None:
    """Return a round's stratum column, else its region and urban/rural columns to cross."""
    column = _target_column(rnd, "stratum")
    if column is not None:
        return column
    cross = [_target_column(rnd, t) for t in ("region", "urban_rural")]
    return [c for c in cross if c is not None] if all(cross) else None


def _weighting(rounds: list[_Round], roles: dict[str, dict[str, str]]) -> str:
    """Render design-only weighting settings: strata and PSU when every round has them."""
    every = all(_strata_source(rnd) is not None for rnd in rounds)
    strata = "stratum" if every else None
    psu = "psu" if len(roles.get("psu", {})) == len(rounds) else None
    return (
        "# Design weights only, drafted by `perception survey init`. Add population targets and\n"
        "# a calibration method (rake, poststratify, linear) once census margins are at hand.\n"
        "design:\n"
        f"  strata: {strata or 'null'}\n"
        f"  psu: {psu or 'null'}\n"
        "  nest: true\n"
        "  lonely_psu: adjust\n"
        "base_weight:\n"
        "  column: base_weight\n"
        "calibration: {method: none}\n"
        "missing_codes: [98, 99]\n"
    )


def _survey(key: str, rounds: list[_Round], rel: str) -> str:
    """Render survey.yaml with one wave per file."""
    raw = _relative(rounds[0].path.parent)
    lines = [
        "# Survey drafted by `perception survey init`; paths are relative to the project root.",
        f"survey: {key}",
        f"title: {_draft('draft.survey_title', key=key)}",
        f"country: {_draft('draft.country')}",
        f"raw_dir: {_yaml_scalar(raw)}",
        "processed_dir: data/processed",
        f"variables: {rel}/variables.yaml",
        "# No population targets yet: weighting is design-only (calibration: none). Add",
        "# `targets: <file>` here once census margins are at hand.",
        f"weighting: {rel}/weighting.yaml",
        f"indicators: {rel}/indicators.yaml",
        f"disclosure: {rel}/disclosure.yaml",
        "waves:",
    ]
    for number, rnd in enumerate(rounds, start=1):
        lines += [
            f"  - id: {rnd.wave}",
            f"    label: {_draft('draft.round', number=number)}",
            f"    file: {_yaml_scalar(rnd.path.name)}",
            f"    codebook: {rel}/codebooks/{rnd.wave}.yaml",
        ]
        column = _target_column(rnd, "interview_date")
        if column is not None:
            dates = pd.to_datetime(rnd.df[column], errors="coerce").dropna()
            if len(dates):
                lines.append(
                    f"    fieldwork: {{start: {dates.min().date()}, end: {dates.max().date()}}}"
                )
    return "\n".join(lines) + "\n"


def _review(
    key: str,
    rounds: list[_Round],
    matches: list[Match],
    uncertain: list[Match],
    pii: dict[str, list[str]],
    conflicts: list[str],
) -> str:
    """Render REVIEW.md: matches with scores, uncertain ones, personal-data suspects."""
    lines = [
        f"# Review of the `{key}` scaffold",
        "",
        "Rounds: "
        + ", ".join(
            f"{r.wave} = {r.path.name}" + (" (French)" if r.french else "") for r in rounds
        ),
        "",
        f"Similarity = 0.6 x label Dice + 0.4 x (0.5 x code Jaccard + 0.5 x value-label Dice); "
        f"match at {MATCH} or more, uncertain from {UNCERTAIN} (left out of the catalogue).",
        "",
        "## Cross-round matches",
        "",
        "| wave | column | label | matched with | label | score |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.wave} | {m.column} | {m.label} | {m.reference_wave} {m.reference_column} "
        f"| {m.reference_label} | {m.score:.3f} |"
        for m in matches
    ]
    lines += [
        "",
        "## Uncertain matches (not in the catalogue)",
        "",
        "| wave | column | label | best candidate | label | score |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m.wave} | {m.column} | {m.label} | {m.reference_wave} {m.reference_column} "
        f"| {m.reference_label} | {m.score:.3f} |"
        for m in uncertain
    ]
    lines += ["", "## Design and respondent ids", ""]
    for rnd in rounds:
        strata = _strata_source(rnd)
        weight = _target_column(rnd, "base_weight")
        ident = _target_column(rnd, ID_VARIABLE)
        lines.append(
            f"- {rnd.wave}: weight {weight or 'none found (constant 1: check)'}; strata "
            + (" x ".join(strata) if isinstance(strata, list) else strata or "none")
            + f"; PSU {_target_column(rnd, 'psu') or 'none (each respondent its own PSU)'}; id "
            + (f"{ident} (hashed)" if ident else "row number")
        )
    warned = [
        f"- {rnd.wave} {s.name}: {note}"
        for rnd in rounds
        for s in rnd.suggestions.values()
        for note in s.notes
        if note.startswith("WARNING")
    ]
    lines += ["", "## Warnings from the codebooks", "", *(warned or ["- none"])]
    lines += ["", "## Region codes", ""]
    lines += [f"- CONFLICT: {c}" for c in conflicts] or ["- same codes and labels in every round"]
    lines += ["", "## Personal-data suspects (pii: true in the codebooks)", ""]
    for wave, found in pii.items():
        lines += [f"- {wave}: {entry}" for entry in found] or [f"- {wave}: none"]
    return "\n".join(lines) + "\n"
