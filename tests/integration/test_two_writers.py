"""Two unpeered operators against one control plane, as a rolling update without peering
runs them: the API server arbitrates, so no flow gets two versions with one number or one
content, and no Promotion gets two target versions, also when either process is
SIGKILLed at random moments."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from flowops.domain.canonical import content_hash
from flowops.kube import FLOWS, FLOWVERSIONS, PROMOTIONS, Kube
from flowops.testing.callhook import ThenAfter
from flowops.testing.objects import barrier, flow, promotion, wait_for_number, wait_for_phase
from flowops.testing.operatorproc import OperatorProcess
from flowops.testing.waiting import wait_for, wait_until

log = logging.getLogger(__name__)

FLOW_COUNT = 4
EDITS = 36
PROMOTE_EVERY = 6  # edits: 6 Promotions among 36 edits


@pytest.fixture
def two_operators(running_operator: OperatorProcess) -> Iterator[list[OperatorProcess]]:
    second = running_operator.alongside(running_operator.log_path.with_name("second-operator.log"))
    second.start()
    yield [running_operator, second]
    second.stop()
    if not running_operator.alive():
        running_operator.start()


def ns(env: dict) -> str:
    return env["spec"]["namespace"]


def run_edits(kube: Kube, make_environment, step=lambda i: None) -> tuple[str, str, list[str], list[str]]:
    """Rapid edits of several flows and Promotions of their HEADs, nothing awaited between them."""
    dev = make_environment("Development")
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
    names = [f"flow-{i}" for i in range(FLOW_COUNT)]
    for name in names:
        kube.create(FLOWS, flow(name, {"title": name, "edit": 0}), ns(dev))
    for name in names:
        wait_for_number(kube, ns(dev), name, 1, timeout=90)
    edits = Counter[str]()
    promoted: list[str] = []
    for i in range(EDITS):
        name = names[i % FLOW_COUNT]
        edits[name] += 1
        kube.merge_patch(FLOWS, name, {"spec": {"content": {"edit": edits[name]}}}, ns(dev))
        if i % PROMOTE_EVERY == PROMOTE_EVERY - 1:
            source = names[(i // PROMOTE_EVERY) % FLOW_COUNT]
            kube.create(PROMOTIONS, promotion(f"promote-{i}", dev["metadata"]["name"], source), ns(staging))
            promoted.append(f"promote-{i}")
        step(i)
    return ns(dev), ns(staging), names, promoted


def assert_exactly_once(kube: Kube, dev_ns: str, staging_ns: str, names: list[str], promoted: list[str]) -> None:
    for name in promoted:
        status = wait_for_phase(kube, staging_ns, name, timeout=120)
        assert status["phase"] == "Succeeded", (name, status)
    for name in names:
        final = content_hash(kube.get(FLOWS, name, dev_ns)["spec"]["content"])
        wait_for(
            lambda name=name, final=final: _latest_hash(kube, dev_ns, name) == final,
            timeout=120,
            message=f"{name}: the last edit committed",
        )
    for namespace in (dev_ns, staging_ns):
        for name in names:
            found = _versions(kube, namespace, name)
            numbers = [int(v["metadata"]["labels"]["flowops.io/number"]) for v in found]
            assert len(numbers) == len(set(numbers)), f"{namespace}/{name}: duplicate numbers {sorted(numbers)}"
            hashes = Counter(v["metadata"]["annotations"]["flowops.io/content-hash"] for v in found)
            assert max(hashes.values(), default=1) == 1, (
                f"{namespace}/{name}: one content in several versions: {hashes.most_common(2)}"
            )
            origins = {v["metadata"]["annotations"].get("flowops.io/origin") for v in found}
            assert "Quarantine" not in origins, f"{namespace}/{name}: nothing here is protected, yet a version was quarantined"
            ordered = sorted(found, key=lambda v: int(v["metadata"]["labels"]["flowops.io/number"]))
            ids = [v["metadata"]["labels"]["flowops.io/version"] for v in ordered]
            assert ids == sorted(ids) and len(set(ids)) == len(ids), (
                f"{namespace}/{name}: ids do not increase with numbers: {ids}"
            )
    staged = [v for name in names for v in _versions(kube, staging_ns, name)]
    dev_versions = [v for name in names for v in _versions(kube, dev_ns, name)]
    for name in promoted:
        promo = kube.get(PROMOTIONS, name, staging_ns)
        landed = [v for v in staged if v["metadata"]["annotations"].get("flowops.io/promotion-uid") == promo["metadata"]["uid"]]
        status = promo["status"]
        if status.get("targetVersion"):
            assert len(landed) == 1, (
                f"promotion {name} ({promo['metadata']['uid']}): {len(landed)} target versions; status {status}; "
                f"staging versions: {[_described(v) for v in staged]}"
            )
            assert landed[0]["metadata"]["labels"]["flowops.io/version"] == status["targetVersion"]
            # What landed is the source version the Promotion names (whichever process
            # reported it), as planned.
            sources = [v for v in dev_versions if v["metadata"]["labels"]["flowops.io/version"] == status["sourceVersion"]]
            assert len(sources) == 1, f"promotion {name}: its sourceVersion names no dev version: {status}"
            landed_hash = landed[0]["metadata"]["annotations"]["flowops.io/content-hash"]
            source_hash = sources[0]["metadata"]["annotations"]["flowops.io/content-hash"]
            assert landed_hash == status["plan"]["contentHash"] == source_hash, (name, status)
            assert f"@{status['sourceVersion']} to " in status["message"], status["message"]
        else:
            assert not landed and "nothing to promote" in status["message"], (name, status)
    assert any(v["metadata"]["annotations"].get("flowops.io/origin") == "Promotion" for v in staged)
    for name in names:
        # Both writers' status writes converge on what exists.
        wait_for(
            lambda name=name: _status_settled(kube, dev_ns, name),
            timeout=60,
            message=f"{name}: its status describes its versions",
        )


def _described(version: dict) -> dict:
    meta = version["metadata"]
    return {
        "name": meta["name"],
        **{k.removeprefix("flowops.io/"): v for k, v in (meta.get("annotations") or {}).items() if k.startswith("flowops.io/")},
    }


def _versions(kube: Kube, namespace: str, name: str) -> list[dict]:
    return kube.list(FLOWVERSIONS, namespace, label_selector=f"flowops.io/flow={name}", metadata_only=True)


def _latest_hash(kube: Kube, namespace: str, name: str) -> str | None:
    found = _versions(kube, namespace, name)
    newest = max(found, key=lambda v: int(v["metadata"]["labels"]["flowops.io/number"]), default=None)
    return newest["metadata"]["annotations"]["flowops.io/content-hash"] if newest else None


def _status_settled(kube: Kube, namespace: str, name: str) -> bool:
    body = kube.get(FLOWS, name, namespace)
    status = body.get("status") or {}
    numbers = [int(v["metadata"]["labels"]["flowops.io/number"]) for v in _versions(kube, namespace, name)]
    return (
        status.get("observedGeneration") == body["metadata"]["generation"]
        and status.get("contentHash") == content_hash(body["spec"]["content"])
        and status.get("latestCreatedNumber") == max(numbers)
        and status.get("versionCount") == len(numbers)
    )


def test_two_unpeered_operators_commit_and_promote_exactly_once(kube, make_environment, two_operators):
    dev_ns, staging_ns, names, promoted = run_edits(kube, make_environment)
    assert_exactly_once(kube, dev_ns, staging_ns, names, promoted)


class Chaos:
    """SIGKILLs one of the operators at random (seeded) moments, `budget` times, and starts
    it again in the background while the other keeps working.

    A process started from a thread dies with that thread (the operator's parent-death
    signal follows the thread that forked it), so restarter threads live until the end,
    and the processes they started are started again from the test's thread then."""

    def __init__(self, processes: list[OperatorProcess], seed: int, budget: int = 8) -> None:
        self.processes, self.random, self.budget = processes, random.Random(seed), budget
        self.kills: list[str] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._began = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)
        self._restarters: list[threading.Thread] = []
        self._starting: set[int] = set()
        self._restarted: set[int] = set()

    def __enter__(self) -> Chaos:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)
        for restarter in self._restarters:
            restarter.join(timeout=120)
        for which, process in enumerate(self.processes):
            if which in self._restarted or not process.alive():
                process.kill()
                process.start()

    def _run(self) -> None:
        try:
            while len(self.kills) < self.budget and not self._stop.wait(self.random.uniform(0.3, 1.5)):
                # A process that is up and working: killing one still starting would only stall both.
                which = self.random.randrange(len(self.processes))
                process = self.processes[which]
                if not process.alive() or which in self._starting:
                    continue
                process.kill()
                moment = f"killed operator {which} at {time.monotonic() - self._began:.2f}s"
                self.kills.append(moment)
                log.warning(moment)
                self._starting.add(which)
                restarter = threading.Thread(target=self._start, args=(which, self.random.uniform(0.0, 1.0)), daemon=True)
                self._restarters.append(restarter)
                restarter.start()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def _start(self, which: int, delay: float) -> None:
        process = self.processes[which]
        self._restarted.add(which)
        if not self._stop.wait(delay):
            while not self._stop.is_set():
                try:
                    process.start()
                    break
                except Exception as exc:  # e.g. not healthy in time on a busy machine: try again
                    log.warning("restarting operator %d failed: %s", which, str(exc)[:300])
                    self._stop.wait(0.2)
        self._starting.discard(which)
        self._stop.wait()  # keeps the process alive (see the class docstring)


