import logging

from flowops import logs
from flowops.logs import RetriedRequestFilter


def test_routine_success_lines_are_dropped():
    assert logs.routine(logging.INFO, "Handler 'flow_event' succeeded.")


def test_summaries_of_changes_and_failures_are_kept():
    assert not logs.routine(logging.INFO, "Updating is processed: 1 succeeded; 0 failed.")
    assert not logs.routine(logging.INFO, "Creation is processed: 1 succeeded; 0 failed.")
    assert not logs.routine(logging.INFO, "Resuming is processed: 1 succeeded; 0 failed.")
    assert not logs.routine(logging.ERROR, "Handler 'reconcile_flow' failed with an exception. Will retry.")
    assert not logs.routine(logging.WARNING, "Handler 'x' succeeded.")
    assert not logs.routine(logging.INFO, "flowops operator connected to https://127.0.0.1")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_kopfs_object_logger_drops_routine_lines_unless_verbose():
    from kopf._core.actions.loggers import LocalObjectLogger

    kopf_objects = logging.getLogger("kopf.objects")
    capture, level = _Capture(), kopf_objects.level
    kopf_objects.addHandler(capture)
    kopf_objects.setLevel(logging.INFO)
    body = {"apiVersion": "flowops.io/v1alpha1", "kind": "Flow", "metadata": {"name": "f", "namespace": "dev", "uid": "u"}}
    adapter = LocalObjectLogger(body=body, settings=None)  # type: ignore[arg-type]  # settings only travel in extra
    try:
        logs.configure(verbose=False)
        adapter.info("Handler 'reconcile_flow' succeeded.")
        adapter.info("Resuming is processed: 1 succeeded; 0 failed.")
        adapter.error("Handler 'reconcile_flow' failed temporarily: boom")
        assert [r.getMessage() for r in capture.records] == [
            "Resuming is processed: 1 succeeded; 0 failed.",
            "Handler 'reconcile_flow' failed temporarily: boom",
        ]
        assert capture.records[0].k8s_ref["name"] == "f"  # type: ignore[attr-defined]  # Kopf's per-object fields still travel
        assert capture.records[0].pathname != logs.__file__  # the caller named is where Kopf logged
        capture.records.clear()
        logs.configure(verbose=True)
        adapter.info("Handler 'reconcile_flow' succeeded.")
        assert [r.getMessage() for r in capture.records] == ["Handler 'reconcile_flow' succeeded."]
    finally:
        kopf_objects.removeHandler(capture)
        kopf_objects.setLevel(level)
        logs.configure(verbose=False)


def _kopf(level, message):
    return logging.LogRecord("kopf._cogs.clients.watching", level, __file__, 1, message, None, None)


def test_retried_requests_during_start_up_are_not_errors():
    quiet = RetriedRequestFilter()
    starting = _kopf(
        logging.ERROR,
        "Request attempt #1/9 failed; will retry: GET https://h/apis/flowops.io/v1alpha1/promotions -> "
        "APITooManyRequestsError('storage is (re)initializing', {}, status=429)",
    )
    assert quiet.filter(starting) and starting.levelno == logging.INFO and starting.levelname == "INFO"
    other = _kopf(logging.ERROR, "Request attempt #2/9 failed; will retry: GET https://h/x -> APIServerError('boom', status=500)")
    assert quiet.filter(other) and other.levelno == logging.WARNING


def test_the_last_attempt_and_other_errors_stay_errors():
    quiet = RetriedRequestFilter()
    last = _kopf(
        logging.ERROR,
        "Request attempt #9/9 failed; escalating: GET https://h/x -> APITooManyRequestsError('storage is (re)initializing')",
    )
    handler = _kopf(logging.ERROR, "Handler 'reconcile_flow' failed with an exception. Will retry.")
    for record in (last, handler):
        assert quiet.filter(record) and record.levelno == logging.ERROR


def test_kopf_bodies_are_not_formatted_whole_below_verbose():
    from kopf._cogs.structs.bodies import Body

    from flowops import logs

    formatted: list[int] = []

    class Document(dict):
        """Stands for a megabyte document: counts how often it is formatted."""

        def __repr__(self) -> str:
            formatted.append(1)
            return "{...}"

    body = Body(
        {"kind": "Flow", "metadata": {"name": "signin", "namespace": "dev", "generation": 4}, "spec": {"content": Document()}}
    )
    if "__repr__" in Body.__dict__:  # shortened by an earlier configure() in this process
        del Body.__repr__
    original = Body.__repr__
    try:
        logs.configure(verbose=True)
        assert "{...}" in repr(body) and formatted == [1]  # --verbose logs every body whole
        logs.configure(verbose=False)
        assert f"{body!r}" == "<Flow dev/signin generation=4>"  # as Kopf formats it
        assert formatted == [1]
    finally:
        del Body.__repr__
        assert Body.__repr__ is original


