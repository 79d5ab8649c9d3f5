"""What a crash or a stop leaves behind is found and set right."""

from __future__ import annotations

from flowops.kube import FLOWS, FLOWVERSIONS
from flowops.testing.metrics import scrape, value
from flowops.testing.objects import flow, flow_status, wait_for_number
from flowops.testing.operatorproc import OperatorProcess
from flowops.testing.waiting import wait_for


def ns(env):
    return env["spec"]["namespace"]


def _version(kube, namespace, name, number):
    return kube.get(FLOWVERSIONS, f"{name}-{number:05d}", namespace)


def test_results_a_crash_kept_from_a_version_are_written_after_restart(kube, make_environment, crashing_operator, operator):
    rule = {"name": "needs-title", "expression": "has(content.title)", "message": "add /title"}
    env = make_environment(policy={"guardrails": [rule]})
    crashed = crashing_operator("before-version-results")
    kube.create(FLOWS, flow("standard", {"title": "one"}), ns(env))
    wait_for(lambda: not crashed.alive(), timeout=30, message="the operator to kill itself after the Flow's status write")
    assert flow_status(kube, ns(env), "standard").get("latestCreatedNumber") == 1, "status was written before the crash"
    version = _version(kube, ns(env), "standard", 1)
    assert not (version.get("status") or {}).get("guardrails"), "the per-rule results were not written"
    assert version["metadata"]["labels"]["flowops.io/results"] == "pending"

    operator.start()  # the flow's status is settled: only the pending label leads back to the version
    # The results (status) and the end of the pending mark (a label) are two writes, in that order.
    done = wait_for(
        lambda: (
            (v := _version(kube, ns(env), "standard", 1)).get("status", {}).get("guardrails")
            and "flowops.io/results" not in v["metadata"]["labels"]
            and v
        ),
        timeout=60,
        message="the version's per-rule results, and its pending mark gone",
    )
    assert "needs-title" in [r["rule"] for r in done["status"]["guardrails"]] and done["status"]["ready"] is True


def test_a_restart_lists_flows_in_pages_and_commits_every_edit_made_while_it_was_down(
    kube, make_environment, running_operator, cluster
):
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
    paged = OperatorProcess(
        cluster.kubeconfig,
        "flowops-operator",
        running_operator.log_path.with_name("paged-listing.log"),
        env={"FLOWOPS_LIST_CHUNK_SIZE": "2"},
    )
    paged.start()
    try:
        for name in names:
            assert wait_for_number(kube, ns(env), name, 2)["latestReadyNumber"] == 2
        lists = value(scrape(paged.metrics_url), "flowops_api_requests_total", client="kopf", verb="list", resource="flows")
        assert lists >= 3, f"{lists} list requests for Flows: five or more Flows in pages of two take at least three"
    finally:
        paged.stop()
        running_operator.start()
