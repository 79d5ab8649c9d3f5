"""What a crash or a stop leaves behind is found and set right."""

from __future__ import annotations

from flowops.kube import FLOWS, FLOWVERSIONS
from flowops.testing.metrics import scrape, value
from flowops.testing.objects import barrier, flow, flow_status, wait_for_number
from flowops.testing.operatorproc import in_place_of
from flowops.testing.waiting import wait_for


def ns(env):
    return env["spec"]["namespace"]


def _version(kube, namespace, name, number):
    return kube.get(FLOWVERSIONS, f"{name}-{number:05d}", namespace)


def test_a_version_is_whole_from_its_create_so_a_crash_leaves_nothing_to_complete(
    kube, make_environment, crashing_operator, operator
):
    """Its verdict and per-rule results are written with it in one request: killed right after
    the create, the version already says everything, and the restart only writes the Flow."""
    rule = {"name": "needs-title", "expression": "has(content.title)", "message": "add /title"}
    env = make_environment(policy={"guardrails": [rule]})
    crashed = crashing_operator("after-version-created")
    kube.create(FLOWS, flow("standard", {"title": "one"}), ns(env))
    wait_for(lambda: not crashed.alive(), timeout=30, message="the operator to kill itself after the version's create")
    assert not flow_status(kube, ns(env), "standard").get("latestCreatedNumber"), "the Flow's status was not written"
    version = _version(kube, ns(env), "standard", 1)
    assert version["status"]["ready"] is True and version["metadata"]["labels"]["flowops.io/ready"] == "true"
    assert [r["rule"] for r in version["status"]["guardrails"]] == ["needs-title", "values-defined"]
    assert version["status"]["rulesHash"] == version["metadata"]["annotations"]["flowops.io/rules-digest"]

    operator.start()
    assert wait_for_number(kube, ns(env), "standard", 1)["latestReadyNumber"] == 1
    barrier(kube, FLOWS, ns(env), "standard")
    after = _version(kube, ns(env), "standard", 1)
    assert after["metadata"]["resourceVersion"] == version["metadata"]["resourceVersion"], "nothing was left to write"


def test_a_restart_lists_flows_in_pages_and_commits_every_edit_made_while_it_was_down(kube, make_environment, running_operator):
    """Start-up lists Flows a page at a time (all of them at once held every document in
    memory twice over); none is missed across the pages."""
    env = make_environment()
    names = [f"paged-{i}" for i in range(5)]
    for name in names:
        kube.create(FLOWS, flow(name, {"title": "one"}), ns(env))
    for name in names:
        wait_for_number(kube, ns(env), name, 1)
    running_operator.stop()
    for name in names:
        kube.merge_patch(FLOWS, name, {"spec": {"content": {"title": "two"}}}, ns(env))
    with in_place_of(running_operator, "paged-listing.log", {"FLOWOPS_LIST_CHUNK_SIZE": "2"}) as paged:
        for name in names:
            assert wait_for_number(kube, ns(env), name, 2)["latestReadyNumber"] == 2
        lists = value(scrape(paged.metrics_url), "flowops_api_requests_total", client="kopf", verb="list", resource="flows")
        assert lists >= 3, f"{lists} list requests for Flows: five or more Flows in pages of two take at least three"
