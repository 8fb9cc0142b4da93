"""The dashboard's own words in English and French, and number formatting for each language.

Data labels (indicators, benchmarks, regions, sexes, age groups, waves, the survey title) come
from the configuration; this module holds only the interface's words (headings, column names,
notes) and the rules for writing numbers: ``45.2%`` and ``[41.0, 49.4]`` in English,
``45,2 %`` and ``[41,0 ; 49,4]`` in French.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Literal

from perception.config import Label
from perception.status import MONTHS, STATUSES, status_label

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")

#: Shown in place of a hidden value; a suppressed cell never shows a number.
SUPPRESSED = Label(en="suppressed", fr="masqué")
NOT_ASKED = Label(en="not asked", fr="non posé")
NO_DATA = Label(en="no respondents", fr="aucun répondant")
NOT_ESTIMATED = Label(en="not estimated", fr="non estimé")
#: Appended to a flagged value (few respondents: interpret with caution).
FLAG_MARK = "†"
MINUS = "\u2212"

UI: dict[str, Label] = {
    "dashboard": Label(en="Leadership dashboard", fr="Tableau de bord de la direction"),
    "generated": Label(en="Generated", fr="Généré le"),
    "language": Label(en="Language", fr="Langue"),
    "offline_note": Label(
        en="This file works offline: it needs no internet connection.",
        fr="Ce fichier fonctionne hors ligne : il ne nécessite aucune connexion Internet.",
    ),
    "nav": Label(en="Sections", fr="Sections"),
    "summary": Label(en="At a glance", fr="En bref"),
    "summary_intro": Label(
        en="How many indicators of each benchmark have met their target, are on track, are off "
        "track or cannot yet be judged; the statuses are defined below the scorecard.",
        fr="Combien d'indicateurs de chaque critère ont atteint leur cible, sont en bonne voie, "
        "hors trajectoire ou ne peuvent pas encore être jugés ; les statuts sont définis sous "
        "le tableau des critères.",
    ),
    "findings": Label(en="Key findings: who is worse off", fr="Constats clés : qui est en retrait"),
    "findings_rule": Label(
        en="Groups whose latest estimate is worse than the national figure, and gaps that "
        "widened since the baseline, only where the difference is clear after adjusting for "
        "the many comparisons made (Benjamini-Hochberg, as for the statuses).",
        fr="Groupes dont la dernière estimation est moins bonne que celle de l'ensemble du pays, "
        "et écarts qui se sont creusés depuis la référence, seulement lorsque la différence "
        "est nette après correction des nombreuses comparaisons effectuées (Benjamini-Hochberg, "
        "comme pour les statuts).",
    ),
    "finding_group": Label(
        en="{group}: worse off than nationally on {count} of {total} indicators; most on "
        "“{indicator}”, {value} against {national} nationally ({difference}).",
        fr="{group} : en retrait par rapport à l'ensemble du pays pour {count} indicateurs sur "
        "{total} ; surtout pour « {indicator} », {value} contre {national} pour l'ensemble du pays "
        "({difference}).",
    ),
    "findings_more": Label(
        en="{count} other groups are also worse off on at least one indicator (see the trends "
        "and the map).",
        fr="{count} autres groupes sont aussi en retrait pour au moins un indicateur (voir les "
        "tendances et la carte).",
    ),
    "findings_none": Label(
        en="No group is clearly worse off than the national figure.",
        fr="Aucun groupe n'est nettement en retrait par rapport à l'ensemble du pays.",
    ),
    "finding_gap": Label(
        en="“{indicator}” widened since {baseline}: from {before} to {latest}.",
        fr="« {indicator} » s'est creusé depuis {baseline} : de {before} à {latest}.",
    ),
    "gaps_none": Label(
        en="No gap widened clearly since the baseline.",
        fr="Aucun écart ne s'est nettement creusé depuis la référence.",
    ),
    "status_rules": Label(en="What the statuses mean", fr="Signification des statuts"),
    "projection_note": Label(
        en="The projection extends the change since the baseline in a straight line to the "
        "target date; its 95% range carries the sampling error of the latest estimate and of "
        "the change, not any doubt about the pace itself.",
        fr="La projection prolonge en ligne droite l'évolution depuis la référence jusqu'à la "
        "date cible ; sa plage à 95 % reflète l'erreur d'échantillonnage de la dernière "
        "estimation et de l'évolution, pas l'incertitude sur le rythme lui-même.",
    ),
    "scorecard": Label(en="Benchmark scorecard", fr="Tableau des critères de référence"),
    "scorecard_intro": Label(
        en="Latest national estimate of each indicator (don't know kept in the base), its "
        "change since the previous wave and since the baseline, and its status against the "
        "benchmark.",
        fr="Dernière estimation nationale de chaque indicateur (« ne sait pas » inclus dans la "
        "base), son évolution depuis la vague précédente et depuis la vague de référence, et "
        "son statut au regard du critère.",
    ),
    "trends": Label(en="Trends", fr="Tendances"),
    "trends_intro": Label(
        en="Each indicator across waves with its 95% confidence band, for the whole "
        "population or a breakdown.",
        fr="Chaque indicateur au fil des vagues avec sa bande de confiance à 95 %, pour "
        "l'ensemble de la population ou par sous-groupe.",
    ),
    "gaps": Label(en="Gaps", fr="Écarts"),
    "gaps_intro": Label(
        en="Differences between groups (women − men, youth − adults) with 95% confidence "
        "intervals; an interval that crosses zero shows no clear gap.",
        fr="Différences entre groupes (femmes − hommes, jeunes − adultes) avec intervalles de "
        "confiance à 95 % ; un intervalle qui traverse zéro ne montre pas d'écart net.",
    ),
    "map": Label(en="Regional map", fr="Carte régionale"),
    "map_intro": Label(
        en="Estimate by region; hover over a region for its confidence interval and number "
        "of respondents.",
        fr="Estimation par région ; survolez une région pour voir son intervalle de confiance "
        "et le nombre de répondants.",
    ),
    "map_unavailable": Label(
        en="The map is not shown because the boundary file could not be used:",
        fr="La carte n'est pas affichée car le fichier des limites n'a pas pu être utilisé :",
    ),
    "map_not_configured": Label(
        en="No boundary file is configured (survey.yaml, key geojson).",
        fr="Aucun fichier de limites n'est configuré (survey.yaml, clé geojson).",
    ),
    "heatmap": Label(en="Who is worse off", fr="Qui est en retrait"),
    "heatmap_intro": Label(
        en="The latest estimate for each group and crossing of groups. Red marks the worse end "
        "of the indicator, blue the better end; the colours span the indicator's whole range "
        "(0-100% for percentages), the same in every wave.",
        fr="La dernière estimation pour chaque groupe et croisement de groupes. Le rouge marque "
        "le côté défavorable de l'indicateur, le bleu le côté favorable ; les couleurs couvrent "
        "toute l'étendue de l'indicateur (0-100 % pour les pourcentages), la même à chaque "
        "vague.",
    ),
    "heatmap_unavailable": Label(
        en="No heatmap: no indicator is published in a crossing of two or more groups "
        "(config/indicators.yaml, disaggregations such as gender×region).",
        fr="Pas de carte de chaleur : aucun indicateur n'est publié dans un croisement d'au "
        "moins deux groupes (config/indicators.yaml, ventilations telles que gender×region).",
    ),
    "map_variable_unusable": Label(
        en="The map is not shown because its variable (survey.yaml, key map_variable) is not "
        "a domain of config/variables.yaml:",
        fr="La carte n'est pas affichée car sa variable (survey.yaml, clé map_variable) n'est "
        "pas un domaine de config/variables.yaml :",
    ),
    "methodology": Label(en="Methodology", fr="Méthodologie"),
    "indicator": Label(en="Indicator", fr="Indicateur"),
    "breakdown": Label(en="Breakdown", fr="Ventilation"),
    "wave": Label(en="Wave", fr="Vague"),
    "latest": Label(en="Latest (95% CI)", fr="Dernière valeur (IC à 95 %)"),
    "change_previous": Label(en="Since previous wave", fr="Depuis la vague précédente"),
    "change_baseline": Label(en="Since baseline", fr="Depuis la référence"),
    "target": Label(en="Target", fr="Cible"),
    "status": Label(en="Status", fr="Statut"),
    "by": Label(en="by", fr="d'ici le"),
    "improving": Label(en="improving", fr="en amélioration"),
    "worsening": Label(en="worsening", fr="en dégradation"),
    "no change": Label(en="no clear change", fr="pas d'évolution nette"),
    "no change adjusted": Label(
        en="no clear change once adjusted for the many comparisons made",
        fr="pas d'évolution nette une fois corrigé des nombreuses comparaisons",
    ),
    "adjusted_note": Label(
        en="The words improving, worsening and no clear change account for the many "
        "comparisons made (Benjamini-Hochberg adjustment); the 95% intervals shown do not, so "
        "an interval that excludes zero can still read no clear change.",
        fr="Les mentions en amélioration, en dégradation et pas d'évolution nette tiennent "
        "compte des nombreuses comparaisons effectuées (correction de Benjamini-Hochberg) ; "
        "les intervalles à 95 % affichés n'en tiennent pas compte : un intervalle qui exclut "
        "zéro peut donc se lire pas d'évolution nette.",
    ),
    "not_available": Label(en="not available", fr="non disponible"),
    "not_asked_in": Label(en="not asked in", fr="non posé en"),
    **{
        status: Label(en=status_label(status, "en"), fr=status_label(status, "fr"))
        for status in STATUSES
    },
    "national": Label(en="National", fr="Ensemble du pays"),
    "everyone": Label(en="Everyone", fr="Ensemble"),
    "respondents": Label(en="respondents", fr="répondants"),
    "ci95": Label(en="95% CI", fr="IC à 95 %"),
    "percent_points": Label(en="percentage points", fr="points de pourcentage"),
    "pts": Label(en="pts", fr="pts"),
    "score": Label(en="score", fr="score"),
    "difference": Label(en="difference", fr="différence"),
    "zero_gap": Label(en="no gap", fr="aucun écart"),
    "flagged_note": Label(
        en="{mark} fewer than {flag} respondents: interpret with caution",
        fr="{mark} moins de {flag} répondants : à interpréter avec prudence",
    ),
    "suppressed_note": Label(
        en="suppressed: fewer than {suppress} respondents, or hidden to protect another "
        "suppressed cell",
        fr="masqué : moins de {suppress} répondants, ou masqué pour protéger une autre "
        "cellule masquée",
    ),
    "band_note": Label(
        en="Shaded band or bar: 95% confidence interval. Hollow marker: fewer than {flag} "
        "respondents.",
        fr="Bande ou barre : intervalle de confiance à 95 %. Marqueur creux : moins de {flag} "
        "répondants.",
    ),
    "dk_kept": Label(
        en='"Don\'t know" is kept in the base (counted among those who did not give the '
        "answer shown); refusals are excluded.",
        fr="« Ne sait pas » est inclus dans la base (compté parmi ceux qui n'ont pas donné la "
        "réponse indiquée) ; les refus sont exclus.",
    ),
    "dk_excluded": Label(
        en='"Don\'t know" and refusals are excluded from the base.',
        fr="« Ne sait pas » et les refus sont exclus de la base.",
    ),
    "dk_mixed": Label(
        en='Percentages keep "don\'t know" in the base, scores exclude it; refusals are '
        "always excluded.",
        fr="Les pourcentages incluent « ne sait pas » dans la base, les scores l'excluent ; "
        "les refus sont toujours exclus.",
    ),
    "strip_suppressed": Label(en="Suppressed", fr="Masqué"),
    "not_estimated_note": Label(
        en="– not estimated for this combination (not among the indicator's breakdowns)",
        fr="– non estimé pour cette combinaison (hors des ventilations de l'indicateur)",
    ),
    "not_asked_wave": Label(en="Not asked in this wave", fr="Non posé lors de cette vague"),
    "no_estimates": Label(
        en="No estimates for this breakdown", fr="Aucune estimation pour cette ventilation"
    ),
    "no_gaps": Label(en="No gap indicators", fr="Aucun indicateur d'écart"),
    "gap_by_group": Label(en="Nationally and by group", fr="Ensemble du pays et par groupe"),
    "all_gaps": Label(en="All gaps (national)", fr="Tous les écarts (ensemble du pays)"),
    "gap": Label(en="Gap", fr="Écart"),
    "gaps_title": Label(
        en="Gaps between groups (national)", fr="Écarts entre groupes (ensemble du pays)"
    ),
    "by_groups": Label(en="by", fr="par"),
    "chart": Label(en="Chart", fr="Graphique"),
    "questions": Label(en="The questions asked", fr="Les questions posées"),
    "imprecise_note": Label(
        en="~ 95% confidence interval wider than {width}: imprecise",
        fr="~ intervalle de confiance à 95 % plus large que {width} : imprécis",
    ),
    "fieldwork": Label(en="Fieldwork", fr="Terrain"),
    "provider": Label(en="Data collection", fr="Collecte"),
    "n_respondents": Label(en="Respondents", fr="Répondants"),
    "deff_kish": Label(en="Design effect (Kish)", fr="Effet de plan (Kish)"),
    "n_eff": Label(en="Effective sample size", fr="Taille effective de l'échantillon"),
    "moe": Label(en="Margin of error (95%)", fr="Marge d'erreur (95 %)"),
    "design": Label(en="Sample design", fr="Plan de sondage"),
    "weighting_note": Label(
        en="Answers are weighted so that each wave's sample represents the population: with "
        "the weights the data provider delivered, or by adjusting them to known population "
        "figures (such as sex, age and region), very large weights being capped. Weighting "
        "costs some precision: the design effect says how much, and the effective sample size "
        "is the number of respondents the sample is worth. The exported methodology table "
        "gives the technical details.",
        fr="Les réponses sont pondérées pour que l'échantillon de chaque vague représente la "
        "population : avec les poids livrés par le prestataire, ou en les ajustant à des "
        "chiffres connus de la population (sexe, âge, région par exemple), les poids très "
        "élevés étant plafonnés. La pondération coûte un peu de précision : l'effet de plan "
        "indique combien, et la taille effective de l'échantillon le nombre de répondants "
        "auquel il équivaut. La table de méthodologie exportée donne le détail technique.",
    ),
    "moe_note": Label(
        en="The margin of error is that of a 50% proportion for the whole sample, including "
        "the design effect of the weights; subgroups have wider margins.",
        fr="La marge d'erreur est celle d'une proportion de 50 % sur l'ensemble de "
        "l'échantillon, effet de plan des poids compris ; les sous-groupes ont des marges "
        "plus larges.",
    ),
    "rules": Label(en="Disclosure control", fr="Contrôle de la confidentialité"),
    "rule_suppress": Label(
        en="Estimates based on fewer than {suppress} respondents are suppressed: the "
        "dashboard shows “{word}” instead of a number.",
        fr="Les estimations fondées sur moins de {suppress} répondants sont masquées : le "
        "tableau de bord affiche « {word} » au lieu d'un nombre.",
    ),
    "rule_flag": Label(
        en="Estimates based on {suppress} to {flag_last} respondents are shown with {mark} "
        "and should be interpreted with caution.",
        fr="Les estimations fondées sur {suppress} à {flag_last} répondants sont marquées "
        "{mark} et doivent être interprétées avec prudence.",
    ),
    "rule_complementary": Label(
        en="Some further cells are suppressed so that a suppressed value cannot be worked "
        "out from the others (complementary suppression).",
        fr="D'autres cellules sont masquées pour qu'une valeur masquée ne puisse pas être "
        "déduite des autres (masquage complémentaire).",
    ),
    "rule_counts": Label(
        en="In these tables, {suppressed} estimates are suppressed and {flagged} are flagged.",
        fr="Dans ces tableaux, {suppressed} estimations sont masquées et {flagged} sont signalées.",
    ),
    "microdata_note": Label(
        en="This dashboard is built only from the published, disclosure-controlled tables; "
        "it contains no individual responses.",
        fr="Ce tableau de bord est construit uniquement à partir des tableaux publiés, "
        "soumis au contrôle de la confidentialité ; il ne contient aucune réponse individuelle.",
    ),
    "provenance": Label(en="Provenance", fr="Provenance"),
    "tables_generated": Label(en="Indicator tables computed", fr="Tableaux d'indicateurs calculés"),
    "dashboard_generated": Label(en="Dashboard generated", fr="Tableau de bord généré"),
    "drivers": Label(
        en="What goes with each indicator", fr="Ce qui va de pair avec chaque indicateur"
    ),
    "drivers_intro": Label(
        en="How much more or less often each group gives the answer than the group it is "
        "compared with, holding fixed the other factors listed under the chart (average "
        "marginal effects of a survey-weighted regression, with 95% confidence intervals). "
        "These are associations, not causes: they show what goes with the indicator, not what "
        "would change it.",
        fr="Dans quelle mesure chaque groupe donne plus ou moins souvent la réponse que le "
        "groupe de référence, les autres facteurs indiqués sous le graphique étant tenus "
        "constants (effets marginaux moyens d'une régression pondérée, avec intervalles de "
        "confiance à 95 %). Ce sont des associations, pas des causes : elles montrent ce qui "
        "va de pair avec l'indicateur, pas ce qui le ferait changer.",
    ),
    "drivers_title": Label(en="What goes with: {label}", fr="Ce qui va de pair avec : {label}"),
    "drivers_reference": Label(en="vs {level}", fr="par rapport à {level}"),
    "drivers_axis": Label(
        en="Difference from the reference group", fr="Écart par rapport au groupe de référence"
    ),
    "drivers_no_model": Label(en="No model for this wave", fr="Aucun modèle pour cette vague"),
    "drivers_caveat": Label(
        en="Associations, not causes: each dot compares a group with its reference group, "
        "controlling for the other factors listed ({factors}).",
        fr="Des associations, pas des causes : chaque point compare un groupe à son groupe de "
        "référence, en tenant compte des autres facteurs indiqués ({factors}).",
    ),
    "drivers_causes": Label(en="Associations, not causes.", fr="Des associations, pas des causes."),
    "drivers_small": Label(
        en="Bars: 95% confidence intervals; blue where the interval excludes zero. Groups of "
        "fewer than {suppress} respondents are pooled or left out.",
        fr="Barres : intervalles de confiance à 95 % ; en bleu quand l'intervalle exclut zéro. "
        "Les groupes de moins de {suppress} répondants sont regroupés ou exclus.",
    ),
    "drivers_unavailable": Label(
        en="No indicator names drivers (config/indicators.yaml, key drivers).",
        fr="Aucun indicateur ne nomme de facteurs (config/indicators.yaml, clé drivers).",
    ),
}


def ui(key: str, lang: Lang, **values: object) -> str:
    """Return an interface text in ``lang``, with ``{name}`` fields filled from ``values``."""
    text: str = getattr(UI[key], lang)
    return text.format(**values) if values else text


def pick(label: Label, lang: Lang) -> str:
    """Return the text of a bilingual label in ``lang``."""
    text: str = getattr(label, lang)
    return text


def number(value: float, decimals: int, lang: Lang, *, signed: bool = False) -> str:
    """Write a number with the language's decimal mark, thousands separator and minus sign."""
    if not math.isfinite(value):
        raise ValueError(f"cannot format {value!r}")
    rounded = round(value, decimals)
    if rounded == 0:
        rounded = 0.0  # no "-0.0"
    text = f"{abs(rounded):,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    sign = MINUS if rounded < 0 else ("+" if signed and rounded > 0 else "")
    return sign + text


def percent_sign(lang: Lang) -> str:
    """Return the percent suffix: ``%`` in English, a narrow no-break space and ``%`` in French."""
    return "%" if lang == "en" else "\u202f%"


def interval(low: str, high: str, lang: Lang) -> str:
    """Write a confidence interval from two formatted bounds."""
    return f"[{low}, {high}]" if lang == "en" else f"[{low}\u202f; {high}]"


def month_year(when: date, lang: Lang) -> str:
    """Write a month as a report dates it: ``August 2026``, ``août 2026``."""
    return f"{MONTHS[lang][when.month - 1]} {when.year}"
