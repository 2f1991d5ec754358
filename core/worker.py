"""``python -m liveharness.worker SPEC``: one worker process of ``workers = N``.

The entry point only; the worker itself is :mod:`liveharness._engine.workerprocess`.
"""

from __future__ import annotations

import sys

from ._engine.workerprocess import main

if __name__ == "__main__":
    sys.exit(main())