def test_two_operators_killed_at_random_still_exactly_once(kube, make_environment, two_operators):
    seed = int(os.environ.get("FLOWOPS_CHAOS_SEED") or time.time_ns() % 1_000_000)
    print(f"chaos seed {seed} (rerun with FLOWOPS_CHAOS_SEED={seed})")
    with Chaos(two_operators, seed) as chaos:

        def between_edits(i: int) -> None:
            # Kills land among the edits, not only after them: every 12 edits, one more kill first.
            if i % 12 == 11:
                wait_for(lambda: len(chaos.kills) > i // 12 or chaos.error, timeout=60, message=f"kill {i // 12 + 1}")

        dev_ns, staging_ns, names, promoted = run_edits(kube, make_environment, step=between_edits)
        # Keep killing while the promotions and the last commits run, not only while edits arrive.
        wait_for(lambda: len(chaos.kills) >= 4 or chaos.error, timeout=60, message="at least four kills")
        for name in promoted:
            wait_for_phase(kube, staging_ns, name, timeout=150)
    print("kills:", chaos.kills)
    assert chaos.error is None, chaos.error
    assert_exactly_once(kube, dev_ns, staging_ns, names, promoted)


def test_a_decision_from_an_older_view_of_a_promotion_writes_nothing(kube, kube_as, running_operator, make_environment):
    """A second process acting on the Promotion as it first saw it, after the first has
    finished it: it must not rewrite the outcome (nor, from a view before an approval, put
    a finished Promotion back to AwaitingApproval)."""
    from flowops.kube import ENVIRONMENTS
    from flowops.runtime import Runtime
    from flowops.services import promotions
    from flowops.services.common import RetryLater

    dev = make_environment()
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
    kube.create(FLOWS, flow("login", {"title": "v1"}), dev["spec"]["namespace"])
    wait_for_number(kube, dev["spec"]["namespace"], "login", 1)
    first_view = kube.create(PROMOTIONS, promotion("late", dev["metadata"]["name"], "login", "1"), staging["spec"]["namespace"])
    assert wait_for_phase(kube, staging["spec"]["namespace"], "late")["phase"] == "Succeeded"
    barrier(kube, FLOWS, staging["spec"]["namespace"], "login")  # the operator's trailing writes are done
    barrier(kube, PROMOTIONS, staging["spec"]["namespace"], "late")  # and Kopf's record of handling it
    target_before = kube.get(FLOWS, "login", staging["spec"]["namespace"])["metadata"]["resourceVersion"]
    before = kube.get(PROMOTIONS, "late", staging["spec"]["namespace"])

    environments = kube.list(ENVIRONMENTS)
    with pytest.raises(RetryLater, match="changed since it was read"):
        promotions.reconcile(
            Runtime(kube=kube_as("operator")),
            first_view,
            env_by_name=lambda n: next((e for e in environments if e["metadata"]["name"] == n), None),
            env_by_namespace=lambda n: next((e for e in environments if e["spec"]["namespace"] == n), None),
            known_environments=lambda: [e["metadata"]["name"] for e in environments],
            post=lambda *_: None,
        )
    after = kube.get(PROMOTIONS, "late", staging["spec"]["namespace"])
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], after["status"]
    assert kube.get(FLOWS, "login", staging["spec"]["namespace"])["metadata"]["resourceVersion"] == target_before


