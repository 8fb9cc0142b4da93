"""Admin1 boundaries for the regional map: load, check against the data, prepare for Plotly.

The GeoJSON is a FeatureCollection whose features carry the harmonized region code in
``properties.code`` (config/geo/demo_admin1.geojson). Plotly draws it with D3, which wants the
opposite ring orientation from the GeoJSON standard (RFC 7946: exterior rings
counter-clockwise); an unturned exterior ring would be drawn as "the whole globe except this
region". :func:`load_geojson` therefore returns a copy with every ring turned D3's way.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from perception.errors import ConfigError

__all__ = ["CODE_PROPERTY", "GEO_ASSETS_SCRIPT", "GeoJson", "centroid", "load_geojson"]

GeoJson = dict[str, Any]
Ring = list[list[float]]
CODE_PROPERTY = "code"
_AREA_TYPES = ("Polygon", "MultiPolygon")
_HINT = (
    "use a GeoJSON FeatureCollection of Polygon/MultiPolygon features, each with "
    "properties.code = the region code of config/variables.yaml"
)

#: Plotly's geo subplots fetch a world topojson from a CDN for their base layers, even when
#: those layers are hidden. Registering an empty one under the name Plotly looks for
#: (``world_110m``: scope ``world``, resolution 110, both set in the map's layout) before
#: Plotly loads keeps the map entirely offline.
GEO_ASSETS_SCRIPT = (
    "window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};"
    'window.PlotlyGeoAssets.topojson.world_110m = {type: "Topology", objects: {}, arcs: []};'
)


def load_geojson(path: str | Path, region_codes: Iterable[int]) -> GeoJson:
    """Load admin1 boundaries and check that every region of the data has a feature.

    Returns a copy of the FeatureCollection, reduced to ``type`` and ``features`` (each with
    ``properties.code`` as an int), with ring orientation set for Plotly. Raises
    :class:`~perception.errors.ConfigError` naming the file when it is missing, is not valid
    JSON or GeoJSON, or lacks features for some regions (listed).
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(
            "The boundary file of the regional map does not exist",
            expected="an admin1 GeoJSON file",
            found="no such file",
            hint="set `geojson:` in config/survey.yaml to an existing file (paths are "
            "relative to the project root)",
            file=file,
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            "The boundary file of the regional map is not valid JSON",
            expected="a GeoJSON FeatureCollection (UTF-8 JSON)",
            found=str(exc),
            hint=_HINT,
            file=file,
        ) from None
    features = _features(data, file)
    codes = [_feature_code(feature, index, file) for index, feature in enumerate(features)]
    duplicated = sorted({code for code in codes if codes.count(code) > 1})
    if duplicated:
        raise ConfigError(
            "The boundary file of the regional map has several features for one region",
            expected="one feature per region code",
            found=f"region code(s) {', '.join(map(str, duplicated))} more than once",
            hint="merge the parts of a region into one MultiPolygon feature",
            file=file,
        )
    unmatched = sorted(set(region_codes) - set(codes))
    if unmatched:
        raise ConfigError(
            "Regions of the data have no boundary in the regional map's GeoJSON",
            expected=f"a feature for every region code of the data (the file has codes "
            f"{', '.join(map(str, sorted(codes)))})",
            found=f"no feature for region code(s) {', '.join(map(str, unmatched))}",
            hint="add those regions to the GeoJSON (properties.code) or fix the region codes",
            file=file,
        )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {CODE_PROPERTY: code},
                "geometry": _rewound(feature["geometry"]),
            }
            for code, feature in zip(codes, features, strict=True)
        ],
    }


def centroid(geojson: GeoJson, code: int) -> tuple[float, float]:
    """Return the (lon, lat) area centroid of the largest polygon of a region's feature."""
    for feature in geojson["features"]:
        if feature["properties"][CODE_PROPERTY] == code:
            rings = _polygons(feature["geometry"])
            largest = max(rings, key=lambda polygon: abs(_signed_area(polygon[0])))
            return _ring_centroid(largest[0])
    raise KeyError(code)


