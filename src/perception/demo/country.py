"""The fictional Republic of Kelvara: regions, census projections and admin-1 boundaries."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

COUNTRY = {"en": "Republic of Kelvara", "fr": "République de Kelvara"}

AGE_BANDS: tuple[tuple[int, int | None], ...] = ((18, 24), (25, 34), (35, 44), (45, 54), (55, None))
"""Census age bands (min, max inclusive), coded 1-5 as in ``config/variables.yaml``."""

YOUTH_MAX_AGE = 35
"""Youth is 18-35: bands 1-2 and the single year 35 of band 3 (ages uniform within a band)."""

_YOUNG = (0.25, 0.29, 0.20, 0.13, 0.13)
_STANDARD = (0.22, 0.26, 0.20, 0.14, 0.18)
_OLDER = (0.20, 0.24, 0.20, 0.16, 0.20)


@dataclass(frozen=True)
class Region:
    """One admin-1 region with its census profile and its cell in the boundary grid."""

    code: int
    name_en: str
    name_fr: str
    adults: int
    urban_share: float
    women_share: float
    age_shares: tuple[float, float, float, float, float]
    grid_row: int
    grid_col: int


REGIONS: tuple[Region, ...] = (
    Region(1, "Northern Highlands", "Hautes-Terres du Nord", 418_653, 0.218, 0.528, _OLDER, 0, 1),
    Region(2, "Lake District", "Région des Lacs", 561_274, 0.297, 0.509, _STANDARD, 0, 2),
    Region(3, "Capital District", "District de la Capitale", 983_112, 0.921, 0.492, _YOUNG, 1, 1),
    Region(4, "Eastern Plains", "Plaines de l'Est", 607_948, 0.254, 0.511, _OLDER, 0, 3),
    Region(5, "River Valley", "Vallée du Fleuve", 702_391, 0.352, 0.507, _STANDARD, 1, 2),
    Region(6, "Western Hills", "Collines de l'Ouest", 377_806, 0.183, 0.519, _OLDER, 0, 0),
    Region(7, "Coastal Region", "Région Côtière", 641_529, 0.447, 0.503, _STANDARD, 1, 0),
    Region(8, "Southern Savannah", "Savane du Sud", 331_187, 0.152, 0.531, _OLDER, 1, 3),
)
REGION_CODES: tuple[int, ...] = tuple(r.code for r in REGIONS)


def region(code: int) -> Region:
    """Return the region with this code."""
    return REGIONS[REGION_CODES.index(code)]


def _age_share(reg: Region, band: int) -> float:
    """Return the region's share of adults in an age band, with a small regional idiosyncrasy."""
    wobble = [1.0 + 0.02 * (((reg.code * 7 + b * 3) % 5) - 2) for b in range(len(AGE_BANDS))]
    shares = [s * w for s, w in zip(reg.age_shares, wobble, strict=True)]
    return shares[band - 1] / sum(shares)


def census_sex_age_region() -> list[tuple[int, int, int, int]]:
    """Return census adults as rows ``(gender, age_band, region, count)``.

    Gender is 1 (man) or 2 (woman); the age distribution is the same for both sexes within a
    region, so that sex and age are independent inside each region.
    """
    rows: list[tuple[int, int, int, int]] = []
    for gender in (1, 2):
        for band, _ in enumerate(AGE_BANDS, start=1):
            for reg in REGIONS:
                sex_share = reg.women_share if gender == 2 else 1.0 - reg.women_share
                count = round(reg.adults * sex_share * _age_share(reg, band))
                rows.append((gender, band, reg.code, count))
    return rows


def census_region_urban() -> list[tuple[int, int, int]]:
    """Return census adults as rows ``(region, urban_rural, count)`` (1 urban, 2 rural).

    Region totals equal those of :func:`census_sex_age_region`, so both tables share one grand
    total.
    """
    totals = {reg.code: 0 for reg in REGIONS}
    for _, _, code, count in census_sex_age_region():
        totals[code] += count
    rows: list[tuple[int, int, int]] = []
    for reg in REGIONS:
        urban = round(totals[reg.code] * reg.urban_share)
        rows += [(reg.code, 1, urban), (reg.code, 2, totals[reg.code] - urban)]
    return rows


@dataclass(frozen=True)
class Composition:
    """Census shares per region (indexed by region code; index 0 unused)."""

    adults: npt.NDArray[np.float64]
    women: npt.NDArray[np.float64]
    youth: npt.NDArray[np.float64]
    urban: npt.NDArray[np.float64]
    cell_probs: npt.NDArray[np.float64]
    """Shape (9, 2, 5): P(gender, age band | region) from the census table."""


def youth_fraction(band: int) -> float:
    """Return the share of a band's adults aged 18-35 (ages are uniform within a band)."""
    low, high = AGE_BANDS[band - 1]
    if high is None or low > YOUTH_MAX_AGE:
        return 0.0
    return min(1.0, (YOUTH_MAX_AGE - low + 1) / (high - low + 1))