def test_a_client_status_decided_from_an_older_view_never_undoes_a_newer_one(kube, kube_as, running_operator, make_environment):
    """A second process reconciling an ApiClient as it first saw it, after the first process
    and another writer have written its status since: it must decide again from the client
    as it is, not write its stale decision over theirs."""
    from flowops.kube import APICLIENTS
    from flowops.runtime import Runtime
    from flowops.services import bindings_clients

    env = make_environment()
    namespace = env["spec"]["namespace"]
    body = {"apiVersion": "flowops.io/v1alpha1", "kind": "ApiClient", "metadata": {"name": "web"}, "spec": {}}
    first_view = kube.create(APICLIENTS, body, namespace)  # before any status
    barrier(kube, APICLIENTS, namespace, "web")  # the running operator has written its status
    kube_as("operator").patch_status(APICLIENTS, "web", {"reviewedGeneration": 0}, namespace)
    barrier(kube, APICLIENTS, namespace, "web")
    before = kube.get(APICLIENTS, "web", namespace)

    bindings_clients.reconcile_client(Runtime(kube=kube_as("operator")), namespace, "web", env, resumed=first_view)

    after = kube.get(APICLIENTS, "web", namespace)
    assert after["status"].get("reviewedGeneration") == 0, after["status"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], "nothing new to write"


