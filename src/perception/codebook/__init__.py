"""Codebooks: from source survey files to one harmonized table per wave, and back from disk.

- :mod:`.apply`: ``harmonize``/``harmonize_file`` apply a wave's codebook (the models are in
  :mod:`perception.config.codebook`);
- :mod:`.storage`: ``write_harmonized``/``read_harmonized`` keep the table as Parquet with its
  bilingual value labels;
- :mod:`.checks`: ``check_harmonized`` lists rule violations for the pipeline's asset checks;
- :mod:`.values`: source values, keys and names as harmonization and scaffolding read them;
- :mod:`.scaffold`: drafting a codebook from a file's own metadata (``perception codebook init``).
"""

from __future__ import annotations

from perception.codebook.apply import (
    FILTER_ATTR,
    ID_SECRET_FILE,
    PseudonymisationWarning,
    harmonize,
    harmonize_file,
)
from perception.codebook.checks import Finding, check_harmonized
from perception.codebook.scaffold import (
    VariableSuggestion,
    codebook_stub,
    render_codebook_stub,
    suggest_codebook,
)
from perception.codebook.storage import (
    harmonized_labels,
    read_harmonized,
    read_harmonized_labels,
    write_harmonized,
)
from perception.codebook.values import SourceMetadata

__all__ = [
    "FILTER_ATTR",
    "ID_SECRET_FILE",
    "Finding",
    "PseudonymisationWarning",
    "SourceMetadata",
    "VariableSuggestion",
    "check_harmonized",
    "codebook_stub",
    "harmonize",
    "harmonize_file",
    "harmonized_labels",
    "read_harmonized",
    "read_harmonized_labels",
    "render_codebook_stub",
    "suggest_codebook",
    "write_harmonized",
]