def test_the_cel_interpreters_step_by_step_debug_lines_stay_off_even_when_verbose():
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.DEBUG)
    try:
        logs.configure(verbose=True)
        assert not logging.getLogger("celpy.Evaluator").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("celpy.Evaluator").isEnabledFor(logging.WARNING)
    finally:
        root.setLevel(level)


def test_a_retry_its_handler_expected_is_logged_at_the_level_the_handler_chose():
    from flowops.handlers.retries import QUIET_RETRIES, retry_shortly

    expected, events = logs.EXPECTED_RETRIES, []
    body = {"kind": "Promotion", "metadata": {"name": "p", "namespace": "staging"}}
    reason = RuntimeError("promotion p changed since it was read")
    first = retry_shortly(reason, 0, 1, body, lambda *event: events.append(event))
    assert str(first) == "promotion p changed since it was read" and first.delay == 1
    line = "Handler 'reconcile_promotion' failed temporarily: promotion p changed since it was read"
    assert expected.level_for(logging.ERROR, line) == logging.INFO
    assert expected.level_for(logging.ERROR, line) == logging.ERROR, "each announcement serves one line"
    retry_shortly(reason, QUIET_RETRIES, 1, body, lambda *event: events.append(event))
    assert expected.level_for(logging.ERROR, line) == logging.WARNING, "a retry that keeps happening is worth a warning"


def test_a_retry_that_keeps_happening_is_told_once_on_the_object():
    from flowops.handlers.retries import QUIET_RETRIES, retry_shortly

    events: list[tuple] = []
    body = {"kind": "Promotion", "metadata": {"name": "p", "namespace": "staging"}}
    reason = RuntimeError("target flow login has no version for this promotion yet")
    for retry in range(QUIET_RETRIES + 3):
        retry_shortly(reason, retry, 1, body, lambda *event: events.append(event))
    assert events == [
        (
            body,
            "Warning",
            "Retrying",
            f"target flow login has no version for this promotion yet (retried {QUIET_RETRIES} times in a row, every 1 s)",
        )
    ]
    for _ in range(QUIET_RETRIES + 3):  # the lines Kopf would have logged
        logs.EXPECTED_RETRIES.level_for(logging.ERROR, f"Handler 'x' failed temporarily: {reason}")


def test_other_temporary_failures_and_errors_keep_kopfs_level():
    expected = logs.ExpectedRetries()
    expected.expect("boom", logging.INFO)
    assert expected.level_for(logging.ERROR, "Handler 'x' failed temporarily: other") == logging.ERROR
    assert expected.level_for(logging.ERROR, "Handler 'x' failed with an exception. Will retry.") == logging.ERROR
    timed_out = "Handler 'x' failed temporarily but will time out after 5 seconds: boom"
    assert expected.level_for(logging.ERROR, timed_out) == logging.ERROR
    assert expected.level_for(logging.ERROR, "Handler 'x' failed temporarily: boom") == logging.INFO


def test_announcements_kopf_never_logged_are_bounded():
    expected = logs.ExpectedRetries(limit=2)
    for reason in ("a", "b", "c"):
        expected.expect(reason, logging.INFO)
    assert expected.level_for(logging.ERROR, "Handler 'x' failed temporarily: a") == logging.ERROR
    assert expected.level_for(logging.ERROR, "Handler 'x' failed temporarily: c") == logging.INFO


def test_two_objects_retrying_with_the_same_words_are_both_expected():
    expected = logs.ExpectedRetries()
    expected.expect("promotion p changed since it was read", logging.INFO)  # p in one namespace
    expected.expect("promotion p changed since it was read", logging.WARNING)  # p in another
    line = "Handler 'reconcile_promotion' failed temporarily: promotion p changed since it was read"
    assert [expected.level_for(logging.ERROR, line) for _ in range(3)] == [logging.INFO, logging.WARNING, logging.ERROR]


def test_announcements_of_one_reason_kopf_never_logged_are_bounded_too():
    expected = logs.ExpectedRetries(limit=2)
    for level in (logging.INFO, logging.INFO, logging.WARNING):
        expected.expect("promotion p changed since it was read", level)
    line = "Handler 'x' failed temporarily: promotion p changed since it was read"
    assert [expected.level_for(logging.ERROR, line) for _ in range(3)] == [logging.INFO, logging.WARNING, logging.ERROR]
