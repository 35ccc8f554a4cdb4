import numpy as np
import pytest

from shared.analytics.paths import PathSet


def make_paths(rows, *, times=None):
    """PathSet from [(["a", "b"], conversions, value, nulls), ...]; times: per-path lists of
    (touch times, conversion time) in days."""
    labels: list[str] = []
    codes, offsets, conv, value, nulls = [], [0], [], [], []
    for names, c, v, n in rows:
        for name in names:
            if name not in labels:
                labels.append(name)
            codes.append(labels.index(name))
        offsets.append(len(codes))
        conv.append(c)
        value.append(v)
        nulls.append(n)
    touch_time = conv_time = None
    if times is not None:
        day = 86_400_000
        touch_time = np.array([int(t * day) for ts, _ in times for t in ts], dtype=np.int64)
        conv_time = np.array([int(end * day) for _, end in times], dtype=np.int64)
    return PathSet(
        labels,
        np.array(offsets, dtype=np.int64),
        np.array(codes, dtype=np.int32),
        np.array(conv, float),
        np.array(value, float),
        np.array(nulls, float),
        touch_time,
        conv_time,
    )


@pytest.fixture
def small_paths():
    return make_paths(
        [
            (["a", "b", "a"], 1, 10.0, 0),
            (["b"], 1, 5.0, 1),
            (["a", "c"], 0, 0.0, 2),
        ]
    )
