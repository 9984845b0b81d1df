"""Failover drill: the workshop's video player, as code, with a verdict.

A viewer watches a video.  Every ``interval`` (500 ms as in the workshop) it sets the user's
bookmark (``PK=user10``, ``SK=<video id>``, ``bookmark`` = the fraction watched, a string such
as ``"0.013889"``) through the *active* region's regional API, then reads the bookmark back from
every region, as the player page shows it.

* After ``fail_after`` consecutive failed writes (default 3) it fails over to the next healthy
  region (a real ``/health`` check, which reads the table, in region order after the active
  one) and writes there at once, without waiting for the next tick.  The workshop's player
  needed 30 failures, and only by accident.
* While away from home it checks home's health every ``health_every`` ticks and fails back
  after ``healthy_needed`` good checks in a row (``auto_failback``), or when asked
  (:meth:`FailoverDrill.request_failback`).

Everything goes into a :class:`~gtcore.history.History`; :func:`check_drill` judges it:
after the drill the replicas are re-read until they agree, and then every region must hold the
last acknowledged bookmark (or a later write whose outcome was unknown).  Acknowledged writes
that the converged state does not reflect are lost: that count is the RPO and it must be 0.
RTO is measured per outage from the first failed write to the first acknowledged write after
it (``elsewhere`` tells whether that was in another region, i.e. a failover).

- :mod:`.config` - how the viewer behaves;
- :mod:`.checker` - the verdict (RPO, RTO, convergence) judged from a history alone;
- :mod:`.runner` - the player itself, its live state and the final re-reads.
"""

from gtcore.experiments.drill.checker import DrillVerdict, Outage, check_drill
from gtcore.experiments.drill.config import EXPERIMENT, DrillConfig
from gtcore.experiments.drill.runner import DrillState, FailoverDrill, LogEntry, RegionView

__all__ = [
    "EXPERIMENT",
    "DrillConfig",
    "DrillState",
    "DrillVerdict",
    "FailoverDrill",
    "LogEntry",
    "Outage",
    "RegionView",
    "check_drill",
]
