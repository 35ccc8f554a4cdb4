"""Aggregated path files, the format attribution analysts exchange.

Columns ``path``, ``total_conversions``, ``total_conversion_value``, ``total_null`` (the last two
optional: value defaults to 0, nulls to 0); channels in ``path`` are joined by a separator
(``>`` by default) and stripped of surrounding spaces, so ``a > b`` and ``a>b`` are the same
path. Extra columns are ignored. Numbers must be finite and non-negative. Empty paths are
skipped (a path with no touch cannot be credited to any channel).
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from .errors import PathFileError
from .paths import PathSet

REQUIRED = ("path", "total_conversions")
OPTIONAL = ("total_conversion_value", "total_null")


def _number(text: str, column: str, line: int) -> float:
    try:
        value = float(text) if text.strip() else 0.0
    except ValueError:
        raise PathFileError(f"{column} {text!r} is not a number", line=line) from None
    if not math.isfinite(value) or value < 0:
        raise PathFileError(f"{column} {text!r} must be a finite number >= 0", line=line)
    return value


def parse_paths(text: str, *, sep: str = ">") -> PathSet:
    """Parse the CSV text of an aggregated path file into a ``PathSet`` (no times)."""
    if not sep.strip():
        raise PathFileError("separator must contain a non-space character")
    sep = sep.strip()
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise PathFileError("file is empty", line=1) from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise PathFileError(
            f"header must name columns {', '.join(REQUIRED + OPTIONAL)}; missing "
            f"{', '.join(missing)}",
            line=1,
        )
    col = {name: header.index(name) for name in REQUIRED + OPTIONAL if name in header}
    index: dict[str, int] = {}
    labels: list[int] = []
    offsets = [0]
    conv: list[float] = []
    value: list[float] = []
    nulls: list[float] = []
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise PathFileError(f"expected {len(header)} columns, found {len(row)}", line=line)
        names = [c.strip() for c in row[col["path"]].split(sep)]
        names = [c for c in names if c]
        c = _number(row[col["total_conversions"]], "total_conversions", line)
        v = (
            _number(row[col["total_conversion_value"]], "total_conversion_value", line)
            if "total_conversion_value" in col
            else 0.0
        )
        n = _number(row[col["total_null"]], "total_null", line) if "total_null" in col else 0.0
        if not names:
            continue
        for name in names:
            code = index.get(name)
            if code is None:
                code = index[name] = len(index)
            labels.append(code)
        offsets.append(len(labels))
        conv.append(c)
        value.append(v)
        nulls.append(n)
    return PathSet(
        labels=list(index),
        offsets=np.asarray(offsets, dtype=np.int64),
        touch_label=np.asarray(labels, dtype=np.int32),
        conversions=np.asarray(conv, dtype=float),
        value=np.asarray(value, dtype=float),
        nulls=np.asarray(nulls, dtype=float),
    )


def to_csv(paths: PathSet, *, sep: str = " > ") -> str:
    """Aggregate a ``PathSet`` (e.g. from events) into the path-file format."""
    rows: dict[str, list[float]] = {}
    for p, text in enumerate(paths.path_strings(sep=sep)):
        acc = rows.setdefault(text, [0.0, 0.0, 0.0])
        acc[0] += paths.conversions[p]
        acc[1] += paths.value[p]
        acc[2] += paths.nulls[p]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED + OPTIONAL)
    for text, (c, v, n) in rows.items():
        if text:
            writer.writerow([text, f"{c:g}", f"{v:.2f}", f"{n:g}"])
    return out.getvalue()
