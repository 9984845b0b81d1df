"""The tag setup puts on everything it creates: teardown only removes what carries it."""

from __future__ import annotations

from collections.abc import Mapping

CREATED_BY = {"Key": "created-by", "Value": "gtcore-setup"}


def _made_by_setup(tags: Mapping[str, str]) -> bool:
    """Whether a resource's tags (key -> value) include :data:`CREATED_BY`."""
    return tags.get(CREATED_BY["Key"]) == CREATED_BY["Value"]