def test_a_sync_report_from_older_reads_never_lands_over_a_newer_one(kube, kube_as, running_operator, make_environment):
    """A second process reads the upstream's HEAD for a report; before it writes, the HEAD
    moves and the running operator reports that. The second process's report, now stale,
    must not land: its write names the Flow's version it started from, is refused, and it
    reads again."""
    from flowops.kube import ENVIRONMENTS
    from flowops.runtime import Runtime
    from flowops.services import sync

    dev = make_environment()
    staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
    dev_ns, staging_ns = ns(dev), ns(staging)
    kube.create(FLOWS, flow("login", {"title": "v1"}), dev_ns)
    kube.create(FLOWS, flow("login", {"title": "v1"}), staging_ns)
    wait_for_number(kube, staging_ns, "login", 1)

    def reported(dev_number: int) -> dict:
        head = wait_for_number(kube, dev_ns, "login", dev_number)["latestReadyVersion"]
        return wait_for(
            lambda: (
                (kube.get(FLOWS, "login", staging_ns).get("status") or {}).get("sync", {}).get("upstreamVersion") == head
                and kube.get(FLOWS, "login", staging_ns)
            ),
            timeout=30,
            message=f"staging's report to name dev's version {dev_number}",
        )

    # The second process's view: the Flow as it was when dev's v1 was reported to it.
    view = reported(1)
    kube.merge_patch(FLOWS, "login", {"spec": {"content": {"title": "v2"}}}, dev_ns)
    reported(2)

    def dev_moves_and_is_reported() -> None:
        kube.merge_patch(FLOWS, "login", {"spec": {"content": {"title": "v3"}}}, dev_ns)
        reported(3)
        barrier(kube, FLOWS, staging_ns, "login")  # the running operator's writes of it are done

    # Its first list of dev's versions: the HEAD it read moves on before it writes.
    second = ThenAfter(
        kube_as("operator"),
        lambda method, resource, namespace=None, *_, **__: method == "list" and resource is FLOWVERSIONS and namespace == dev_ns,
        dev_moves_and_is_reported,
    )
    environments = kube.list(ENVIRONMENTS)
    sync.publish(
        Runtime(kube=second),  # type: ignore[arg-type]
        staging_ns,
        "login",
        staging,
        lambda n: next((e for e in environments if e["metadata"]["name"] == n), None),
        current=None,
        flow_object=view,
    )
    dev_head = kube.get(FLOWS, "login", dev_ns)["status"]["latestReadyVersion"]
    shown = kube.get(FLOWS, "login", staging_ns)["status"]["sync"]
    assert shown["upstreamVersion"] == dev_head, f"a report of dev's v2 landed over the report of v3: {shown}"
    assert shown["state"] == "OutOfSync", shown


