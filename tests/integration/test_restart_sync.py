"""A restart re-checks each flow's out-of-sync report against its upstream namesake without
listing versions: the reports that still hold are not written, and the ones whose upstream
changed or went away while the operator was down are corrected, whichever of the two flows
the operator happens to see first."""

from __future__ import annotations

from flowops.kube import FLOWS
from flowops.testing.objects import barrier, flow, flow_status, wait_for_number
from flowops.testing.waiting import wait_for

NAMES = ("kept", "tampered", "orphan")


def _status_writes(kube, namespace, name):
    """Who last wrote the flow's status, and when (a write that changes nothing leaves it)."""
    entries = kube.get(FLOWS, name, namespace)["metadata"].get("managedFields") or []
    return [(e.get("manager"), e.get("time")) for e in entries if e.get("subresource") == "status"]


def _sync(kube, namespace, name):
    return flow_status(kube, namespace, name).get("sync") or {}


def test_a_restart_corrects_reports_whose_upstream_changed_or_vanished_and_writes_no_other(
    kube, running_operator, make_environment
):
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
    dev_ns, ns = dev["spec"]["namespace"], staging["spec"]["namespace"]
    heads = {}
    for name in NAMES:
        kube.create(FLOWS, flow(name, {"title": name}), dev_ns)
        heads[name] = wait_for_number(kube, dev_ns, name, 1)["latestReadyVersion"]
        kube.create(FLOWS, flow(name, {"title": name}), ns)
    for name in NAMES:
        wait_for(
            lambda n=name: (s := _sync(kube, ns, n)).get("state") == "InSync" and s.get("upstreamVersion") == heads[n],
            timeout=30,
            message=f"staging/{name} InSync",
        )
        barrier(kube, FLOWS, ns, name)  # its last status writes are in before the snapshot
    quiet = _status_writes(kube, ns, "kept")
    running_operator.stop()
    kube.delete(FLOWS, "orphan", dev_ns)
    # A report that names another upstream HEAD than the upstream has (as a write lost in a
    # crash, or an older operator, would leave it).
    kube.patch_status(FLOWS, "tampered", {"sync": {"upstreamVersion": "20200101-000000-0000"}}, ns)
    running_operator.start()
    wait_for(
        lambda: _sync(kube, ns, "tampered").get("upstreamVersion") == heads["tampered"],
        timeout=60,
        message="staging/tampered names dev's HEAD again",
    )
    wait_for(
        lambda: _sync(kube, ns, "orphan").get("state") == "UpstreamMissing",
        timeout=60,
        message="staging/orphan UpstreamMissing",
    )
    assert _sync(kube, ns, "tampered")["state"] == "InSync"
    barrier(kube, FLOWS, ns, "kept")  # the operator has resumed it and handled a later change
    assert _status_writes(kube, ns, "kept") == quiet, "a report that still holds was not rewritten"
    assert _sync(kube, ns, "kept")["upstreamVersion"] == heads["kept"]
