"""A verdict counts only under the rules it was made under: HEAD is found by judging as far
back as it takes, a pinned version is judged again before it is served, and rules that
cannot be compiled judge nothing again."""

from __future__ import annotations

from typing import Any

import pytest

from flowops.domain import flowstatus, guardrails, policy
from flowops.domain.bindingtarget import Problem
from flowops.domain.commit import VersionRecord
from flowops.services import bindings_resolve, flows, versions
from flowops.services.bindings_concurrency import BindingState
from flowops.services.bindings_reads import Reads

ENV = {"metadata": {"name": "production"}, "spec": {"namespace": "prod"}}
NEEDS_FOOTER = [{"name": "needs-footer", "expression": "has(content.footer)", "message": "add /footer"}]


def env_with(rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {**ENV, "spec": {**ENV["spec"], "policy": {"guardrails": rules}}}


def compiled(rules: list[dict[str, Any]]) -> guardrails.CompiledRules:
    return guardrails.compile_rules(policy.guardrails_of(env_with(rules)))


OLD, FOOTER = compiled([]), compiled(NEEDS_FOOTER)
BROKEN = compiled([{"name": "broken", "expression": "content.(", "message": "x"}])


def record(number: int) -> VersionRecord:
    # Every version passed the old rules; only version 1 has a footer.
    return VersionRecord(f"login-{number:05d}", f"v{number}", number, f"hash-{number}", ready=True, rules_digest=OLD.digest)


DOCUMENTS = {f"login-{n:05d}": ({"footer": "f"} if n == 1 else {"title": str(n)}) for n in range(1, 31)}


@pytest.fixture
def verdicts_written(monkeypatch) -> list[tuple[str, bool, str]]:
    """The verdicts recorded on FlowVersions, and each version's document served from memory."""
    written: list[tuple[str, bool, str]] = []
    monkeypatch.setattr(versions, "read_version", lambda kube, namespace, flow, record: DOCUMENTS[record.name])
    monkeypatch.setattr(versions, "decode", lambda kube, namespace, flow, version: DOCUMENTS[version["metadata"]["name"]])
    monkeypatch.setattr(
        versions,
        "set_guardrail_result",
        lambda kube, namespace, name, ready, summary, results, digest, **_: written.append((name, ready, digest)),
    )
    return written


def test_head_is_judged_as_far_back_as_it_takes(verdicts_written) -> None:
    records = [record(n) for n in range(1, 31)]
    flows._evaluate_pending(object(), "prod", "login", records, FOOTER)  # type: ignore[arg-type]
    assert flowstatus.head_of(records).number == 1, "not an older verdict standing in for the rules in force"
    assert len(verdicts_written) == 30 and all(d == FOOTER.digest for _, _, d in verdicts_written)
    assert [ready for _, ready, _ in verdicts_written] == [False] * 29 + [True]

    verdicts_written.clear()
    flows._evaluate_pending(object(), "prod", "login", records, FOOTER)  # type: ignore[arg-type]
    assert verdicts_written == [], "judged once: the next reconcile reads the recorded verdicts"


def test_rules_that_cannot_be_compiled_leave_every_verdict_standing(verdicts_written) -> None:
    records = [record(n) for n in range(1, 4)]
    flows._evaluate_pending(object(), "prod", "login", records, BROKEN)  # type: ignore[arg-type]
    assert not BROKEN.valid and verdicts_written == []
    assert flowstatus.head_of(records).number == 3


class FakeKube:
    def __init__(self) -> None:
        self.flow = {"metadata": {"name": "login", "uid": "u1"}, "status": {"latestReadyVersion": "v3"}}

    def get_or_none(self, resource: Any, name: str, namespace: str) -> dict[str, Any]:
        return self.flow

    def get(self, resource: Any, name: str, namespace: str) -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": {}}


def resolve(monkeypatch, selector: str, env: dict[str, Any]) -> VersionRecord | Problem:
    monkeypatch.setattr(versions, "list_records", lambda kube, namespace, flow, owner_uid=None: [record(n) for n in (1, 2, 3)])
    return bindings_resolve.target(Reads(FakeKube(), BindingState()), "prod", "login", selector, env, lambda ns, flow: [])  # type: ignore[arg-type]


def test_a_pin_is_judged_again_under_the_rules_in_force(monkeypatch, verdicts_written) -> None:
    refused = resolve(monkeypatch, "2", env_with(NEEDS_FOOTER))
    assert isinstance(refused, Problem) and refused.reason == "VersionNotReady"
    assert "flow login version 2 (v2) failed guardrails" in refused.message and "needs-footer" in refused.message
    assert verdicts_written == [("login-00002", False, FOOTER.digest)]

    verdicts_written.clear()
    served = resolve(monkeypatch, "1", env_with(NEEDS_FOOTER))
    assert isinstance(served, VersionRecord) and served.ready and served.rules_digest == FOOTER.digest
    assert verdicts_written == [("login-00001", True, FOOTER.digest)]


def test_head_is_judged_too_and_waits_for_its_flow_when_it_fails(monkeypatch, verdicts_written) -> None:
    """The Flow's HEAD (version 3) was judged under the old rules: served only once judged
    under the new ones; failing them, the binding waits for the Flow to move HEAD."""
    waiting = resolve(monkeypatch, "HEAD", env_with(NEEDS_FOOTER))
    assert isinstance(waiting, Problem) and waiting.reason == "NoReadyVersion" and not waiting.stalled
    assert "HEAD, version 3 (v3), fails the environment's current guardrails" in waiting.message
    assert verdicts_written == [("login-00003", False, FOOTER.digest)]

    verdicts_written.clear()
    titled = [{"name": "titled", "expression": "has(content.title)", "message": "add /title"}]
    head = resolve(monkeypatch, "HEAD", env_with(titled))
    assert isinstance(head, VersionRecord) and head.number == 3 and head.ready
    assert [name for name, _, _ in verdicts_written] == ["login-00003"]


def test_verdicts_under_the_rules_in_force_are_not_judged_again(monkeypatch, verdicts_written) -> None:
    current = resolve(monkeypatch, "2", env_with([]))
    assert isinstance(current, VersionRecord) and current.number == 2
    assert verdicts_written == []


def test_rules_that_cannot_be_used_resolve_nothing(monkeypatch, verdicts_written) -> None:
    """No verdict stands in for them, an older one least of all: a binding keeps what it holds."""
    broken = [*NEEDS_FOOTER, {"name": "broken", "expression": "content.(", "message": "x"}]
    for selector in ("1", "2", "HEAD"):
        refused = resolve(monkeypatch, selector, env_with(broken))
        assert isinstance(refused, Problem) and refused.reason == "GuardrailsInvalid" and refused.stalled
        assert "environment production's guardrails cannot be used (broken:" in refused.message
    assert verdicts_written == []


def test_rules_seen_change_only_after_a_first_sight() -> None:
    state = BindingState()
    assert not state.rules_changed("prod", "sha256:a"), "at start-up resumed clients judge their own pins"
    assert not state.rules_changed("prod", "sha256:a")
    assert state.rules_changed("prod", "sha256:b")
    assert not state.rules_changed("dev", None)
    assert state.rules_changed("dev", "sha256:a"), "a new Environment's first rules"
    state.forget_rules("prod")
    assert not state.rules_changed("prod", "sha256:c")
