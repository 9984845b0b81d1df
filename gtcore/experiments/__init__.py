"""Experiments in Jepsen's shape: a generator of operations, a client that records every
operation in a :class:`gtcore.history.History` (invoke, then ok / fail / info), and a checker
that judges the history afterwards (so an exported history can be re-checked).

- :mod:`gtcore.experiments.lag_probe` - replication lag per region pair, with bounds;
- :mod:`gtcore.experiments.conflict` - concurrent writes to one item: who wins, what is lost;
- :mod:`gtcore.experiments.drill` - the workshop's video player failing over between regions.

Shared by the three: :mod:`gtcore.background` (the run's lifecycle: start, cancel,
wait, final state), :mod:`~gtcore.experiments.outcome` (an exception -> ``fail`` or ``info``),
:mod:`~gtcore.experiments.validation` (configuration rules) and
:mod:`~gtcore.experiments.export` (results to files).
"""
