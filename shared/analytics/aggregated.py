"""Aggregated path files, the format attribution analysts exchange.

Columns ``path``, ``total_conversions``, ``total_conversion_value``, ``total_null`` (the last two
optional: value defaults to 0, nulls to 0); channels in ``path`` are joined by a separator
(``>`` by default) and stripped of surrounding spaces, so ``a > b`` and ``a>b`` are the same
path. A channel whose name holds the separator or a backslash is written with a backslash
before each (``tv \\> radio`` is the one channel ``tv > radio``); ``to_csv`` writes names so and
``parse_paths`` reads them back. Extra columns are ignored.

Numbers must be finite, non-negative and at most ``MAX_NUMBER`` (larger ones would overflow the
models' sums into infinities, which strict JSON parsers reject): anything else is refused with
the line it is on. A row whose path holds no channel cannot be credited to any channel: it is
skipped and counted (``PathSet.skipped``: rows, conversions, value, nulls), and its conversions
are reported as unattributed.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from .errors import PathFileError
from .paths import PathSet

REQUIRED = ("path", "total_conversions")
#: the largest number a cell may hold
MAX_NUMBER = 1e15
OPTIONAL = ("total_conversion_value", "total_null")


def _number(text: str, column: str, line: int) -> float:
    try:
        value = float(text) if text.strip() else 0.0
    except ValueError:
        raise PathFileError(f"{column} {text!r} is not a number", line=line) from None
    if not math.isfinite(value) or value < 0 or value > MAX_NUMBER:
        raise PathFileError(
            f"{column} {text!r} must be a finite number between 0 and {MAX_NUMBER:g}", line=line
        )
    return value


def split_path(text: str, sep: str) -> list[str]:
    """Channel names of a path cell: split on ``sep`` not preceded by a backslash, escapes
    removed, names stripped, empty names dropped."""
    if "\\" not in text:
        names = text.split(sep)
    else:
        names, part, i = [], [], 0
        while i < len(text):
            if text[i] == "\\" and i + 1 < len(text):
                part.append(text[i + 1])
                i += 2
            elif text.startswith(sep, i):
                names.append("".join(part))
                part = []
                i += len(sep)
            else:
                part.append(text[i])
                i += 1
        names.append("".join(part))
    return [n for n in (name.strip() for name in names) if n]


def escape_label(name: str, sep: str) -> str:
    """``name`` with a backslash before each backslash and separator character."""
    if "\\" not in name and sep not in name:
        return name
    return name.replace("\\", "\\\\").replace(sep, "".join("\\" + c for c in sep))


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
    skipped = {"rows": 0, "conversions": 0.0, "value": 0.0, "nulls": 0.0}
    for line, row in enumerate(reader, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise PathFileError(f"expected {len(header)} columns, found {len(row)}", line=line)
        names = split_path(row[col["path"]], sep)
        c = _number(row[col["total_conversions"]], "total_conversions", line)
        v = (
            _number(row[col["total_conversion_value"]], "total_conversion_value", line)
            if "total_conversion_value" in col
            else 0.0
        )
        n = _number(row[col["total_null"]], "total_null", line) if "total_null" in col else 0.0
        if not names:
            skipped["rows"] += 1
            skipped["conversions"] += c
            skipped["value"] += v
            skipped["nulls"] += n
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
        unattributed_conversions=skipped["conversions"],
        unattributed_value=skipped["value"],
        skipped=skipped,
    )


def to_csv(paths: PathSet, *, sep: str = " > ") -> str:
    """Aggregate a ``PathSet`` (e.g. from events) into the path-file format."""
    rows: dict[str, list[float]] = {}
    core = sep.strip() or sep
    escaped = [escape_label(label, core) for label in paths.labels]
    texts = [
        sep.join(escaped[c] for c in paths.touch_label[a:b].tolist())
        for a, b in zip(paths.offsets[:-1].tolist(), paths.offsets[1:].tolist(), strict=True)
    ]
    for p, text in enumerate(texts):
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
