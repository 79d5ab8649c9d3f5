from flowops.domain import bindingstatus, conditions, fanout
from flowops.domain.binding import resolve_request
from flowops.domain.bindingtarget import Problem
from flowops.domain.materialise import Fingerprint

NOW = "2026-11-21T09:30:12Z"
LATER = "2026-11-21T10:00:00Z"
HELD = Fingerprint("login", "20261121093012000002", 2, "sha256:2", "RestartInProgress")


def facts(problem=None, held=HELD, head=True, request=None):
    return bindingstatus.ClientFacts(
        generation=4,
        request=request or resolve_request({"application": "web"}, {"defaultFlow": {"name": "login"}}),
        materialised=held,
        config_map="web-frontend-flow",
        follows_head=head and problem is None,
        problem=problem,
    )


def test_resolved_client_status():
    status = bindingstatus.client_status(facts(), None, NOW)
    assert status["flow"] == "login" and status["version"] == HELD.version and status["number"] == 2
    assert status["followsHead"] is True and status["configMap"] == "web-frontend-flow"
    assert status["requested"] == {"name": "login", "version": "HEAD"}
    assert status["sources"] == {"name": "Application", "version": "Default"}
    assert status["observedGeneration"] == 4
    ready = conditions.find(status["conditions"], "Ready")
    assert ready["status"] == "True" and "following HEAD" in ready["message"]
    assert conditions.find(status["conditions"], "Resolved")["status"] == "True"
    assert conditions.find(status["conditions"], "Stalled") is None


def test_problem_keeps_reporting_what_the_configmap_holds():
    problem = Problem("FlowNotFound", "flow logn does not exist")
    status = bindingstatus.client_status(facts(problem), None, NOW)
    assert status["flow"] == "login" and status["version"] == HELD.version  # retention keeps sparing it
    assert status["followsHead"] is False
    resolved = conditions.find(status["conditions"], "Resolved")
    assert resolved["status"] == "False" and resolved["reason"] == "FlowNotFound"
    assert (
        resolved["message"]
        == f"flow logn does not exist; ConfigMap web-frontend-flow keeps flow login version 2 ({HELD.version})"
    )
    assert conditions.find(status["conditions"], "Stalled")["status"] == "True"
    assert conditions.find(status["conditions"], "Ready")["status"] == "False"


def test_problem_without_configmap_clears_the_binding_fields():
    status = bindingstatus.client_status(facts(Problem("FlowNotSet", "no flow name"), held=None), None, NOW)
    assert status["flow"] is None and status["configMap"] is None
    assert "no ConfigMap web-frontend-flow is written" in conditions.find(status["conditions"], "Ready")["message"]


def test_transient_problem_is_reconciling_not_stalled():
    status = bindingstatus.client_status(facts(Problem("NoReadyVersion", "no version yet", stalled=False), held=None), None, NOW)
    assert conditions.find(status["conditions"], "Reconciling")["status"] == "True"
    assert conditions.find(status["conditions"], "Stalled") is None


def test_same_status_ignores_fields_cleared_by_none():
    first = bindingstatus.client_status(facts(Problem("FlowNotSet", "x"), held=None), None, NOW)
    stored = {k: v for k, v in first.items() if v is not None}
    again = bindingstatus.client_status(facts(Problem("FlowNotSet", "x"), held=None), stored, LATER)
    assert bindingstatus.same_status(stored, again)
    moved = bindingstatus.client_status(facts(), stored, LATER)
    assert not bindingstatus.same_status(stored, moved)


def test_same_status_sees_nested_fields_removed():
    request = resolve_request({"defaultFlow": {"name": "login", "version": "2"}}, None)
    stored = bindingstatus.client_status(facts(request=request, head=False), None, NOW)
    unpinned = bindingstatus.client_status(facts(), stored, NOW)
    assert not bindingstatus.same_status(stored, unpinned)


def test_application_status():
    status = bindingstatus.application_status(2, 3, None, "default flow login at HEAD", None, NOW)
    assert status["clients"] == 3 and conditions.find(status["conditions"], "Ready")["status"] == "True"
    status = bindingstatus.application_status(2, 3, Problem("HeadNotAllowed", "pin"), "", status, LATER)
    assert conditions.find(status["conditions"], "Ready")["reason"] == "HeadNotAllowed"
    assert conditions.find(status["conditions"], "Stalled")["status"] == "True"


def resolved_status(version="v2", head=True, requested_version="HEAD", reason="Resolved"):
    return {
        "flow": "login",
        "version": version,
        "followsHead": head,
        "requested": {"name": "login", "version": requested_version},
        "conditions": [{"type": "Resolved", "status": "True" if reason == "Resolved" else "False", "reason": reason}],
    }


def test_flow_events_touch_only_stale_followers_and_unresolved_clients():
    follower = fanout.client_entry("c", resolved_status())
    assert not fanout.client_touched_by_flow(follower, "login", "v2", deleted=False)
    assert fanout.client_touched_by_flow(follower, "login", "v3", deleted=False)
    assert not fanout.client_touched_by_flow(follower, "checkout", "v3", deleted=False)
    assert fanout.client_touched_by_flow(follower, "login", None, deleted=True)
    pinned = fanout.client_entry("c", resolved_status(head=False, requested_version="2"))
    assert not fanout.client_touched_by_flow(pinned, "login", "v3", deleted=False)
    missing = fanout.client_entry("c", resolved_status(reason="FlowNotFound"))
    assert fanout.client_touched_by_flow(missing, "login", "v3", deleted=False)
    assert not fanout.client_touched_by_flow(missing, "login", None, deleted=True)


