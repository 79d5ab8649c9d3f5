"""spec.deletionPolicy: which owner each stored version should have (table tests)."""

import pytest

from flowops.domain import history

FLOW = {"apiVersion": "flowops.io/v1alpha1", "kind": "Flow", "metadata": {"name": "standard", "uid": "uid-now"}}
OURS = history.owner_reference(FLOW)
NAMESAKE = {**OURS, "uid": "uid-deleted"}
OTHER = {"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "cm"}


@pytest.mark.parametrize(
    "spec,expected",
    [
        (None, "Retain"),
        ({}, "Retain"),
        ({"deletionPolicy": "Retain"}, "Retain"),
        ({"deletionPolicy": "Delete"}, "Delete"),
    ],
)
def test_policy_default_is_retain(spec, expected):
    assert history.policy_of(spec) == expected


def test_new_versions_are_owned_only_under_delete():
    assert history.owner_references("Retain", FLOW) == []
    assert history.owner_references("Delete", FLOW) == [OURS]


@pytest.mark.parametrize(
    "policy,current,expected",
    [
        ("Retain", [OURS], []),  # released: outlives the Flow
        ("Retain", [], None),  # already retained
        ("Retain", [OURS, OTHER], [OTHER]),  # only the Flow owner goes
        ("Delete", [], [OURS]),  # adopted: retained history joins the Flow again
        ("Delete", [OURS], None),
        ("Delete", [OTHER], [OTHER, OURS]),
        ("Delete", [NAMESAKE], None),  # a deleted namesake's versions are not ours
        ("Retain", [NAMESAKE], None),
    ],
)
def test_reconciled_owners(policy, current, expected):
    assert history.reconciled_owners(policy, FLOW, current) == expected
