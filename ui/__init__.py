"""Streamlit helpers for the dashboard: sidebar, session caching, colours, charts, messages.

Pages import from here and from `gtcore`; `gtcore` never imports this package. `colours` and
`charts` are pure (no Streamlit) so they can be unit-tested and reused by exports.
"""
