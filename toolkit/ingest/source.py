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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.ingest.errors import IngestError
from toolkit.ingest.mapping import ReadOptions

DECOMPRESS = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}


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


def _record_lines(payload: bytes, rows: int, options: ReadOptions, path: Path) -> np.ndarray:
    """Return the line on which each data row starts.

    Rows are one line each unless a quoted field holds a line break; only then is the file
    parsed a second time, with Python's csv module, to find where each record starts.
    """
    physical = payload.count(b"\n") + (0 if payload.endswith(b"\n") else 1)
    if physical == rows + 1:
        return np.arange(2, rows + 2)
    text = io.StringIO(payload.decode(options.encoding), newline="")
    reader = csv.reader(text, delimiter=options.separator)
    ends = np.fromiter((reader.line_num for _ in reader), dtype=np.int64)
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
        If the file is missing, unreadable, empty, not in the encoding or not CSV.
    """
    path = Path(path)
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
        frame = pd.read_csv(
            io.BytesIO(payload),
            sep=options.separator,
            encoding=options.encoding,
            dtype=object,
            na_filter=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        raise IngestError(f"{path}: file is empty") from None
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not {options.encoding} text ({exc.reason})") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).strip().splitlines()[-1]
        raise IngestError(f"{path}: not readable as CSV ({detail})") from None
    lines = _record_lines(payload, len(frame), options, path)
    return SourceFile(path, hashlib.sha256(data).hexdigest(), frame, lines)
