import logging

from flowops.logs import HandlerSuccessFilter


def _record(level, message):
    return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)


def test_per_handler_success_lines_are_dropped():
    assert not HandlerSuccessFilter().filter(_record(logging.INFO, "Handler 'flow_event' succeeded."))


def test_summaries_and_failures_are_kept():
    keep = HandlerSuccessFilter()
    assert keep.filter(_record(logging.INFO, "Resuming is processed: 1 succeeded; 0 failed."))
    assert keep.filter(_record(logging.ERROR, "Handler 'reconcile_flow' failed with an exception. Will retry."))
    assert keep.filter(_record(logging.INFO, "flowops operator connected to https://127.0.0.1"))
