"""Atomic, deterministic writes of processed outputs: a reader never sees a half-written file."""

from __future__ import annotations

import glob
import hashlib
import os
import pickle
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO, Generic, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

TEMP_SUFFIX = ".tmp"


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write through ``write`` to a temporary file beside ``path``, fsync, then rename over it.

    First it deletes the hidden temporary files of ``path`` that an earlier write left behind
    when it was killed (``SIGKILL`` runs no cleanup): one writer at a time per file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(target)
    handle, temp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def sweep_temporaries(path: Path) -> list[Path]:
    """Delete the leftover temporary files of ``path`` (``.<name>.*.tmp`` beside it)."""
    swept = []
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*{TEMP_SUFFIX}"):
        if leftover.is_file() and not leftover.is_symlink():
            leftover.unlink(missing_ok=True)
            swept.append(leftover)
    return swept


def write_parquet(
    df: pd.DataFrame, path: str | Path, metadata: Mapping[str, str] | None = None
) -> Path:
    """Write a DataFrame atomically as zstd Parquet, with optional schema metadata."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if metadata:
        extra = {key.encode(): value.encode("utf-8") for key, value in metadata.items()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
    return atomic_write(path, lambda stream: pq.write_table(table, stream, compression="zstd"))


def fsync_dir(folder: Path) -> None:
    """Flush a folder entry to disk so a rename survives a crash (no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


V = TypeVar("V")


class Recent(Generic[V]):
    """Values made in this process by the digest of their inputs; the ``size`` last used kept."""

    def __init__(self, size: int) -> None:
        """Keep at most ``size`` values."""
        self.size = size
        self._values: OrderedDict[str, V] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        """Whether a value is kept under ``key``."""
        return key in self._values

    def put(self, key: str, value: V) -> None:
        """Keep ``value`` under ``key``, dropping the least recently used beyond ``size``."""
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.size:
            self._values.popitem(last=False)

    def get(self, key: str, make: Callable[[], V]) -> V:
        """Return the value kept under ``key``, made by ``make()`` (and kept) when absent."""
        if key not in self._values:
            self.put(key, make())
        self._values.move_to_end(key)
        return self._values[key]

    def clear(self) -> None:
        """Forget every value."""
        self._values.clear()


def content_sha256(*parts: object) -> str:
    """Return the SHA-256 of ``parts``: a DataFrame by its column names, dtypes and values.

    Equal digests mean equal content (not equal memory layout), so a function of the parts
    may reuse a result computed from parts with the same digest.
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            part = [(str(c), str(v.dtype), _values(v)) for c, v in part.items()]
        digest.update(pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL))
    return digest.hexdigest()


def _values(column: pd.Series) -> object:
    """Return a column's values in a form that decides them and pickles fast."""
    values = column.array
    if isinstance(values, pd.arrays.ArrowStringArray):  # the validity, offsets and bytes
        text = pa.array(values)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        if not len(text):
            return ()
        wide = pa.types.is_large_string(text.type)
        offsets = np.frombuffer(text.buffers()[1], np.int64 if wide else np.int32)
        offsets = offsets[text.offset : text.offset + len(text) + 1]
        data = memoryview(text.buffers()[2] or b"")[offsets[0] : offsets[-1]]
        return text.is_valid().to_numpy(zero_copy_only=False), offsets - offsets[0], bytes(data)
    if isinstance(values, pd.arrays.IntegerArray | pd.arrays.BooleanArray):
        return values.fillna(values.dtype.type(0)).to_numpy(), values.isna()
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biufcmM":
        return column.to_numpy()
    return column.tolist()
