"""Read-only looks at a target (chaostoolkit-style probes): status, CloudWatch, replica diff.

Probes only call read operations, so they work on a read-only :class:`gtcore.target.Target`.
"""
