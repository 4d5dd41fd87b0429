"""Work in progress: being written now (placeholder, replaced before any commit)."""
def adaptive_avg_pool2d(*args, **kwargs):
    raise NotImplementedError


def adaptive_max_pool2d(*args, **kwargs):
    raise NotImplementedError


def avg_pool2d(*args, **kwargs):
    raise NotImplementedError


def lp_pool2d(*args, **kwargs):
    raise NotImplementedError


def max_pool2d(*args, **kwargs):
    raise NotImplementedError


def max_unpool2d(*args, **kwargs):
    raise NotImplementedError


