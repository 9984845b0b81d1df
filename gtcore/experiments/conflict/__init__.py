"""Conflict lab: write the same item in several regions at once and see who wins.

One trial: every region's writer thread (its own pre-warmed connection: a throwaway read first)
waits at a barrier; the barrier releases them together, so the writes start within a few
milliseconds of each other (the spread of their send times, the *start skew*, is measured and
reported).  Then the lab reads every replica until they all agree (or reports a divergence at
the timeout) and the checker judges the trial from the history alone:

* **conflict** - two acknowledged writes where neither saw the other (each write returns the
  item it replaced, so the lab knows what every write was based on);
* **winner** - the write whose image every replica converged to;
* **lost writes** - acknowledged writes that are neither the winner nor something the winner
  was based on: they vanished without an error;
* **last writer wins?** - the winner must be a latest write: no acknowledged write that saw it,
  and no concurrent write that was sent after the winner was acknowledged.  When the winner's
  request overlapped another concurrent write's request, the client cannot tell which was
  applied later: that is a *tie within the skew*, consistent with last-writer-wins.  Set
  ``stagger_ms`` to start region *i* ``i * stagger_ms`` after the release: the writes still
  conflict (when the stagger is well under the replication lag) but their order is known.

Two modes.  ``set`` writes a distinct absolute value per region (``Bookmark = 25``): a conflict
loses a write but leaves a state one writer produced.  ``increment`` runs ``Bookmark = Bookmark +
1`` everywhere: after a conflict the converged value is less than the start plus the number of
acknowledged increments - lost updates - which is why the workshop advises absolute values.

Two paths.  ``dynamodb`` (default) writes with UpdateItem and ``ReturnValues=ALL_OLD`` and tags
each write with a writer id attribute (``gtWriter``), so conflicts and winners are exact.
``api`` goes through each region's regional API (``/set`` and ``/update`` routes, as the
dashboard's guided demo on ``user100``/``AshlandValley`` does); that API returns only the new
value, so in ``set`` mode the lab cannot tell a conflict from two quick writes (``conflict`` is
then ``None``); in ``increment`` mode the old value is the new one minus the increment.

- :mod:`.config` - the batch of trials; :mod:`.ports` - one region's way in (either path);
- :mod:`.checker` - judging trials from a history; :mod:`.runner` - the lab itself.
"""

from gtcore.experiments.conflict.checker import (
    TrialResult,
    WriteOutcome,
    check_history,
    judge_trial,
    summarize_trials,
    trials_frame,
)
from gtcore.experiments.conflict.config import CONFLICT_PK, ConflictConfig, Mode
from gtcore.experiments.conflict.runner import EXPERIMENT, ConflictLab, ConflictProgress

__all__ = [
    "CONFLICT_PK",
    "EXPERIMENT",
    "ConflictConfig",
    "ConflictLab",
    "ConflictProgress",
    "Mode",
    "TrialResult",
    "WriteOutcome",
    "check_history",
    "judge_trial",
    "summarize_trials",
    "trials_frame",
]
