"""Changes to a target (chaostoolkit-style actions), e.g. throttling a region's API function.

Every action refuses to run on a read-only :class:`gtcore.target.Target` (ReadOnlyError).
"""