def test_policy_changes_touch_head_clients_whose_state_disagrees():
    follower = fanout.client_entry("c", resolved_status())
    refused = fanout.client_entry("c", resolved_status(reason="HeadNotAllowed"))
    pinned = fanout.client_entry("c", resolved_status(head=False, requested_version="2"))
    assert fanout.client_touched_by_policy(follower, allow_head=False)
    assert not fanout.client_touched_by_policy(follower, allow_head=True)
    assert fanout.client_touched_by_policy(refused, allow_head=True)
    assert not fanout.client_touched_by_policy(refused, allow_head=False)
    assert not fanout.client_touched_by_policy(pinned, allow_head=False)


def test_rule_changes_touch_pinned_clients_and_those_a_rule_refused():
    pinned = fanout.client_entry("c", resolved_status(head=False, requested_version="2"))
    refused_pin = fanout.client_entry("c", resolved_status(head=False, requested_version="2", reason="VersionNotReady"))
    typo = fanout.client_entry("c", resolved_status(head=False, requested_version="9", reason="VersionNotFound"))
    follower = fanout.client_entry("c", resolved_status())
    assert fanout.client_touched_by_rules(pinned) and fanout.client_touched_by_rules(refused_pin)
    assert not fanout.client_touched_by_rules(typo), "new rules cannot make a missing version exist"
    assert not fanout.client_touched_by_rules(follower), "HEAD followers move with their Flow's HEAD"
    assert not fanout.client_touched_by_rules(fanout.client_entry("c", {}))
    broken_head = fanout.client_entry("c", resolved_status(reason="GuardrailsInvalid"))
    assert fanout.client_touched_by_rules(broken_head), "rules that could not be used may be fixed"


def test_an_environment_coming_or_going_touches_the_clients_it_changes():
    bound = fanout.client_entry("c", resolved_status())
    waiting = fanout.client_entry("c", resolved_status(reason="NoEnvironment"))
    typo = fanout.client_entry("c", resolved_status(reason="VersionNotFound"))
    assert fanout.client_touched_by_environment(bound, exists=False) and fanout.client_touched_by_environment(typo, exists=False)
    assert not fanout.client_touched_by_environment(waiting, exists=False), "already says so"
    assert fanout.client_touched_by_environment(waiting, exists=True)
    assert not fanout.client_touched_by_environment(bound, exists=True)
    unseen = fanout.client_entry("c", {})  # its status not in the index yet
    assert fanout.client_touched_by_environment(unseen, exists=False)
    assert fanout.client_touched_by_environment(unseen, exists=True)


def test_application_entries():
    ready = {"conditions": [{"type": "Ready", "status": "True", "reason": "Resolved"}], "clients": 2}
    entry = fanout.application_entry("web", {"defaultFlow": {"name": "login"}}, ready)
    assert entry == {"name": "web", "flow": "login", "head": True, "ready": True, "reason": "Resolved", "clients": 2}
    assert fanout.application_touched_by_flow(entry, "login", deleted=True, head=None)
    assert not fanout.application_touched_by_flow(entry, "login", deleted=False, head="v2")
    assert fanout.application_touched_by_flow(entry, "login", deleted=False, head=None), "no version passes any more"
    assert not fanout.application_touched_by_flow(entry, "signup", deleted=False, head=None)
    assert fanout.application_touched_by_policy(entry, allow_head=False)
    pinned = fanout.application_entry("web", {"defaultFlow": {"name": "login", "version": 3}}, ready)
    assert pinned["head"] is False and not fanout.application_touched_by_policy(pinned, allow_head=False)
    assert not fanout.application_touched_by_flow(pinned, "login", deleted=False, head=None), "a pin is judged by the rules"
    assert fanout.application_touched_by_rules(pinned) and not fanout.application_touched_by_rules(entry)


def test_waiting_for_a_promotion_under_way_is_reconciling():
    waiting = Problem("WaitingForPromotion", "waiting for Promotion p (it is Running)", stalled=False)
    found = conditions.find
    status = bindingstatus.client_status(facts(waiting, held=None), None, NOW)
    assert found(status["conditions"], "Reconciling")["reason"] == "WaitingForPromotion"
    assert found(status["conditions"], "Stalled") is None
    assert found(status["conditions"], "Ready")["status"] == "False"


def test_waiting_for_a_promotion_awaiting_approval_is_suspended_as_that_promotion_is():
    """No Ready and nothing abnormal: kstatus Current, Argo CD Suspended (docs/health.md)."""
    waiting = Problem("WaitingForPromotion", "waiting for Promotion p (it is AwaitingApproval)", stalled=False, suspended=True)
    for status in (
        bindingstatus.client_status(facts(waiting, held=None), None, NOW),
        bindingstatus.application_status(2, 0, waiting, waiting.message, None, NOW),
    ):
        types = {c["type"]: c for c in status["conditions"]}
        assert set(types) == {"Resolved"}
        assert types["Resolved"]["status"] == "False" and types["Resolved"]["reason"] == "WaitingForPromotion"
