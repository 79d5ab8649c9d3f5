import logging

from flowops import logs
from flowops.logs import HandlerSuccessFilter, RetriedRequestFilter


def _record(level, message):
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


def test_per_handler_success_lines_are_dropped():
    assert not HandlerSuccessFilter().filter(_record(logging.INFO, "Handler 'flow_event' succeeded."))


def test_summaries_and_failures_are_kept():
    keep = HandlerSuccessFilter()
    assert keep.filter(_record(logging.INFO, "Resuming is processed: 1 succeeded; 0 failed."))
    assert keep.filter(_record(logging.ERROR, "Handler 'reconcile_flow' failed with an exception. Will retry."))
    assert keep.filter(_record(logging.INFO, "flowops operator connected to https://127.0.0.1"))


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
        logging.getLogger("kopf.objects").filters.clear()


def test_the_cel_interpreters_step_by_step_debug_lines_stay_off_even_when_verbose():
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.DEBUG)
    try:
        logs.configure(verbose=True)
        assert not logging.getLogger("celpy.Evaluator").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("celpy.Evaluator").isEnabledFor(logging.WARNING)
    finally:
        root.setLevel(level)
