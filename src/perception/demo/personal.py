"""Personal-data canaries: fictional names, phone numbers and free-text comments.

Every value is distinctive (invented names, phone numbers in the unallocated ``+000 555``
range) so a test can prove that none of them reaches a processed output.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FIRST_NAMES = (
    "Amarisa", "Belkor", "Corvane", "Delyth", "Esmaro", "Faralda", "Gorvel", "Halvina",
    "Ismerel", "Jorvath", "Kestrelle", "Lunaro", "Mirabeth", "Nolvar", "Orsella", "Pellinor",
    "Quorra", "Rasmael", "Sivonne", "Tarquel", "Ulvetta", "Varnis", "Wenlora", "Xandrel",
    "Yselde", "Zorvan",
)  # fmt: skip
SURNAMES = (
    "Quillfeather", "Ambervale", "Thornwick", "Dravenholt", "Mossgrave", "Kettleburn",
    "Vantorre", "Oakhallow", "Brindlemere", "Farrowdeep", "Ironsage", "Lindqvar", "Marrowind",
    "Nettlecombe", "Ravensmoor", "Sablethorn", "Tumblewick", "Wyndhollow",
)  # fmt: skip

_COMMENTS_EN = (
    "Respondent asked to be called back on {phone}",
    "{name} wants to know more about the mission",
    "Interview finished at the home of {name}",
    "Respondent nervous during the security questions",
    "Neighbours listened to part of the interview",
    "Respondent asked for help with a land dispute",
)
_COMMENTS_FR = (
    "Rappeler le répondant au {phone}",
    "{name} souhaite en savoir plus sur la mission",
    "Entretien terminé au domicile de {name}",
    "Répondant inquiet pendant les questions de sécurité",
    "Des voisins ont écouté une partie de l'entretien",
    "Le répondant demande de l'aide pour un litige foncier",
)
COMMENT_RATE = 0.2
PHONE_SPACE = 1_000_000


def names(rng: np.random.Generator, n: int) -> npt.NDArray[np.str_]:
    """Return ``n`` full names drawn from the fictional lists."""
    first = rng.choice(np.array(FIRST_NAMES), size=n)
    last = rng.choice(np.array(SURNAMES), size=n)
    return np.char.add(np.char.add(first, " "), last)


def phone_numbers(rng: np.random.Generator, n: int) -> npt.NDArray[np.int64]:
    """Return ``n`` distinct subscriber numbers (0-999999) within the ``+000 555`` range."""
    return rng.choice(PHONE_SPACE, size=n, replace=False).astype(np.int64)


def format_phone(number: int, style: str) -> str:
    """Format a subscriber number as a provider writes it (``spaced``, ``dashed`` or ``e164``)."""
    a, b = divmod(int(number), 1000)
    if style == "spaced":
        return f"+000 555 {a:03d} {b:03d}"
    if style == "dashed":
        return f"000-555-{a:03d}-{b:03d}"
    if style == "e164":
        return f"+000555{a:03d}{b:03d}"
    raise ValueError(f"unknown phone style {style!r}")


def comments(
    rng: np.random.Generator, full_names: list[str], phones: list[str], language: str
) -> list[str]:
    """Return one free-text comment per respondent (empty for most), some quoting personal data."""
    templates = _COMMENTS_FR if language == "fr" else _COMMENTS_EN
    has = rng.random(len(full_names)) < COMMENT_RATE
    which = rng.integers(0, len(templates), size=len(full_names))
    return [
        templates[k].format(name=name, phone=phone) if flag else ""
        for flag, k, name, phone in zip(has, which, full_names, phones, strict=True)
    ]
