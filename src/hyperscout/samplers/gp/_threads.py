"""Single-threaded BLAS while the GP works.

A GP fit issues hundreds of small BLAS and LAPACK calls (a few hundred rows each). With a
multi-threaded OpenBLAS on a busy machine, every call wakes worker threads that wait for a free
core, and a fit that needs 0.05 s of CPU can take seconds (measured here: 60x slower on 2 shared
cores). :func:`single_threaded_blas` pins BLAS to one thread for the duration, through
threadpoolctl when it is installed (it comes with scikit-learn); without it, nothing changes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["single_threaded_blas"]

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _controller() -> Any:
    with _lock:
        if "controller" not in _state:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                _state["controller"] = None
            else:
                _state["controller"] = ThreadpoolController()
        return _state["controller"]


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS libraries to one thread inside the block (a no-op without threadpoolctl)."""
    controller = _controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
