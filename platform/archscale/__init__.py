"""archscale: hyperparameter-comparison studies of tuned vs principled architecture-aware scaling."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("archscale")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
