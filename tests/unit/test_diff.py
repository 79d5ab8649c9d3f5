import copy
import json

import pytest

from flowops.domain import selection
from flowops.domain.diff import MISSING, Change, changed_paths_count, diff
from flowops.domain.patch import apply_changes
from flowops.domain.plansummary import summarise as plan
from flowops.domain.pointer import escape_token, join_pointer, split_pointer, unescape_token
from flowops.domain.selection import PointerMatchesNothing


def select_changes(old, new, include=(), exclude=()):
    return selection.select(old, new, include, exclude)[0]


# A small identity flow: forms referencing fields, translations.
OLD = {
    "forms": {
        "signIn": {"fields": [{"name": "identifier"}, {"name": "password"}], "title": "t.signin"},
        "recovery": {"fields": [{"name": "email"}]},
    },
    "translations": {"en": {"t.signin": "Sign in", "t.rec": "Recover"}, "de": {"t.signin": "Anmelden"}},
    "version": 1,
}


def edited():
    new = copy.deepcopy(OLD)
    new["forms"]["signIn"]["fields"].append({"name": "captcha"})  # one item added
    new["forms"]["signIn"]["title"] = "t.login"
    del new["forms"]["recovery"]
    new["forms"]["registration"] = {"fields": [{"name": "email"}, {"name": "password"}], "title": "t.reg"}
    new["translations"]["de"]["t.rec"] = "Wiederherstellen"
    new["translations"]["en"]["t.signin"] = "Log in"
    new["version"] = 2
    return new


NEW = edited()


# --- pointers -------------------------------------------------------------------------------


def test_pointer_escaping_per_rfc6901():
    assert escape_token("a/b~c") == "a~1b~0c"
    assert unescape_token("a~1b~0c") == "a/b~c"
    assert unescape_token("~01") == "~1"  # not "/"
    assert join_pointer(["a/b", 0, "~"]) == "/a~1b/0/~0"
    assert split_pointer("/a~1b/0/~0") == ["a/b", "0", "~"]
    assert split_pointer("") == []
    assert split_pointer("/") == [""]


@pytest.mark.parametrize("bad", ["a/b", "/a~2", "/~"])
def test_invalid_pointers_are_refused(bad):
    with pytest.raises(ValueError, match="JSON Pointer"):
        split_pointer(bad)


# --- diff ---------------------------------------------------------------------------------


def test_diff_is_deterministic_and_in_traversal_order():
    changes = diff(OLD, NEW)
    assert [(c.op, c.path) for c in changes] == [
        ("remove", "/forms/recovery"),
        ("add", "/forms/registration"),
        ("add", "/forms/signIn/fields/2"),
        ("replace", "/forms/signIn/title"),
        ("add", "/translations/de/t.rec"),
        ("replace", "/translations/en/t.signin"),
        ("replace", "/version"),
    ]
    assert changes == diff(copy.deepcopy(OLD), copy.deepcopy(NEW))
    assert changes[0].old == {"fields": [{"name": "email"}]} and changes[0].new is MISSING
    assert changes[1].old is MISSING
    assert changes[3] == Change("replace", "/forms/signIn/title", "t.signin", "t.login")


def test_equal_documents_have_no_changes():
    assert diff(OLD, copy.deepcopy(OLD)) == []
    assert changed_paths_count(OLD, copy.deepcopy(OLD)) == 0


def test_same_length_lists_are_compared_element_wise():
    assert diff({"l": [1, {"a": 1}, 3]}, {"l": [1, {"a": 2}, 3]}) == [Change("replace", "/l/1/a", 1, 2)]


def test_type_changes_and_json_types_are_replacements():
    assert diff({"a": 1}, {"a": True}) == [Change("replace", "/a", 1, True)]
    assert diff({"a": 1}, {"a": 1.0}) == [Change("replace", "/a", 1, 1.0)]
    assert diff({"a": {"x": 1}}, {"a": [1]}) == [Change("replace", "/a", {"x": 1}, [1])]
    assert diff({"a": None}, {"a": 0}) == [Change("replace", "/a", None, 0)]
    assert diff(1, 2) == [Change("replace", "", 1, 2)]


