"""How many helper threads one handler thread may start at once, by kind of work. The API
client keeps a connection for each (services.process), so they are stated in one place."""

FAN_OUT_THREADS = 8  # a binding change's ConfigMap writers
READ_THREADS = 4  # a promotion's reads, beside its handler thread
REEVALUATE_THREADS = 4  # an Environment's flows judged again under new rules

WIDEST = max(FAN_OUT_THREADS, READ_THREADS, REEVALUATE_THREADS)