@cache
def composition() -> Composition:
    """Return the census composition of each region used to centre the response model."""
    size = max(REGION_CODES) + 1
    cells = np.zeros((size, 2, len(AGE_BANDS)))
    for gender, band, code, count in census_sex_age_region():
        cells[code, gender - 1, band - 1] = count
    adults = cells.sum(axis=(1, 2))
    safe = np.where(adults > 0, adults, 1.0)
    youth_by_band = np.array([youth_fraction(b) for b in range(1, len(AGE_BANDS) + 1)])
    urban = np.zeros(size)
    for code, kind, count in census_region_urban():
        if kind == 1:
            urban[code] = count / safe[code]
    return Composition(
        adults=adults,
        women=cells[:, 1, :].sum(axis=1) / safe,
        youth=(cells.sum(axis=1) * youth_by_band).sum(axis=1) / safe,
        urban=urban,
        cell_probs=cells / safe[:, None, None],
    )


# --- admin-1 boundaries: a distorted 4 x 2 grid with shared, wiggly edges -------------------

_GEO_SEED = 1960
_LON0, _LAT0 = 18.0, 6.0  # north-west corner of the grid
_CELL_LON, _CELL_LAT = 2.0, 2.5
_NODE_JITTER = 0.25
_EDGE_JITTER = 0.12
_EDGE_STEPS = (0.25, 0.5, 0.75)
_GRID_ROWS, _GRID_COLS = 2, 4

Point = tuple[float, float]


def _nodes(rng: np.random.Generator) -> dict[tuple[int, int], Point]:
    nodes: dict[tuple[int, int], Point] = {}
    for row in range(_GRID_ROWS + 1):
        for col in range(_GRID_COLS + 1):
            dx, dy = rng.uniform(-_NODE_JITTER, _NODE_JITTER, size=2)
            nodes[row, col] = (_LON0 + col * _CELL_LON + dx, _LAT0 - row * _CELL_LAT + dy)
    return nodes


def _edge(start: Point, end: Point, rng: np.random.Generator) -> list[Point]:
    """Return the interior vertices of the edge from ``start`` to ``end``, jittered sideways."""
    (x0, y0), (x1, y1) = start, end
    length = float(np.hypot(x1 - x0, y1 - y0))
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    offsets = rng.uniform(-_EDGE_JITTER, _EDGE_JITTER, size=len(_EDGE_STEPS))
    return [
        (x0 + t * (x1 - x0) + o * nx, y0 + t * (y1 - y0) + o * ny)
        for t, o in zip(_EDGE_STEPS, offsets, strict=True)
    ]


def _rings() -> dict[tuple[int, int], list[Point]]:
    """Return each grid cell's closed, counter-clockwise exterior ring keyed by (row, col)."""
    rng = np.random.default_rng(_GEO_SEED)
    nodes = _nodes(rng)
    edges: dict[tuple[tuple[int, int], tuple[int, int]], list[Point]] = {}
    for row in range(_GRID_ROWS + 1):
        for col in range(_GRID_COLS + 1):
            for other in ((row, col + 1), (row + 1, col)):
                if other in nodes:
                    edges[(row, col), other] = _edge(nodes[row, col], nodes[other], rng)

    def walk(a: tuple[int, int], b: tuple[int, int]) -> list[Point]:
        if (a, b) in edges:
            return [nodes[a], *edges[a, b]]
        return [nodes[a], *reversed(edges[b, a])]

    rings: dict[tuple[int, int], list[Point]] = {}
    for row in range(_GRID_ROWS):
        for col in range(_GRID_COLS):
            sw, se = (row + 1, col), (row + 1, col + 1)
            ne, nw = (row, col + 1), (row, col)
            ring = walk(sw, se) + walk(se, ne) + walk(ne, nw) + walk(nw, sw)
            rings[row, col] = [*ring, ring[0]]
    return rings


def region_box(code: int) -> tuple[float, float, float, float]:
    """Return ``(lon_min, lon_max, lat_min, lat_max)`` of a box safely inside the region.

    The margin exceeds the largest possible inward displacement of the boundary, so points
    drawn in the box fall inside the region's polygon.
    """
    reg = region(code)
    margin = _NODE_JITTER + _EDGE_JITTER + 0.08
    lon_min = _LON0 + reg.grid_col * _CELL_LON
    lat_max = _LAT0 - reg.grid_row * _CELL_LAT
    return (
        lon_min + margin,
        lon_min + _CELL_LON - margin,
        lat_max - _CELL_LAT + margin,
        lat_max - margin,
    )


def admin1_geojson() -> dict[str, Any]:
    """Return the admin-1 boundaries as a GeoJSON FeatureCollection (lon/lat, 4 decimals)."""
    rings = _rings()
    features = [
        {
            "type": "Feature",
            "properties": {"code": reg.code, "name_en": reg.name_en, "name_fr": reg.name_fr},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[round(x, 4), round(y, 4)] for x, y in rings[reg.grid_row, reg.grid_col]]
                ],
            },
        }
        for reg in REGIONS
    ]
    return {"type": "FeatureCollection", "features": features}
