"""Read an export file as text, keeping each row's line number and the file's SHA-256.

Every cell is kept as the original string, so a quarantined row can be shown exactly as it was
in the file; missing-value tokens are interpreted later, by the mapping.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import lzma
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.ingest.errors import IngestError
from toolkit.ingest.mapping import ReadOptions

DECOMPRESS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
# The longest cell accepted, in characters. Real exports keep descriptions and work notes far
# below it; a longer one is most often an unbalanced quote that swallowed the rest of the file.
MAX_FIELD_CHARS = 1 << 20


@dataclass
class SourceFile:
    """One input file, read.

    Parameters
    ----------
    path : Path
        The file as given.
    sha256 : str
        SHA-256 of the file's bytes as stored (compressed, if it is).
    frame : DataFrame
        One row per data row, every cell the original string.
    lines : ndarray of int
        The physical line (1 = the header) on which each row starts.
    """

    path: Path
    sha256: str
    frame: pd.DataFrame
    lines: np.ndarray


def _refuse_huge_fields(frame: pd.DataFrame, path: Path) -> None:
    """Refuse a file with a cell longer than :data:`MAX_FIELD_CHARS`, naming row and column."""
    for column in frame.columns:
        lengths = frame[column].str.len().to_numpy(dtype=float, na_value=0)
        if len(lengths) and lengths.max() > MAX_FIELD_CHARS:
            row = int(lengths.argmax())
            raise IngestError(
                f"{path}: data row {row + 1}, column {column!r}: a field of "
                f"{int(lengths[row]):,} characters, more than {MAX_FIELD_CHARS:,} "
                "(an unbalanced quote?)"
            )


def _record_lines(
    payload: bytes, frame: pd.DataFrame, options: ReadOptions, path: Path
) -> np.ndarray:
    """Return the line on which each data row starts, refusing fields that are too long.

    Rows are one line each unless a quoted field holds a line break; only then is the file
    parsed a second time, with Python's csv module, to find where each record starts. Without
    such fields no cell is longer than its line, so cells are measured only when a line is
    longer than :data:`MAX_FIELD_CHARS` bytes.
    """
    rows = len(frame)
    newlines = np.flatnonzero(np.frombuffer(payload, dtype=np.uint8) == ord("\n"))
    physical = len(newlines) + (0 if payload.endswith(b"\n") else 1)
    if physical == rows + 1:
        longest = np.diff(newlines, prepend=-1, append=len(payload)).max(initial=0)
        if longest > MAX_FIELD_CHARS:
            _refuse_huge_fields(frame, path)
        return np.arange(2, rows + 2)
    text = io.StringIO(payload.decode(options.encoding), newline="")
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(text, delimiter=options.separator)
    try:
        ends = np.fromiter((reader.line_num for _ in reader), dtype=np.int64)
    except csv.Error as exc:
        raise IngestError(
            f"{path}: line {reader.line_num}: not readable as CSV ({exc}; an unbalanced quote?)"
        ) from None
    if len(ends) != rows + 1:
        raise IngestError(f"{path}: rows cannot be matched to lines (malformed quoting?)")
    return ends[:-1] + 1


def read_source(path: str | Path, options: ReadOptions) -> SourceFile:
    """Read one export file (optionally .gz, .bz2 or .xz compressed).

    Parameters
    ----------
    path : str or Path
        The file.
    options : ReadOptions
        Separator and encoding from the mapping.

    Returns
    -------
    SourceFile

    Raises
    ------
    IngestError
        If the file is missing, unreadable, empty, not in the encoding, not CSV, has a row
        longer than its header or a field longer than :data:`MAX_FIELD_CHARS`.
    """
    path = Path(path)
    if path.exists() and not path.is_file() and not path.is_dir():
        # A pipe or a device (/dev/stdin, /dev/zero) could block or never end.
        raise IngestError(f"{path}: not a regular file (a pipe or a device?)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise IngestError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise IngestError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise IngestError(f"{path}: cannot be read ({exc.strerror})") from None
    decompress = DECOMPRESS.get(path.suffix.lower())
    try:
        payload = decompress(data) if decompress else data
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise IngestError(f"{path}: not a valid {path.suffix} file ({exc})") from None
    try:
        with warnings.catch_warnings():
            # A row longer than the header: an error, not a warning and lost cells.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.BytesIO(payload),
                sep=options.separator,
                encoding=options.encoding,
                dtype=object,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,  # never take surplus leading cells as an index
            )
    except pd.errors.ParserWarning:
        raise IngestError(
            f"{path}: not readable as CSV (a row has more fields than the header)"
        ) from None
    except pd.errors.EmptyDataError:
        raise IngestError(f"{path}: file is empty") from None
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not {options.encoding} text ({exc.reason})") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise IngestError(f"{path}: not readable as CSV ({detail})") from None
    lines = _record_lines(payload, frame, options, path)
    return SourceFile(path, hashlib.sha256(data).hexdigest(), frame, lines)
