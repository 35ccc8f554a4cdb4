import pytest

from shared.analytics.models import MODELS, run_model

from .conftest import make_paths


def credit(paths, model, **kw):
    return run_model(paths, model, **kw).as_dict()


def test_first_and_last_touch_by_hand(small_paths):
    first = credit(small_paths, "first_touch")
    last = credit(small_paths, "last_touch")
    assert first["a"] == {"conversions": 1.0, "value": 10.0}
    assert first["b"] == {"conversions": 1.0, "value": 5.0}
    assert last["a"] == {"conversions": 1.0, "value": 10.0}
    assert last["b"] == {"conversions": 1.0, "value": 5.0}
    # c only appears on a path with no conversion: no credit in any rule-based model
    assert first["c"]["conversions"] == last["c"]["conversions"] == 0.0


def test_linear_counts_repeated_channels_per_touch(small_paths):
    lin = credit(small_paths, "linear")
    assert lin["a"]["conversions"] == pytest.approx(2 / 3)
    assert lin["b"]["conversions"] == pytest.approx(1 / 3 + 1)
    assert lin["a"]["value"] == pytest.approx(20 / 3)
    assert lin["b"]["value"] == pytest.approx(10 / 3 + 5)


def test_position_based_40_20_40():
    paths = make_paths(
        [(["a", "b", "c", "d"], 1, 100.0, 0), (["a", "b"], 2, 0.0, 0), (["e"], 1, 0.0, 0)]
    )
    pos = credit(paths, "position_based")
    assert pos["a"]["conversions"] == pytest.approx(0.4 + 2 * 0.5)
    assert pos["b"]["conversions"] == pytest.approx(0.1 + 2 * 0.5)
    assert pos["c"]["conversions"] == pytest.approx(0.1)
    assert pos["d"]["conversions"] == pytest.approx(0.4)
    assert pos["e"]["conversions"] == pytest.approx(1.0)
    assert pos["d"]["value"] == pytest.approx(40.0)


def test_time_decay_halves_every_seven_days():
    # touches 14 and 7 days before and on the day of conversion: weights 1/4 : 1/2 : 1
    paths = make_paths([(["a", "b", "c"], 1, 7.0, 0)], times=[([0, 7, 14], 14)])
    td = credit(paths, "time_decay")
    assert td["a"]["conversions"] == pytest.approx(0.25 / 1.75)
    assert td["b"]["conversions"] == pytest.approx(0.5 / 1.75)
    assert td["c"]["conversions"] == pytest.approx(1 / 1.75)
    assert td["c"]["value"] == pytest.approx(4.0)


def test_time_decay_ties_split_evenly():
    paths = make_paths([(["a", "b"], 1, 0.0, 0)], times=[([3, 3], 10)])
    td = credit(paths, "time_decay")
    assert td["a"]["conversions"] == pytest.approx(0.5)
    assert td["b"]["conversions"] == pytest.approx(0.5)


def test_time_decay_without_times_uses_steps():
    paths = make_paths([(["a", "b"], 1, 0.0, 0)])
    td = credit(paths, "time_decay", half_life_steps=1.0)
    assert td["a"]["conversions"] == pytest.approx(1 / 3)
    assert td["b"]["conversions"] == pytest.approx(2 / 3)


def test_single_touch_paths_get_all_credit_in_every_model():
    paths = make_paths([(["a"], 3, 30.0, 1), (["b"], 1, 5.0, 4)])
    for model in MODELS:
        got = credit(paths, model)
        assert got["a"]["conversions"] == pytest.approx(3.0), model
        assert got["b"]["conversions"] == pytest.approx(1.0), model
        assert got["a"]["value"] == pytest.approx(30.0), model


def test_every_model_hands_out_exactly_the_conversions(small_paths):
    for model in MODELS:
        c = run_model(small_paths, model)
        assert sum(c.conversions) == pytest.approx(2.0), model
        assert sum(c.value) == pytest.approx(15.0), model


def test_unknown_model_is_rejected(small_paths):
    from shared.analytics.errors import UnknownModelError

    with pytest.raises(UnknownModelError):
        run_model(small_paths, "magic")
