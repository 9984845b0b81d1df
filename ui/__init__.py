"""The dashboard's views: what each page draws, and the pieces pages share.

Pages import from here and from `gtcore`; `gtcore` never imports this package, and domain code
(anything that works without a screen) lives in `gtcore`. `colours` and `charts` are pure (no
Streamlit) so they can be unit-tested and reused by exports.
"""
