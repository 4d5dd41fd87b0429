"""Work in progress (issue 3): alternative conv algorithms; placeholder replaced before commit."""


def run(method, spec, n):
    raise ValueError(f"method={method!r} is not available yet; only 'direct' is implemented")