def test_keys_needing_escapes():
    changes = diff({"a/b": {"~x": 1}}, {"a/b": {"~x": 2}})
    assert changes[0].path == "/a~1b/~0x"
    assert apply_changes({"a/b": {"~x": 1}}, changes) == {"a/b": {"~x": 2}}


def test_changed_paths_count():
    assert changed_paths_count(OLD, NEW) == 7


# --- apply --------------------------------------------------------------------------------


def test_apply_round_trips_and_never_mutates_input():
    before_old, before_new = json.dumps(OLD, sort_keys=True), json.dumps(NEW, sort_keys=True)
    result = apply_changes(OLD, diff(OLD, NEW))
    assert result == NEW
    assert json.dumps(OLD, sort_keys=True) == before_old and json.dumps(NEW, sort_keys=True) == before_new


def test_apply_copies_only_changed_paths():
    doc = {"big": {"k%d" % i: {"v": i} for i in range(100)}, "other": {"x": [1, 2]}, "n": 1}
    result = apply_changes(doc, [Change("replace", "/big/k5/v", 5, 50)])
    assert result["big"]["k5"] == {"v": 50} and doc["big"]["k5"] == {"v": 5}
    assert result["other"] is doc["other"]  # untouched subtree is shared
    assert result["big"]["k6"] is doc["big"]["k6"]
    assert result["big"] is not doc["big"]


def test_apply_many_changes_in_one_container():
    doc = {"t": {f"k{i}": str(i) for i in range(1000)}}
    new = {"t": {f"k{i}": (str(i) + "!" if i % 2 else str(i)) for i in range(1000)}}
    assert apply_changes(doc, diff(doc, new)) == new
    assert doc["t"]["k1"] == "1"


def test_apply_whole_document_and_arrays():
    assert apply_changes({"a": 1}, [Change("replace", "", {"a": 1}, [1])]) == [1]
    assert apply_changes({"l": [1, 3]}, [Change("add", "/l/1", new=2)]) == {"l": [1, 2, 3]}
    assert apply_changes({"l": [1]}, [Change("add", "/l/-", new=2)]) == {"l": [1, 2]}
    assert apply_changes({"l": [1, 2, 3]}, [Change("remove", "/l/0")]) == {"l": [2, 3]}
    assert apply_changes({"l": [1, 2]}, [Change("replace", "/l/1", 2, 9)]) == {"l": [1, 9]}


@pytest.mark.parametrize(
    "change,fragment",
    [
        (Change("replace", "/missing/x", new=1), "cannot replace /missing/x: /missing does not exist"),
        (Change("remove", "/nope"), "cannot remove /nope: it does not exist"),
        (Change("add", "/a", new=1), "cannot add /a: it already exists"),
        (Change("replace", "/a/x", new=1), "/a is a number"),
        (Change("replace", "/l/5", new=1), "index 5 is out of range"),
        (Change("replace", "/l/x", new=1), "not an array index"),
        (Change("replace", "/l/01", new=1), "not an array index"),
        (Change("remove", ""), "cannot remove the whole document"),
        (Change("replace", "/a"), "no new value"),
    ],
)
def test_apply_errors_name_the_path(change, fragment):
    with pytest.raises(ValueError) as err:
        apply_changes({"a": 1, "l": [0]}, [change])
    assert fragment in str(err.value)


# --- partial promotion ------------------------------------------------------------------------


def promote(include=(), exclude=()):
    """What the target (OLD) looks like after promoting the selected part of NEW."""
    changes, result = selection.select(OLD, NEW, include, exclude)
    assert apply_changes(OLD, changes) == result  # the plan writes exactly the result
    return result


def test_no_pointers_selects_everything():
    changes, result = selection.select(OLD, NEW)
    assert changes == diff(OLD, NEW) and result is NEW


def test_include_selects_changes_at_or_below_the_pointer():
    selected = select_changes(OLD, NEW, include=["/translations"])
    assert [c.path for c in selected] == ["/translations/de/t.rec", "/translations/en/t.signin"]
    result = promote(include=["/translations/en/t.signin"])
    assert result["translations"]["en"]["t.signin"] == "Log in"
    assert result["translations"]["de"] == OLD["translations"]["de"]
    assert result["forms"] == OLD["forms"] and result["version"] == 1


