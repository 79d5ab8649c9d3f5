import dataclasses

import pytest

from flowops.domain import bindingstatus, clientresume
from flowops.domain.binding import resolve_request
from flowops.domain.bindingtarget import check_selector
from flowops.domain.materialise import Fingerprint

NOW = "2026-11-30T05:00:00Z"
HEAD = "20261130050000000002"
HELD = Fingerprint("login", HEAD, 2, "sha256:2", "RestartInProgress")


def _request(version="HEAD", name="login"):
    return resolve_request({"defaultFlow": {"name": name, "version": version}}, None)


def _status(request, held=HELD, follows_head=True):
    """What the client's last reconcile wrote."""
    facts = bindingstatus.ClientFacts(4, request, held, "web-flow", follows_head)
    return bindingstatus.client_status(facts, None, NOW)


def _selector(text, allow_head=True):
    return check_selector(text, allow_head=allow_head, environment="dev")


def _holds(status, request, selector, head=HEAD, held=HELD, generation=4, env_values=None):
    return clientresume.holds_head(status, generation, request, selector, head, held, env_values)


@pytest.mark.parametrize(
    ("version", "holds"),
    [
        ("HEAD", True),
        ("2", True),  # pinned to the number HEAD has
        (HEAD, True),  # pinned to HEAD's id
        ("1", False),  # pinned to another version: only the list says whether it exists
        ("sha256:2", False),  # the newest version with that content: needs the list
    ],
)
def test_a_client_whose_status_and_configmap_name_head_keeps_it(version, holds):
    request = _request(version)
    status = _status(request, follows_head=version == "HEAD")
    assert _holds(status, request, _selector(version)) is holds


def test_anything_that_moved_while_down_needs_the_full_resolution():
    request = _request()
    status = _status(request)
    assert not _holds(status, request, _selector("HEAD"), head="20261130060000000003"), "HEAD moved"
    assert not _holds(status, request, _selector("HEAD"), head=None), "no ready version, or flow not seen"
    assert not _holds(status, request, _selector("HEAD"), generation=5), "its spec changed"
    assert not _holds(status, request, _selector("HEAD", allow_head=False)), "HEAD refused now"
    assert not _holds(status, request, _selector("HEAD"), held=None), "ConfigMap gone or not ours"
    other = dataclasses.replace(HELD, version="20261130040000000001", number=1)
    assert not _holds(status, request, _selector("HEAD"), held=other), "ConfigMap holds another version"
    assert not _holds(_status(_request(name="signup")), request, _selector("HEAD")), "asks for another flow now"
    rendered = dataclasses.replace(HELD, values=(("region", "digest-of-eu"),))
    assert not _holds(_status(request, rendered), request, _selector("HEAD"), held=rendered, env_values={"region": "us"})


def test_a_client_that_was_not_resolved_is_resolved_again():
    request = _request()
    facts = bindingstatus.ClientFacts(4, request, HELD, "web-flow", False, problem=None)
    status = bindingstatus.client_status(facts, None, NOW)
    status["conditions"] = [c | {"status": "False"} if c["type"] == "Resolved" else c for c in status["conditions"]]
    assert not _holds(status, request, _selector("HEAD"))


@pytest.mark.parametrize(
    ("head", "still"),
    [(HEAD, True), ("20261130060000000003", False), (None, False)],
)
def test_a_client_waiting_for_its_flows_first_event_is_checked_against_the_head_it_brings(head, still):
    assert clientresume.still_head(HEAD, head) is still
