"""Lag probe: measure replication lag between replicas, with honest error bounds.

Each *probe* writes a fresh item (``PK="__gtprobe__"``, ``SK="<run>#<source>#<seq>"``, a unique
``token`` and a TTL a few minutes ahead; never user data) to a source region, then polls every
destination replica of that source with strongly consistent GetItem calls until the token shows
up.  Every call is recorded in a :class:`~gtcore.history.History` (invoke just before sending,
completion just after the answer), and the lag samples are *derived from the history* by
:func:`derive_samples`, so an exported history can be re-checked later with the same result.

- :mod:`.config` - which pairs to measure and how hard to poll;
- :mod:`.checker` - the bounds (how they are derived and why they hold) and the summaries;
- :mod:`.runner` - the run: probe writes, the adaptive polling schedule, clean-up.
"""

from gtcore.experiments.lag_probe.checker import (
    SAMPLE_COLUMNS,
    LagSample,
    accuracy,
    derive_samples,
    samples_frame,
    summarize,
)
from gtcore.experiments.lag_probe.config import PROBE_PK, ProbeConfig, all_pairs, parse_pairs
from gtcore.experiments.lag_probe.runner import EXPERIMENT, LagProbe, ProbeProgress

__all__ = [
    "EXPERIMENT",
    "PROBE_PK",
    "SAMPLE_COLUMNS",
    "LagProbe",
    "LagSample",
    "ProbeConfig",
    "ProbeProgress",
    "accuracy",
    "all_pairs",
    "derive_samples",
    "parse_pairs",
    "samples_frame",
    "summarize",
]
