"""Arrays diffed item by item: one change per inserted, removed or moved item, standard JSON Patch."""

import copy
import random

import jsonpatch
import pytest

from flowops.domain import selection
from flowops.domain.arrays import align, identifying_key
from flowops.domain.diff import Change, diff, json_equal
from flowops.domain.patch import apply_changes, from_ops, to_ops

STEPS = [{"id": f"s{i}", "title": f"Step {i}", "fields": ["email", "password"]} for i in range(8)]


def ops(old, new):
    return [(c.op, c.source, c.path) if c.op == "move" else (c.op, c.path) for c in diff(old, new)]


def test_one_inserted_item_is_one_add_at_its_index():
    new = STEPS[:3] + [{"id": "x", "title": "New"}] + STEPS[3:]
    assert diff({"steps": STEPS}, {"steps": new}) == [Change("add", "/steps/3", new={"id": "x", "title": "New"})]


def test_one_removed_item_is_one_remove_with_its_old_value():
    new = STEPS[:2] + STEPS[3:]
    assert diff({"steps": STEPS}, {"steps": new}) == [Change("remove", "/steps/2", old=STEPS[2])]


def test_a_moved_item_is_one_move():
    new = [STEPS[5]] + STEPS[:5] + STEPS[6:]
    assert ops({"steps": STEPS}, {"steps": new}) == [("move", "/steps/5", "/steps/0")]
    new = STEPS[1:7] + [STEPS[0], STEPS[7]]
    assert ops({"steps": STEPS}, {"steps": new}) == [("move", "/steps/0", "/steps/6")]


def test_an_item_moved_and_edited_is_a_move_then_the_edit_at_its_new_index():
    moved = dict(STEPS[5], title="Renamed")
    new = [moved] + STEPS[:5] + STEPS[6:]
    assert diff({"steps": STEPS}, {"steps": new}) == [
        Change("move", "/steps/0", STEPS[5], STEPS[5], source="/steps/5"),
        Change("replace", "/steps/0/title", "Step 5", "Renamed"),
    ]


def test_items_identified_by_key_are_compared_inside_wherever_they_are():
    new = copy.deepcopy(STEPS)
    new[4]["fields"].append("captcha")
    new.insert(1, {"id": "x"})
    assert ops({"steps": STEPS}, {"steps": new}) == [("add", "/steps/1"), ("add", "/steps/5/fields/2")]


def test_identifying_key_needs_unique_values_on_both_sides():
    assert identifying_key([{"id": 1}], [{"id": 2}]) == "id"
    assert identifying_key([{"name": "a", "id": 1}], [{"name": "b"}]) == "name"
    assert identifying_key([{"key": "a"}, {"key": "a"}], [{"key": "a"}]) is None
    assert identifying_key([{"id": True}], [{"id": True}]) is None  # not a string or integer
    assert identifying_key(["a"], ["b"]) is None


def test_texts_edited_in_place_are_replacements_of_that_item():
    assert diff(["a", "b", "c"], ["a", "B", "c"]) == [Change("replace", "/1", "b", "B")]
    assert ops(["a", "b", "c"], ["a", "b", "x", "c"]) == [("add", "/2")]
    assert ops(["a", "b", "c"], ["c", "a", "b"]) == [("move", "/2", "/0")]


def test_strict_json_equality_of_items():
    assert diff([1, True], [True, 1]) != []
    assert diff([1], [1.0]) == [Change("replace", "/0", 1, 1.0)]


def test_repeated_items_still_give_a_correct_patch():
    old, new = ["a", "a", "b", "a"], ["b", "a", "a", "a", "a"]
    assert apply_changes(old, diff(old, new)) == new


def _random_value(rng, depth):
    roll = rng.random()
    if depth > 2 or roll < 0.35:
        return rng.choice([0, 1, 1.0, True, None, "a", "b", "c", "t" * rng.randint(1, 3)])
    if roll < 0.6:
        return {rng.choice("abcdef"): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if roll < 0.8:
        return [{"id": f"k{i}", "v": _random_value(rng, depth + 1)} for i in rng.sample(range(9), rng.randint(0, 6))]
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 6))]


def _mutate(rng, value, depth=0):
    value = copy.deepcopy(value)
    if isinstance(value, list) and value:
        roll = rng.random()
        if roll < 0.25:
            value.insert(
                rng.randint(0, len(value)), copy.deepcopy(rng.choice(value)) if rng.random() < 0.3 else _random_value(rng, depth)
            )
        elif roll < 0.5:
            del value[rng.randrange(len(value))]
        elif roll < 0.7:
            value.insert(rng.randint(0, len(value) - 1), value.pop(rng.randrange(len(value))))
        else:
            i = rng.randrange(len(value))
            value[i] = _mutate(rng, value[i], depth + 1)
        return value
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(sorted(value))
        value[key] = _mutate(rng, value[key], depth + 1)
        return value
    return _random_value(rng, depth)


@pytest.mark.parametrize("seed", range(300))
def test_random_documents_round_trip_through_our_patch_and_jsonpatch(seed):
    rng = random.Random(seed)
    old = {"doc": _random_value(rng, 0), "steps": _random_value(rng, 1)}
    new = old
    for _ in range(rng.randint(1, 4)):
        new = _mutate(rng, new)
    changes = diff(old, new)
    assert json_equal(apply_changes(old, changes), new)
    # Standard JSON Patch: a generic tool applies the same operations the same way.
    standard = jsonpatch.apply_patch(copy.deepcopy(old), to_ops(changes))
    assert json_equal(standard, new)
    assert json_equal(apply_changes(old, from_ops(to_ops(changes))), new)  # what a stored Delta holds
    # Any single change's path, as a pointer, selects a part that applies cleanly.
    for c in changes[:5]:
        for setting in ("include", "exclude"):
            kwargs = {setting: [c.path]}
            try:
                selected, result = selection.select(old, new, **kwargs)
            except selection.PointerMatchesNothing:
                continue
            assert json_equal(apply_changes(old, selected), result)


def test_long_arrays_align_to_one_insertion_and_one_move():
    old = [{"id": i, "v": i} for i in range(20_000)]
    new = old[:10_000] + [{"id": "new"}] + old[10_000:]
    new = [new[-1]] + new[:-1]  # and one move
    al = align(old, new, json_equal)
    assert len(al.moves) == 1 and al.inserted == [10_001] and not al.removed