def test_include_of_one_inserted_item_promotes_only_that_item():
    old = {"fields": [{"name": "a"}, {"name": "b"}]}
    new = {"fields": [{"name": "A"}, {"name": "b"}, {"name": "c"}]}
    # Items are identified by name: "a" went, "A" and "c" came.
    assert [(c.op, c.path) for c in diff(old, new)] == [("remove", "/fields/0"), ("add", "/fields/0"), ("add", "/fields/2")]
    assert select_changes(old, new, include=["/fields/2"]) == [Change("add", "/fields/2", new={"name": "c"})]
    # The index of a removed item is its index in the target; of anything else, in the source.
    selected = select_changes(old, new, include=["/fields/0"])
    assert apply_changes(old, selected) == {"fields": [{"name": "A"}, {"name": "b"}]}


def test_include_below_an_edited_item_narrows_it():
    old = {"steps": [{"id": "s1", "title": "a", "n": 1}, {"id": "s2", "title": "b", "n": 2}]}
    new = {"steps": [{"id": "s0", "title": "z"}, {"id": "s1", "title": "A", "n": 9}, {"id": "s2", "title": "b", "n": 2}]}
    selected = select_changes(old, new, include=["/steps/1/title"])
    assert selected == [Change("replace", "/steps/0/title", "a", "A")]  # s1 is item 0 in the target


def test_include_below_an_added_object_adds_only_that_part():
    selected = select_changes(OLD, NEW, include=["/forms/registration/fields/0"])
    # The target has no registration form: the part is added with its parents, nothing else.
    assert selected == [Change("add", "/forms/registration", new={"fields": [{"name": "email"}]})]
    assert promote(include=["/forms/registration/title"])["forms"]["registration"] == {"title": "t.reg"}


def test_include_below_a_removed_object_removes_only_that_part():
    result = promote(include=["/forms/recovery/fields"])
    assert result["forms"]["recovery"] == {}


def test_include_of_a_later_inserted_item_alone():
    old, new = {"l": [1]}, {"l": [1, 2, 3]}
    assert select_changes(old, new, include=["/l/2"]) == [Change("add", "/l/1", new=3)]
    assert select_changes(old, new, include=["/l/1"]) == [Change("add", "/l/1", new=2)]


def test_a_move_is_selected_by_the_items_index_in_the_source():
    old = {"steps": [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "d"}]}
    new = {"steps": [{"id": "b"}, {"id": "c"}, {"id": "a"}, {"id": "x"}, {"id": "d"}]}
    assert [(c.op, c.source, c.path) for c in diff(old, new)] == [("move", "/steps/0", "/steps/2"), ("add", None, "/steps/3")]
    assert apply_changes(old, select_changes(old, new, include=["/steps/2"]))["steps"] == new["steps"][:3] + [{"id": "d"}]
    assert apply_changes(old, select_changes(old, new, exclude=["/steps/2"]))["steps"] == [
        {"id": "a"},
        {"id": "b"},
        {"id": "c"},
        {"id": "x"},
        {"id": "d"},
    ]


def test_exclude_drops_changes_at_or_below_the_pointer():
    result = promote(exclude=["/forms", "/version"])
    assert result["forms"] == OLD["forms"] and result["version"] == 1
    assert result["translations"] == NEW["translations"]


def test_exclude_below_a_coarse_change_keeps_the_old_sub_value():
    result = promote(exclude=["/forms/registration/title", "/forms/signIn/fields/2"])
    assert result["forms"]["registration"] == {"fields": NEW["forms"]["registration"]["fields"]}
    # The added captcha field stays out; the title change next to it is still promoted.
    assert result["forms"]["signIn"] == {"fields": OLD["forms"]["signIn"]["fields"], "title": "t.login"}
    old, new = {"l": [1, 2]}, {"l": [3, 4, 5]}
    assert select_changes(old, new, exclude=["/l/0"]) == [Change("replace", "/l/1", 2, 4), Change("add", "/l/2", new=5)]
    old, new = {"l": [[1, 2]]}, {"l": [[3, 4, 5]]}
    assert select_changes(old, new, exclude=["/l/0/2"]) == [Change("replace", "/l/0/0", 1, 3), Change("replace", "/l/0/1", 2, 4)]