def _resolved(app: dict) -> dict:
    return next((c for c in (app.get("status") or {}).get("conditions") or () if c["type"] == "Resolved"), {})


def test_an_application_status_decided_from_an_older_read_never_undoes_a_newer_one(
    kube, kube_as, running_operator, make_environment
):
    """A second process finds an Application's default flow missing; before it writes, the
    flow is created and the running operator marks the Application resolved. The second
    process's decision (its own client count, the flow missing) must not land over that:
    its write names the Application's version it read, is refused, and it decides again."""
    from flowops.kube import APPLICATIONS
    from flowops.runtime import Runtime
    from flowops.services import bindings_applications

    env = make_environment()
    namespace = ns(env)
    app = {"apiVersion": FLOWS.api_version, "kind": "Application", "metadata": {"name": "shop"}}
    kube.create(APPLICATIONS, {**app, "spec": {"defaultFlow": {"name": "login"}}}, namespace)
    wait_for(lambda: _resolved(kube.get(APPLICATIONS, "shop", namespace)).get("reason") == "FlowNotFound", timeout=30)

    def flow_created_and_resolved() -> None:
        kube.create(FLOWS, flow("login", {"title": "v1"}), namespace)
        wait_for(
            lambda: _resolved(kube.get(APPLICATIONS, "shop", namespace)).get("status") == "True",
            timeout=30,
            message="the running operator to mark shop resolved",
        )

    # Its first read of the flow login finds nothing; the flow is created before it writes.
    second = ThenAfter(
        kube_as("operator"),
        lambda method, resource, name=None, *_, **__: (
            method in ("get", "get_or_none", "get_metadata") and resource is FLOWS and name == "login"
        ),
        flow_created_and_resolved,
    )
    # Its own index counts a client the running operator's does not yet: its status differs.
    bindings_applications.reconcile_application(Runtime(kube=second), namespace, "shop", env, lambda: 1)  # type: ignore[arg-type]
    shown = kube.get(APPLICATIONS, "shop", namespace)["status"]
    assert _resolved({"status": shown}).get("status") == "True", f"the decision from before the flow existed landed: {shown}"


