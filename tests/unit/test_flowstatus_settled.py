from flowops.domain import flowstatus

HASH = "sha256:" + "a" * 64


def _flow(**status):
    base = {
        "observedGeneration": 3,
        "contentHash": HASH,
        "uncommitted": False,
        "latestCreatedVersion": "20261121-0001",
        "versionCount": 4,
        "conditions": [{"type": "Ready", "status": "True", "message": "HEAD is version 4"}],
    }
    return {"metadata": {"generation": 3}, "status": {**base, **status}}


def test_a_flow_whose_status_describes_its_spec_is_settled():
    assert flowstatus.settled(_flow(), history_limit=10, has_environment=True)


def test_a_status_of_another_generation_or_without_a_content_hash_is_not_settled():
    assert not flowstatus.settled(_flow(observedGeneration=2), 10, True)
    assert not flowstatus.settled(_flow(contentHash=None), 10, True)


def test_uncommitted_or_never_committed_is_not_settled():
    assert not flowstatus.settled(_flow(uncommitted=True), 10, True)
    assert not flowstatus.settled(_flow(latestCreatedVersion=None), 10, True)
    assert not flowstatus.settled({"metadata": {"generation": 1}}, 10, True)


def test_more_versions_than_the_history_limit_is_not_settled():
    assert not flowstatus.settled(_flow(versionCount=11), 10, True)


def test_an_environment_that_came_or_went_is_not_settled():
    note = [
        {
            "type": "Ready",
            "status": "True",
            "message": f"HEAD is version 4. {flowstatus.NO_ENVIRONMENT_NOTE} dev: no guardrails apply",
        }
    ]
    assert not flowstatus.settled(_flow(conditions=note), 10, has_environment=True)
    assert flowstatus.settled(_flow(conditions=note), 10, has_environment=False)
    assert not flowstatus.settled(_flow(), 10, has_environment=False)
