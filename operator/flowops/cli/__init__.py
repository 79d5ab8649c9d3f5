"""kubectl-flowops: the kubectl plugin for flows, environments, promotions and API clients.

Installed as the console script `kubectl-flowops`, so `kubectl flowops …` finds it on PATH.
"""