def test_an_environment_status_decided_from_an_older_event_never_undoes_a_newer_one(
    kube, kube_as, running_operator, make_environment
):
    """A second process acting late on an Environment's creation event, after the running
    operator has reported a later generation: its status (observedGeneration 1, not
    protected) must not land, or kstatus and Argo CD would show the Environment as still
    progressing, and the wrong protection, until its next change."""
    from flowops.kube import ENVIRONMENTS
    from flowops.runtime import Runtime
    from flowops.services import environments

    created = make_environment("Staging", protected=False)  # as created: no status yet
    name = created["metadata"]["name"]
    wait_for(lambda: (kube.get(ENVIRONMENTS, name).get("status") or {}).get("observedGeneration") == 1, timeout=30)
    kube.merge_patch(ENVIRONMENTS, name, {"spec": {"protected": True}})
    wait_for(lambda: (kube.get(ENVIRONMENTS, name).get("status") or {}).get("observedGeneration") == 2, timeout=30)
    barrier(kube, ENVIRONMENTS, None, name)
    before = kube.get(ENVIRONMENTS, name)

    environments.reconcile(Runtime(kube=kube_as("operator")), created, lambda n: None, lambda *a: None)

    after = kube.get(ENVIRONMENTS, name)
    assert after["status"]["observedGeneration"] == 2 and after["status"]["protected"] is True, after["status"]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], "decided again: nothing new"


def test_a_promotion_moved_by_another_writer_before_its_claim_is_decided_again_as_needed(
    kube, kube_as, operator, make_environment
):
    """Other writers move a Promotion between the operator's read and its claim.
    - Its metadata (a GitOps tool's tracking annotation, Kopf's progress notes of another
      process's retry): nothing a decision rests on, so the claim stands. Refused, two
      processes refused each other's claims in turn, each retry's notes the next refusal.
    - Its status (the other process of a rolling update): the operator decides again, and
      says so at INFO, not at ERROR (what log-based alerts count).
    - Its status, at every attempt: from the fourth retry in a row the line is a WARNING,
      and the Promotion gets one Warning Event saying why it is still running."""
    from flowops.testing.operatorproc import in_place_of

    held = {"FLOWOPS_STALL_AT": "promotion-decided:2", "FLOWOPS_STALL_FOR": "annotated,rewritten,contested"}
    with in_place_of(operator, "promotion-moved.log", held, grace=8) as process:
        dev = make_environment("Development")
        staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
        kube.create(FLOWS, flow("login", {"title": "v1"}), ns(dev))
        wait_for_number(kube, ns(dev), "login", 1)

        def moved_while_held(name: str, change) -> list[str]:
            kube.create(PROMOTIONS, promotion(name, dev["metadata"]["name"], "login"), ns(staging))
            stalled = f"stalled at promotion-decided for {ns(staging)}/{name}"
            wait_for(lambda: stalled in process.tail(lines=4000), message=f"{name} to be held after its decision")
            change(name)
            assert wait_for_phase(kube, ns(staging), name, timeout=60)["phase"] == "Succeeded"
            said = f"failed temporarily: promotion {name} changed since it was read"
            return [line for line in process.tail(lines=4000).splitlines() if said in line]

        tracking = {"metadata": {"annotations": {"argocd.argoproj.io/tracking-id": "staging:flowops.io/Promotion:x"}}}
        assert moved_while_held("annotated", lambda name: kube.merge_patch(PROMOTIONS, name, tracking, ns(staging))) == []

        other_process = kube_as("operator")  # only the operator writes a Promotion's status
        elsewhere = {"status": {"message": "decided by another process"}}
        rewritten = moved_while_held(
            "rewritten", lambda name: other_process.patch_status(PROMOTIONS, name, elsewhere["status"], ns(staging))
        )
        assert rewritten and all("[INFO" in line for line in rewritten), rewritten

        def stalled_times(name: str) -> int:
            return process.tail(lines=8000).count(f"stalled at promotion-decided for {ns(staging)}/{name}")

        kube.create(PROMOTIONS, promotion("contested", dev["metadata"]["name"], "login"), ns(staging))
        for attempt in range(1, 6):  # five attempts refused: retries 0 to 4
            wait_for(lambda at=attempt: stalled_times("contested") >= at, message=f"attempt {attempt} to be held")
            other_process.patch_status(
                PROMOTIONS, "contested", {"message": f"decided by another process ({attempt})"}, ns(staging)
            )
        outcome = wait_for_phase(kube, ns(staging), "contested", timeout=60)
        assert outcome["phase"] == "Succeeded", outcome  # v1 is there already: nothing to promote
        outcome_reason = next(c["reason"] for c in outcome["conditions"] if c["type"] == "Ready")
        said = "failed temporarily: promotion contested changed since it was read"
        levels = [line.split("[")[2].split("]")[0].strip() for line in process.tail(lines=8000).splitlines() if said in line]
        assert levels == ["INFO", "INFO", "INFO", "WARNING", "WARNING"], levels
        # Kopf posts Events in order: once the outcome's is there, an earlier one is too.
        events = wait_until(
            lambda: [e for e in kube.list_events(ns(staging)) if e["involvedObject"]["name"] == "contested"],
            lambda seen: any(e["reason"] == outcome_reason for e in seen),
            message="the outcome's Event",
            shown=lambda seen: [(e["type"], e["reason"]) for e in seen],
        )
        retrying = [e for e in events if e["reason"] == "Retrying"]
        assert [(e["type"], e.get("count", 1)) for e in retrying] == [("Warning", 1)], events
        assert "promotion contested changed since it was read; deciding again (retried 3 times in a row" in retrying[0]["message"]


