"""Simulate IT service management under long-term incentive plans, before anyone is paid."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lti-itsm-toolkit")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