def test_exclude_below_a_removal_keeps_that_part():
    result = promote(exclude=["/forms/recovery/fields/0/name"])
    assert result["forms"]["recovery"] == {"fields": [{"name": "email"}]}
    result = promote(include=["/forms"], exclude=["/forms/recovery"])
    assert result["forms"]["recovery"] == OLD["forms"]["recovery"]
    assert result["forms"]["signIn"] == NEW["forms"]["signIn"]


def test_include_and_exclude_combine():
    result = promote(include=["/translations"], exclude=["/translations/de"])
    assert result["translations"] == {"en": NEW["translations"]["en"], "de": OLD["translations"]["de"]}
    assert result["forms"] == OLD["forms"]


def test_pointer_matching_nothing_lists_the_paths_that_differ():
    with pytest.raises(PointerMatchesNothing) as err:
        select_changes(OLD, NEW, include=["/forms/x"])
    e = err.value
    assert isinstance(e, ValueError)
    assert e.pointer == "/forms/x"
    assert e.available == [c.path for c in diff(OLD, NEW)]
    assert str(e).startswith(
        "changes.include pointer /forms/x matches no change; paths that differ: /forms/recovery, /forms/registration"
    )


def test_pointer_below_a_change_but_on_an_unchanged_part_matches_nothing():
    with pytest.raises(PointerMatchesNothing):
        select_changes(OLD, NEW, include=["/forms/signIn/fields/0"])  # identifier is unchanged
    with pytest.raises(PointerMatchesNothing, match="changes.exclude pointer /translations/fr"):
        select_changes(OLD, NEW, exclude=["/translations/fr"])
    with pytest.raises(PointerMatchesNothing):
        select_changes({"l": [1]}, {"l": [1, 2]}, include=["/l/-"])


def test_pointer_message_truncates_long_path_lists():
    old = {f"k{i:02d}": i for i in range(15)}
    new = {k: v + 1 for k, v in old.items()}
    with pytest.raises(PointerMatchesNothing) as err:
        select_changes(old, new, include=["/zzz"])
    assert str(err.value).endswith("/k09 (and 5 more)")
    assert len(err.value.available) == 15


# --- plan ---------------------------------------------------------------------------------------


def test_plan_lists_ops_paths_and_values():
    p = plan(diff(OLD, NEW))
    assert p["total"] == 7 and p["truncated"] is False
    by_path = {c["path"]: c for c in p["changes"]}
    assert by_path["/forms/signIn/title"] == {"op": "replace", "path": "/forms/signIn/title", "old": "t.signin", "new": "t.login"}
    assert "old" not in by_path["/forms/registration"] and by_path["/forms/registration"]["new"]["title"] == "t.reg"
    assert "new" not in by_path["/forms/recovery"]
    json.dumps(p)  # status must be JSON


def test_plan_truncates_and_abbreviates():
    old = {f"k{i:03d}": i for i in range(300)}
    new = {k: v + 1 for k, v in old.items()}
    new["big"] = {"text": "x" * 2000}
    p = plan(diff(old, new), max_changes=200)
    assert p["total"] == 301 and p["truncated"] is True and len(p["changes"]) == 200
    big = plan([Change("add", "/big", new=new["big"])])["changes"][0]["new"]
    assert isinstance(big, str) and big.startswith("<object, 2011 bytes, sha256:") and big.endswith("…>")
    assert plan([Change("add", "/s", new="y" * 600)], max_value_chars=512)["changes"][0]["new"].startswith("<string, 602 bytes")
    assert plan([Change("add", "/s", new="y" * 500)])["changes"][0]["new"] == "y" * 500


def test_root_pointer_selects_everything_and_several_pointers_share_a_change():
    changes = diff(OLD, NEW)
    assert select_changes(OLD, NEW, include=[""]) == changes
    old, new = {"l": [1, 2, 3, 4]}, {"l": [9, 2, 8]}
    selected = select_changes(old, new, include=["/l/0", "/l/3"])
    # Item 3 is removed and item 0 replaced; item 2 (3 -> 8) stays as it was.
    assert apply_changes(old, selected) == {"l": [9, 2, 3]}


def test_missing_sentinel_survives_copies():
    assert copy.deepcopy(MISSING) is MISSING and copy.copy(MISSING) is MISSING
    assert not MISSING and repr(MISSING) == "MISSING"