def test_a_promotion_claimed_by_a_live_process_is_taken_over_and_lands_once(kube, operator, make_environment):
    """One process claims a Promotion and hangs before writing its target; another
    process, started meanwhile, finds the claim and carries it out (it cannot tell a hung
    process from a dead one). When the first wakes, its write of the target is refused: the
    Flow moved since it read it. It decides again, finds the outcome, and adds nothing: one
    version, one outcome Event, one Promoted Event on the Flow."""
    from flowops.testing.operatorproc import in_place_of

    held = {"FLOWOPS_STALL_AT": "promotion-claimed:20", "FLOWOPS_STALL_FOR": "taken-over"}
    with in_place_of(operator, "promotion-claimed.log", held, grace=25) as first:
        dev = make_environment("Development")
        staging = make_environment("Staging", upstream=dev["metadata"]["name"], protected=False)
        kube.create(FLOWS, flow("login", {"title": "v1"}), ns(dev))
        kube.create(FLOWS, flow("login", {"title": "staging's own"}), ns(staging))
        wait_for_number(kube, ns(dev), "login", 1)
        wait_for_number(kube, ns(staging), "login", 1)
        kube.create(PROMOTIONS, promotion("taken-over", dev["metadata"]["name"], "login"), ns(staging))
        stalled = f"stalled at promotion-claimed for {ns(staging)}/taken-over"
        wait_for(lambda: stalled in first.tail(lines=4000), message="the first process to hang after its claim")
        assert kube.get(PROMOTIONS, "taken-over", ns(staging))["status"]["phase"] == "Running"

        second = first.alongside(first.log_path.with_name("promotion-claimed-second.log"))
        second.env = {}  # nothing held in the second process
        second.start()
        try:
            outcome = wait_for_phase(kube, ns(staging), "taken-over", timeout=60)
            said = "failed temporarily: target flow login was changed after the promotion read it"
            assert said not in first.tail(lines=4000), "the second process finished while the first still hung"
            assert outcome["phase"] == "Succeeded", outcome
            wait_for(lambda: said in first.tail(lines=4000), timeout=60, message="the first process's write to be refused")
            refused = [line for line in first.tail(lines=4000).splitlines() if said in line]
            assert len(refused) == 1 and "[INFO" in refused[0], refused
        finally:
            second.stop()

        # Barrier: a later Promotion the first process alone carries out. Kopf posts one
        # process's Events in order, so anything it posted for the first is in by then.
        kube.merge_patch(FLOWS, "login", {"spec": {"content": {"title": "v2"}}}, ns(dev))
        wait_for_number(kube, ns(dev), "login", 2)
        kube.create(PROMOTIONS, promotion("later", dev["metadata"]["name"], "login"), ns(staging))
        assert wait_for_phase(kube, ns(staging), "later", timeout=60)["phase"] == "Succeeded"
        wait_for(
            lambda: any(
                e["involvedObject"]["name"] == "later" and e["reason"] == "PromotionSucceeded"
                for e in kube.list_events(ns(staging))
            ),
            message="the later Promotion's outcome Event",
        )

        uid = kube.get(PROMOTIONS, "taken-over", ns(staging))["metadata"]["uid"]
        landed = [
            v
            for v in _versions(kube, ns(staging), "login")
            if v["metadata"]["annotations"].get("flowops.io/promotion-uid") == uid
        ]
        assert [v["metadata"]["labels"]["flowops.io/version"] for v in landed] == [outcome["targetVersion"]]
        events = kube.list_events(ns(staging))
        outcomes = [e for e in events if e["involvedObject"]["name"] == "taken-over" and e["reason"] == "PromotionSucceeded"]
        promoted = [e for e in events if e["reason"] == "Promoted" and "by Promotion taken-over" in e["message"]]
        assert [e.get("count", 1) for e in outcomes] == [1], outcomes
        assert [e.get("count", 1) for e in promoted] == [1], promoted
        assert not [e for e in events if e["involvedObject"]["name"] == "taken-over" and e["type"] == "Warning"], events


