"""Entry point of the Pulumi program (``main: infra/`` in Pulumi.yaml).

A bad stack configuration ends in :class:`pulumi.RunError`, which the Pulumi CLI prints without a traceback:
the user sees the list of problems and a non-zero exit, under ``pulumi preview`` and the offline preview alike.
"""

import os
import sys

# The program imports the repository's `components` package; Pulumi runs this folder with itself on sys.path.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import pulumi  # noqa: E402

from infra import program  # noqa: E402
from infra.config import ConfigError  # noqa: E402

try:
    program.run(program.load())
except ConfigError as exc:
    raise pulumi.RunError(str(exc)) from None
