"""A map item in a module that imports scikit-learn (its OpenMP runtime) at the top, as the stage
modules do: the workers preload it, so the runtime is loaded before the item's limit is set.
Kept out of test_engine.py, whose workers should start light for the signal tests."""

from __future__ import annotations

import sklearn.cluster  # noqa: F401


def thread_limits(_: int) -> dict[str, int]:
    from threadpoolctl import threadpool_info

    return {i["user_api"]: i["num_threads"] for i in threadpool_info()}