def test_a_flow_status_from_an_older_list_of_versions_never_lands_over_a_newer_head(
    kube, kube_as, running_operator, make_environment
):
    """An old leader still handling a Flow's generation 2 lists its versions (1 and 2);
    before it writes, the Flow is edited again and the running operator commits version 3
    and publishes it as HEAD. The old leader's status (HEAD 2, generation 2) must not land:
    its PUT is refused, and the write that follows holds the generation and versions it
    read, is refused too, and it decides again. Clients following HEAD keep the newest."""
    import contextlib
    import copy

    from flowops.kube import APICLIENTS, CONFIGMAPS
    from flowops.runtime import Runtime
    from flowops.services import flows
    from flowops.services.common import RetryLater

    env = make_environment()
    namespace = ns(env)
    kube.create(FLOWS, flow("login", {"title": "v1"}), namespace)
    wait_for_number(kube, namespace, "login", 1)
    barrier(kube, FLOWS, namespace, "login")
    client = {"apiVersion": FLOWS.api_version, "kind": "ApiClient", "metadata": {"name": "web"}}
    kube.create(APICLIENTS, {**client, "spec": {"defaultFlow": {"name": "login"}}}, namespace)
    # Its event of generation 2, as it came before any status described that generation.
    held = copy.deepcopy(kube.get(FLOWS, "login", namespace))
    held["spec"]["content"], held["metadata"]["generation"] = {"title": "v2"}, held["metadata"]["generation"] + 1
    kube.merge_patch(FLOWS, "login", {"spec": {"content": {"title": "v2"}}}, namespace)
    wait_for_number(kube, namespace, "login", 2)

    newest: list[str] = []

    def edited_and_published() -> None:
        kube.merge_patch(FLOWS, "login", {"spec": {"content": {"title": "v3"}}}, namespace)
        newest.append(wait_for_number(kube, namespace, "login", 3)["latestReadyVersion"])
        barrier(kube, FLOWS, namespace, "login")

    old_leader = ThenAfter(
        kube_as("operator"),
        lambda method, resource, namespace_=None, *_, **__: method == "list" and resource is FLOWVERSIONS,
        edited_and_published,
    )
    with contextlib.suppress(RetryLater):  # its handler runs again, from the Flow as it is then
        flows.reconcile(Runtime(kube=old_leader), held, env)  # type: ignore[arg-type]

    # Read at once: a later change of the Flow (even a label) has the running operator write HEAD again.
    status = kube.get(FLOWS, "login", namespace)["status"]
    assert (status["latestReadyNumber"], status["observedGeneration"]) == (3, 3), f"an older HEAD landed: {status}"
    assert status["latestReadyVersion"] == newest[0]
    # The client resolved since follows HEAD as the status shows it.
    barrier(kube, APICLIENTS, namespace, "web")
    assert kube.get(CONFIGMAPS, "web-flow", namespace)["data"]["version"] == newest[0]
