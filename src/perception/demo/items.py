"""Perception items of the demo survey, their answer scales and the generating response model.

Each item has, for every respondent, a probability ``p`` of a *positive* answer (one of the
scale's ``positive`` codes; for experience items "positive" means "yes, it happened"). ``p`` is
additive on the probability scale and centred on each region's census composition::

    p = level[region, wave]
        + woman_effect[wave] * (woman - women_share[region])
        + youth_effect * (youth - youth_share[region])
        + urban_effect * (urban - urban_share[region])

so the census-weighted share of positive answers in a region equals ``level`` exactly, and
``woman_effect`` is exactly the women - men gap. Only the items in
``PLANTED_EFFECTS.items`` have wave-dependent parameters; every other item has the same
parameters in every wave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from perception.demo.country import (
    REGION_CODES,
    census_sex_age_region,
    composition,
    youth_fraction,
)

WAVE_IDS: tuple[str, ...] = ("w1", "w2", "w3")
DONT_KNOW, REFUSED = 98, 99

Labels = tuple[str, str]  # (en, fr)


@dataclass(frozen=True)
class Scale:
    """An answer scale: canonical codes with labels, and how the latent draw maps onto them.

    ``positive`` lists the positive codes from the most positive down, ``positive_split`` the
    share of the positive mass each gets; ``negative`` and ``negative_split`` likewise, from the
    code nearest the positive block down.
    """

    name: str
    labels: Mapping[int, Labels]
    positive: tuple[int, ...]
    positive_split: tuple[float, ...]
    negative: tuple[int, ...]
    negative_split: tuple[float, ...]


def _four(name: str, labels: Mapping[int, Labels]) -> Scale:
    return Scale(name, labels, (4, 3), (0.4, 0.6), (2, 1), (0.55, 0.45))


def _binary(name: str, no: Labels, yes: Labels) -> Scale:
    return Scale(name, {0: no, 1: yes}, (1,), (1.0,), (0,), (1.0,))


EXTENT4 = _four(
    "extent4",
    {
        1: ("Not at all", "Pas du tout"),
        2: ("A little", "Un peu"),
        3: ("Somewhat", "Assez"),
        4: ("A lot", "Beaucoup"),
    },
)
TRUST4 = _four(
    "trust4",
    {
        1: ("Not at all", "Pas du tout"),
        2: ("Just a little", "Un peu"),
        3: ("Somewhat", "Assez"),
        4: ("A lot", "Beaucoup"),
    },
)
AGREE4 = _four(
    "agree4",
    {
        1: ("Strongly disagree", "Pas du tout d'accord"),
        2: ("Somewhat disagree", "Plutôt pas d'accord"),
        3: ("Somewhat agree", "Plutôt d'accord"),
        4: ("Strongly agree", "Tout à fait d'accord"),
    },
)
SAFETY4 = _four(
    "safety4",
    {
        1: ("Very unsafe", "Pas du tout en sécurité"),
        2: ("Rather unsafe", "Plutôt pas en sécurité"),
        3: ("Rather safe", "Plutôt en sécurité"),
        4: ("Very safe", "Tout à fait en sécurité"),
    },
)
KNOW4 = _four(
    "know4",
    {
        1: ("Nothing", "Rien"),
        2: ("A little", "Un peu"),
        3: ("A fair amount", "Assez"),
        4: ("A lot", "Beaucoup"),
    },
)
FREQ4 = _four(
    "freq4",
    {
        1: ("Never", "Jamais"),
        2: ("Rarely", "Rarement"),
        3: ("Sometimes", "Parfois"),
        4: ("Often", "Souvent"),
    },
)
SATISF4 = _four(
    "satisf4",
    {
        1: ("Very dissatisfied", "Très insatisfait"),
        2: ("Dissatisfied", "Insatisfait"),
        3: ("Satisfied", "Satisfait"),
        4: ("Very satisfied", "Très satisfait"),
    },
)
SAY5 = Scale(
    "say5",
    {
        1: ("Not at all", "Pas du tout"),
        2: ("Very little", "Très peu"),
        3: ("Some", "Dans une certaine mesure"),
        4: ("A lot", "Beaucoup"),
        5: ("A great deal", "Énormément"),
    },
    (5, 4),
    (0.35, 0.65),
    (3, 2, 1),
    (0.45, 0.30, 0.25),
)
CHANGE3 = Scale(
    "change3",
    {1: ("Worse", "Pire"), 2: ("About the same", "Inchangée"), 3: ("Better", "Meilleure")},
    (3,),
    (1.0,),
    (2, 1),
    (0.6, 0.4),
)
YESNO = _binary("yesno", ("No", "Non"), ("Yes", "Oui"))
CORRECT = _binary("correct", ("Incorrect", "Incorrect"), ("Correct", "Correct"))
MENTION = _binary("mention", ("Not mentioned", "Non cité"), ("Mentioned", "Cité"))

# Regional climates (index = region code - 1) that shape the levels of the non-planted items.
_SECURITY = (-0.10, 0.02, 0.08, 0.00, 0.03, 0.02, -0.04, -0.12)
_STATE = (-0.10, 0.00, 0.12, -0.02, 0.02, -0.06, 0.03, -0.12)


def _levels(base: float, security: float = 0.0, state: float = 0.0) -> tuple[float, ...]:
    return tuple(base + security * s + state * t for s, t in zip(_SECURITY, _STATE, strict=True))


@dataclass(frozen=True)
class Item:
    """One perception item and its generating parameters (effects are probability points)."""

    name: str
    theme: str
    scale: Scale
    label: Labels
    question: Labels
    levels: tuple[float, ...]  # P(positive) by region code 1..8, first wave
    woman: float = 0.0
    youth: float = 0.0
    urban: float = 0.0
    loadings: tuple[float, float] = (0.0, 0.0)  # (engagement, insecurity) factors
    dont_know: float = 0.02
    refused: float = 0.01
    if_aware: bool = False  # asked only of respondents aware of the agreement
    waves: tuple[str, ...] = WAVE_IDS
    planted: bool = False  # carries the planted regional trends and narrowing gender gap


_ENGAGED = (0.55, 0.0)

# Planted inclusion family: levels in wave 1 by region, then changes and gender gaps by wave.
_INCLUSION_W1 = (0.30, 0.34, 0.38, 0.40, 0.32, 0.38, 0.44, 0.28)
_REGION_CHANGE: dict[int, tuple[float, float, float]] = {
    2: (0.0, 0.10, 0.20),
    5: (0.0, 0.10, 0.20),
    7: (0.0, -0.09, -0.18),
}
_GENDER_GAP = (-0.16, -0.10, -0.04)
_INCLUSION_YOUTH = -0.18
_INCLUSION_URBAN = 0.04


def _inclusion(
    name: str, theme: str, scale: Scale, label: Labels, question: Labels, shift: float
) -> Item:
    return Item(
        name,
        theme,
        scale,
        label,
        question,
        tuple(level + shift for level in _INCLUSION_W1),
        woman=_GENDER_GAP[0],
        youth=_INCLUSION_YOUTH,
        urban=_INCLUSION_URBAN,
        loadings=_ENGAGED,
        dont_know=0.03,
        refused=0.01,
        planted=True,
    )


def _source(name: str, label: Labels, base: float, youth: float = 0.0, urban: float = 0.0) -> Item:
    return Item(
        f"info_{name}",
        "awareness",
        MENTION,
        (
            f"Heard about the agreement from: {label[0]}",
            f"A entendu parler de l'accord par : {label[1]}",
        ),
        (
            f"From which sources have you heard about the peace agreement? {label[0]}",
            f"Par quelles sources avez-vous entendu parler de l'accord de paix ? {label[1]}",
        ),
        _levels(base),
        youth=youth,
        urban=urban,
        loadings=(0.2, 0.0),
        dont_know=0.0,
        refused=0.0,
        if_aware=True,
    )


ITEMS: tuple[Item, ...] = (
    _inclusion(
        "incl_peace_process",
        "inclusion",
        EXTENT4,
        (
            "People like me are included in the peace process",
            "Les gens comme moi sont inclus dans le processus de paix",
        ),
        (
            "To what extent do you feel that people like you are included in the peace process?",
            "Dans quelle mesure estimez-vous que les gens comme vous sont inclus dans le "
            "processus de paix ?",
        ),
        0.0,
    ),
    _inclusion(
        "incl_views_considered",
        "inclusion",
        AGREE4,
        (
            "The views of people like me are taken into account",
            "Les avis des gens comme moi sont pris en compte",
        ),
        (
            "The views of people like you are taken into account in the peace process. Do you "
            "agree?",
            "Les avis des gens comme vous sont pris en compte dans le processus de paix. "
            "Êtes-vous d'accord ?",
        ),
        0.05,
    ),
    _inclusion(
        "voice_system_say",
        "voice",
        SAY5,
        (
            "The political system lets people like me have a say",
            "Le système politique permet aux gens comme moi d'avoir leur mot à dire",
        ),
        (
            "How much would you say the political system allows people like you to have a say in "
            "what the government does?",
            "Dans quelle mesure diriez-vous que le système politique permet aux gens comme vous "
            "d'avoir leur mot à dire sur ce que fait le gouvernement ?",
        ),
        -0.04,
    ),
    _inclusion(
        "voice_leaders_listen",
        "voice",
        AGREE4,
        ("Leaders listen to people like me", "Les dirigeants écoutent les gens comme moi"),
        (
            "Leaders listen to what people like you have to say. Do you agree?",
            "Les dirigeants écoutent ce que les gens comme vous ont à dire. Êtes-vous d'accord ?",
        ),
        0.08,
    ),
    Item(
        "aware_agreement",
        "awareness",
        YESNO,
        ("Has heard of the peace agreement", "A entendu parler de l'accord de paix"),
        (
            "Have you heard of the peace agreement?",
            "Avez-vous entendu parler de l'accord de paix ?",
        ),
        _levels(0.72, state=0.5),
        woman=-0.10,
        youth=-0.05,
        urban=0.10,
        loadings=(0.3, 0.0),
    ),
    Item(
        "know_agreement",
        "awareness",
        KNOW4,
        ("Knows the content of the agreement", "Connaît le contenu de l'accord"),
        (
            "How much do you know about the content of the peace agreement?",
            "Que savez-vous du contenu de l'accord de paix ?",
        ),
        _levels(0.35),
        woman=-0.08,
        youth=-0.03,
        urban=0.08,
        loadings=(0.3, 0.0),
        dont_know=0.06,
        if_aware=True,
    ),
    Item(
        "know_monitoring_body",
        "awareness",
        CORRECT,
        (
            "Correctly names the body that monitors the ceasefire",
            "Cite correctement l'organe de suivi du cessez-le-feu",
        ),
        (
            "Which body monitors the ceasefire under the agreement?",
            "Quel organe assure le suivi du cessez-le-feu prévu par l'accord ?",
        ),
        _levels(0.45),
        woman=-0.06,
        urban=0.05,
        loadings=(0.2, 0.0),
        dont_know=0.15,
        if_aware=True,
    ),
    _source("radio", ("Radio", "Radio"), 0.62, urban=-0.08),
    _source("tv", ("Television", "Télévision"), 0.30, urban=0.25),
    _source("newspaper", ("Newspapers", "Journaux"), 0.12, urban=0.08),
    _source("social_media", ("Social media", "Réseaux sociaux"), 0.28, youth=0.20, urban=0.15),
    _source(
        "community_leaders", ("Community leaders", "Leaders communautaires"), 0.35, urban=-0.15
    ),
    _source("religious_leaders", ("Religious leaders", "Leaders religieux"), 0.22),
    _source("mission", ("The UN mission", "La mission de l'ONU"), 0.15),
    _source("family_friends", ("Family and friends", "Famille et amis"), 0.40),
    Item(
        "consulted_12m",
        "participation",
        YESNO,
        (
            "Consulted on the peace process (past 12 months)",
            "Consulté sur le processus de paix (12 derniers mois)",
        ),
        (
            "In the past 12 months, have you been consulted, in person or through a survey or "
            "meeting, about the peace process?",
            "Au cours des 12 derniers mois, avez-vous été consulté, en personne ou lors d'une "
            "enquête ou d'une réunion, sur le processus de paix ?",
        ),
        _levels(0.14, state=0.2),
        woman=-0.05,
        youth=-0.04,
        urban=-0.02,
        loadings=(0.3, 0.0),
        dont_know=0.01,
    ),
    Item(
        "dialogue_attended_12m",
        "participation",
        YESNO,
        (
            "Attended a community dialogue (past 12 months)",
            "A participé à un dialogue communautaire (12 derniers mois)",
        ),
        (
            "In the past 12 months, have you attended a community dialogue or public meeting "
            "about the peace process?",
            "Au cours des 12 derniers mois, avez-vous participé à un dialogue communautaire ou à "
            "une réunion publique sur le processus de paix ?",
        ),
        _levels(0.18, state=0.2),
        woman=-0.06,
        youth=-0.03,
        urban=-0.03,
        loadings=(0.3, 0.0),
        dont_know=0.01,
    ),
    Item(
        "dialogue_parties",
        "dialogue",
        AGREE4,
        ("The parties are in productive dialogue", "Les parties mènent un dialogue constructif"),
        (
            "The parties to the agreement are engaged in a productive dialogue. Do you agree?",
            "Les parties à l'accord mènent un dialogue constructif. Êtes-vous d'accord ?",
        ),
        _levels(0.36, security=0.5),
        loadings=_ENGAGED,
        dont_know=0.08,
    ),
    Item(
        "disputes_peaceful",
        "dialogue",
        AGREE4,
        (
            "Disputes in my community are resolved peacefully",
            "Les différends de ma communauté sont réglés pacifiquement",
        ),
        (
            "Disputes in your community are usually resolved peacefully. Do you agree?",
            "Les différends dans votre communauté sont généralement réglés pacifiquement. "
            "Êtes-vous d'accord ?",
        ),
        _levels(0.55, security=0.8),
        loadings=(0.4, 0.3),
        dont_know=0.03,
    ),
    Item(
        "safe_walk_night",
        "safety",
        SAFETY4,
        ("Feels safe walking alone at night", "Se sent en sécurité en marchant seul la nuit"),
        (
            "How safe do you feel walking alone around the area where you live after dark?",
            "Dans quelle mesure vous sentez-vous en sécurité lorsque vous marchez seul(e) dans "
            "votre quartier après la tombée de la nuit ?",
        ),
        _levels(0.55, security=1.5),
        woman=-0.15,
        youth=0.03,
        urban=-0.06,
        loadings=(0.0, 0.5),
        dont_know=0.01,
    ),
    Item(
        "security_change",
        "safety",
        CHANGE3,
        ("Security in my area has improved", "La sécurité dans ma zone s'est améliorée"),
        (
            "Compared with a year ago, is security in your area better, about the same, or worse?",
            "Par rapport à il y a un an, la sécurité dans votre zone est-elle meilleure, "
            "inchangée ou pire ?",
        ),
        _levels(0.28, security=0.6),
        loadings=(0.2, 0.4),
        dont_know=0.04,
    ),
    Item(
        "violence_experienced_12m",
        "violence",
        YESNO,
        ("Experienced violence (past 12 months)", "A subi des violences (12 derniers mois)"),
        (
            "In the past 12 months, have you or a member of your household been a victim of "
            "physical violence?",
            "Au cours des 12 derniers mois, vous-même ou un membre de votre ménage avez-vous été "
            "victime de violences physiques ?",
        ),
        _levels(0.12, security=-0.6),
        woman=-0.02,
        youth=0.04,
        urban=0.02,
        loadings=(0.0, -0.4),
        dont_know=0.005,
        refused=0.03,
    ),
    Item(
        "violence_witnessed_12m",
        "violence",
        YESNO,
        (
            "Witnessed armed violence (past 12 months)",
            "A été témoin de violences armées (12 derniers mois)",
        ),
        (
            "In the past 12 months, have you witnessed armed violence in your community?",
            "Au cours des 12 derniers mois, avez-vous été témoin de violences armées dans votre "
            "communauté ?",
        ),
        _levels(0.22, security=-1.0),
        youth=0.05,
        loadings=(0.0, -0.4),
        refused=0.03,
    ),
    Item(
        "trust_government",
        "trust",
        TRUST4,
        ("Trusts the national government", "Fait confiance au gouvernement national"),
        (
            "How much do you trust the national government?",
            "Quel degré de confiance accordez-vous au gouvernement national ?",
        ),
        _levels(0.42, state=0.6),
        youth=-0.12,
        urban=-0.05,
        loadings=_ENGAGED,
        dont_know=0.03,
        refused=0.02,
    ),
    Item(
        "trust_police",
        "trust",
        TRUST4,
        ("Trusts the police", "Fait confiance à la police"),
        (
            "How much do you trust the police?",
            "Quel degré de confiance accordez-vous à la police ?",
        ),
        _levels(0.45, security=0.5),
        youth=-0.10,
        loadings=_ENGAGED,
        dont_know=0.03,
        refused=0.02,
    ),
    Item(
        "trust_courts",
        "trust",
        TRUST4,
        ("Trusts the courts", "Fait confiance aux tribunaux"),
        (
            "How much do you trust the courts of law?",
            "Quel degré de confiance accordez-vous aux tribunaux ?",
        ),
        _levels(0.38, state=0.4),
        youth=-0.06,
        loadings=_ENGAGED,
        dont_know=0.06,
        refused=0.02,
    ),
    Item(
        "trust_local_authorities",
        "trust",
        TRUST4,
        ("Trusts the local authorities", "Fait confiance aux autorités locales"),
        (
            "How much do you trust your local authorities?",
            "Quel degré de confiance accordez-vous à vos autorités locales ?",
        ),
        _levels(0.52),
        youth=-0.05,
        urban=-0.06,
        loadings=_ENGAGED,
        dont_know=0.03,
    ),
    Item(
        "state_officials_seen",
        "state_presence",
        FREQ4,
        ("Sees state officials in the area", "Voit des agents de l'État dans la zone"),
        (
            "How often do you see state officials (administration, police, teachers, health "
            "workers) in your area?",
            "À quelle fréquence voyez-vous des agents de l'État (administration, police, "
            "enseignants, agents de santé) dans votre zone ?",
        ),
        _levels(0.40, state=1.5),
        urban=0.15,
        loadings=(0.3, 0.0),
        dont_know=0.02,
    ),
    Item(
        "state_services_satisfaction",
        "state_presence",
        SATISF4,
        ("Satisfied with basic public services", "Satisfait des services publics de base"),
        (
            "How satisfied are you with basic public services (health, education, water) in your "
            "area?",
            "Êtes-vous satisfait(e) des services publics de base (santé, éducation, eau) dans "
            "votre zone ?",
        ),
        _levels(0.35, state=1.2),
        urban=0.10,
        loadings=(0.4, 0.0),
        dont_know=0.02,
    ),
    Item(
        "repr_women",
        "representation",
        AGREE4,
        (
            "Women are adequately represented in the peace process",
            "Les femmes sont suffisamment représentées dans le processus de paix",
        ),
        (
            "Women are adequately represented in the peace process. Do you agree?",
            "Les femmes sont suffisamment représentées dans le processus de paix. Êtes-vous "
            "d'accord ?",
        ),
        _levels(0.40),
        woman=-0.10,
        loadings=_ENGAGED,
        dont_know=0.06,
    ),
    Item(
        "repr_youth",
        "representation",
        AGREE4,
        (
            "Young people are adequately represented in the peace process",
            "Les jeunes sont suffisamment représentés dans le processus de paix",
        ),
        (
            "Young people are adequately represented in the peace process. Do you agree?",
            "Les jeunes sont suffisamment représentés dans le processus de paix. Êtes-vous "
            "d'accord ?",
        ),
        _levels(0.35),
        youth=-0.12,
        loadings=_ENGAGED,
        dont_know=0.06,
    ),
    Item(
        "repr_minorities",
        "representation",
        AGREE4,
        (
            "Minorities are adequately represented in the peace process",
            "Les minorités sont suffisamment représentées dans le processus de paix",
        ),
        (
            "Ethnic and religious minorities are adequately represented in the peace process. Do "
            "you agree?",
            "Les minorités ethniques et religieuses sont suffisamment représentées dans le "
            "processus de paix. Êtes-vous d'accord ?",
        ),
        _levels(0.33),
        loadings=_ENGAGED,
        dont_know=0.08,
        refused=0.02,
    ),
    Item(
        "discrim_experienced_12m",
        "discrimination",
        YESNO,
        (
            "Felt discriminated against (past 12 months)",
            "S'est senti discriminé (12 derniers mois)",
        ),
        (
            "In the past 12 months, have you personally felt discriminated against or harassed "
            "because of your ethnicity, religion, sex, age, disability or another ground?",
            "Au cours des 12 derniers mois, vous êtes-vous personnellement senti(e) discriminé(e) "
            "ou harcelé(e) en raison de votre ethnie, religion, sexe, âge, handicap ou pour un "
            "autre motif ?",
        ),
        _levels(0.16),
        woman=0.04,
        youth=0.03,
        urban=0.02,
        loadings=(-0.2, 0.0),
        dont_know=0.01,
        refused=0.03,
    ),
    Item(
        "trust_mission",
        "mission",
        TRUST4,
        ("Trusts the UN mission", "Fait confiance à la mission de l'ONU"),
        (
            "How much do you trust the UN mission?",
            "Quel degré de confiance accordez-vous à la mission de l'ONU ?",
        ),
        _levels(0.48, security=-0.3),
        youth=-0.06,
        loadings=_ENGAGED,
        dont_know=0.05,
        refused=0.02,
    ),
    Item(
        "mission_protects",
        "mission",
        AGREE4,
        (
            "The UN mission helps protect civilians",
            "La mission de l'ONU contribue à protéger les civils",
        ),
        (
            "The UN mission helps protect civilians in your area. Do you agree?",
            "La mission de l'ONU contribue à protéger les civils dans votre zone. Êtes-vous "
            "d'accord ?",
        ),
        _levels(0.45),
        youth=-0.05,
        loadings=_ENGAGED,
        dont_know=0.06,
        waves=("w2", "w3"),
    ),
)
ITEM_NAMES: tuple[str, ...] = tuple(item.name for item in ITEMS)
INFO_SOURCES: tuple[str, ...] = tuple(n for n in ITEM_NAMES if n.startswith("info_"))


def item(name: str) -> Item:
    """Return the item with this catalogue name."""
    return ITEMS[ITEM_NAMES.index(name)]


@dataclass(frozen=True)
class PlantedEffects:
    """The true effects planted in the demo survey, for tests and analyses to recover.

    All values are shares of *positive* answers (``positive_codes``) among substantive answers
    (don't know and refused excluded), in the census population. The planted items have "don't
    know" and "refused" at constant rates (``dont_know``, ``refused``) in every wave and group.

    The gender gap narrows symmetrically within each region: women's share rises and men's
    falls (by about 6 points each from wave 1 to wave 3), so that region and national levels
    move only with ``region_change``. Nationally, the planted items therefore rise by about 2
    points (two rising regions outweigh one falling region).
    """

    items: tuple[str, ...]
    positive_codes: Mapping[str, tuple[int, ...]]
    waves: tuple[str, ...]
    rising_regions: tuple[int, ...]
    falling_regions: tuple[int, ...]
    flat_regions: tuple[int, ...]
    region_change: Mapping[int, tuple[float, ...]]
    """Change since the first wave, by region and wave (0 in flat regions)."""
    gender_gap: tuple[float, ...]
    """Women minus men, by wave, in every region (nationally within half a point)."""
    youth_gap: float
    """Youth (18-35) minus adults (36+), conditional on region, sex and urban/rural; constant."""
    unchanged_items: tuple[str, ...]
    """Items whose generating parameters are identical in every wave they are asked."""
    dont_know: float
    refused: float
    region_level: Mapping[str, Mapping[int, tuple[float, ...]]] = field(repr=False)
    """Share positive by planted item, region and wave."""


def _build_planted() -> PlantedEffects:
    planted = tuple(i.name for i in ITEMS if i.planted)
    change = {code: _REGION_CHANGE.get(code, (0.0,) * len(WAVE_IDS)) for code in REGION_CODES}
    return PlantedEffects(
        items=planted,
        positive_codes={name: item(name).scale.positive for name in planted},
        waves=WAVE_IDS,
        rising_regions=tuple(c for c, d in change.items() if d[-1] > 0),
        falling_regions=tuple(c for c, d in change.items() if d[-1] < 0),
        flat_regions=tuple(c for c, d in change.items() if d[-1] == 0),
        region_change=change,
        gender_gap=_GENDER_GAP,
        youth_gap=_INCLUSION_YOUTH,
        unchanged_items=tuple(n for n in ITEM_NAMES if n not in planted),
        dont_know=item(planted[0]).dont_know,
        refused=item(planted[0]).refused,
        region_level={
            name: {
                code: tuple(item(name).levels[code - 1] + d for d in change[code])
                for code in REGION_CODES
            }
            for name in planted
        },
    )


PLANTED_EFFECTS = _build_planted()


def item_parameters(it: Item, wave: str) -> tuple[npt.NDArray[np.float64], float]:
    """Return the item's levels by region code (index 0 unused) and its woman effect in a wave."""
    w = WAVE_IDS.index(wave)
    levels = np.zeros(max(REGION_CODES) + 1)
    for code in REGION_CODES:
        shift = PLANTED_EFFECTS.region_change[code][w] if it.planted else 0.0
        levels[code] = it.levels[code - 1] + shift
    woman = PLANTED_EFFECTS.gender_gap[w] if it.planted else it.woman
    return levels, woman


def positive_probability(
    it: Item,
    wave: str,
    region: npt.NDArray[np.int64],
    woman: npt.NDArray[np.float64],
    youth: npt.NDArray[np.float64],
    urban: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Return each respondent's probability of a positive answer (see the module docstring).

    ``woman``, ``youth`` and ``urban`` are 0/1 indicators, or population shares when computing
    expected values over a group.
    """
    comp = composition()
    levels, woman_effect = item_parameters(it, wave)
    return (
        levels[region]
        + woman_effect * (woman - comp.women[region])
        + it.youth * (youth - comp.youth[region])
        + it.urban * (urban - comp.urban[region])
    )


def true_share(
    name: str,
    wave: str,
    *,
    region: int | None = None,
    gender: int | None = None,
    youth: int | None = None,
) -> float:
    """Return the census-population share of positive answers among substantive answers.

    ``gender`` is 1 (man) or 2 (woman); ``youth`` is 1 (18-35) or 2 (36+); ``None`` means all.
    Items asked only of respondents aware of the agreement are refused (their population is
    not a census domain).
    """
    it = item(name)
    if it.if_aware:
        raise ValueError(f"{name} is asked only of respondents aware of the agreement")
    comp = composition()
    total = weighted = 0.0
    for sex, band, code, count in census_sex_age_region():
        if (region is not None and code != region) or (gender is not None and sex != gender):
            continue
        young = youth_fraction(band)
        # (share of the cell in the domain, youth value of that part)
        part = {None: (1.0, young), 1: (young, 1.0), 2: (1.0 - young, 0.0)}[youth]
        if part[0] == 0.0:
            continue
        p = positive_probability(
            it,
            wave,
            np.array([code]),
            np.array([float(sex == 2)]),
            np.array([part[1]]),
            np.array([comp.urban[code]]),
        )
        total += count * part[0]
        weighted += count * part[0] * float(p[0])
    return weighted / total


__all__ = [
    "DONT_KNOW",
    "INFO_SOURCES",
    "ITEMS",
    "ITEM_NAMES",
    "PLANTED_EFFECTS",
    "REFUSED",
    "WAVE_IDS",
    "Item",
    "PlantedEffects",
    "Scale",
    "item",
    "positive_probability",
    "true_share",
]