def _features(data: object, file: Path) -> list[dict[str, Any]]:
    """Return the features of a FeatureCollection, or raise naming what was found."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise ConfigError(
            "The boundary file of the regional map is not a GeoJSON FeatureCollection",
            expected='a JSON object with "type": "FeatureCollection"',
            found=f"type {found!r}",
            hint=_HINT,
            file=file,
        )
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise ConfigError(
            "The boundary file of the regional map has no features",
            expected="a non-empty `features` list",
            found=repr(features)[:80],
            hint=_HINT,
            file=file,
        )
    return features


def _feature_code(feature: object, index: int, file: Path) -> int:
    """Return a feature's region code after checking its shape."""
    where = f"features[{index}]"
    if not isinstance(feature, dict):
        raise ConfigError(
            f"Invalid feature at {where} in the regional map's GeoJSON",
            expected="a GeoJSON Feature object",
            found=type(feature).__name__,
            hint=_HINT,
            file=file,
        )
    geometry = feature.get("geometry")
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind not in _AREA_TYPES or not isinstance(geometry, dict):
        raise ConfigError(
            f"Invalid geometry at {where} in the regional map's GeoJSON",
            expected="a Polygon or MultiPolygon geometry",
            found=f"geometry type {kind!r}",
            hint=_HINT,
            file=file,
        )
    try:
        polygons = _polygons(geometry)
        valid = all(len(ring) >= 4 and all(len(p) >= 2 for p in ring) for ring in _rings(polygons))
    except TypeError:
        valid = False
    if not valid or not polygons:
        raise ConfigError(
            f"Invalid coordinates at {where} in the regional map's GeoJSON",
            expected="rings of at least 4 [lon, lat] positions",
            found=repr(geometry.get("coordinates"))[:80],
            hint=_HINT,
            file=file,
        )
    properties = feature.get("properties")
    code = properties.get(CODE_PROPERTY) if isinstance(properties, dict) else None
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        raise ConfigError(
            f"A feature of the regional map's GeoJSON has no region code at {where}",
            expected=f"an integer properties.{CODE_PROPERTY}",
            found=f"properties.{CODE_PROPERTY} = {code!r}",
            hint=_HINT,
            file=file,
        )
    return code


def _polygons(geometry: dict[str, Any]) -> list[list[Ring]]:
    """Return a geometry's polygons (each a list of rings: exterior first)."""
    coordinates = geometry["coordinates"]
    return [coordinates] if geometry["type"] == "Polygon" else list(coordinates)


def _rings(polygons: Collection[list[Ring]]) -> list[Ring]:
    """Flatten polygons into their rings."""
    return [ring for polygon in polygons for ring in polygon]


def _signed_area(ring: Ring) -> float:
    """Return the planar signed area of a ring in degrees² (positive: counter-clockwise)."""
    total = 0.0
    for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:] + ring[:1], strict=True):
        total += x0 * y1 - x1 * y0
    return total / 2.0


def _ring_centroid(ring: Ring) -> tuple[float, float]:
    """Return the area centroid of a ring (the mean vertex when it has no area)."""
    area = _signed_area(ring)
    if area == 0:
        return (
            sum(p[0] for p in ring) / len(ring),
            sum(p[1] for p in ring) / len(ring),
        )
    cx = cy = 0.0
    for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return cx / (6.0 * area), cy / (6.0 * area)


def _rewound(geometry: dict[str, Any]) -> dict[str, Any]:
    """Return a geometry with exterior rings clockwise and holes counter-clockwise (D3's way)."""
    polygons = [
        [
            [list(map(float, p[:2])) for p in ring]
            if (_signed_area(ring) < 0) == (index == 0)
            else [list(map(float, p[:2])) for p in reversed(ring)]
            for index, ring in enumerate(polygon)
        ]
        for polygon in _polygons(geometry)
    ]
    if geometry["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}
