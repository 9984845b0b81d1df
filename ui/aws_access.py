"""Who the dashboard talks to AWS as, and the page-wide stop when it has no credentials.

Without credentials every region would look "Unreachable" and every page would list the same
failure once per region; the cause belongs at the top of the main area, in the screen's words.
"""

from __future__ import annotations

import streamlit as st

from gtcore.errors import CredentialsError, GtError
from gtcore.target import Target
from ui import session

CREDENTIALS_HELP = (
    "Type the name of a profile of this machine under **AWS profile** in the sidebar and press "
    "**Apply**, or give the machine that runs the dashboard credentials (environment variables, "
    "`~/.aws/credentials`, or an SSO login), then reload the page. To try everything without "
    "AWS, switch **Talk to** to **Local emulator**."
)


@st.cache_data(ttl=300, show_spinner=False)
def _identity(regions: tuple[str, ...], table: str, endpoint: str | None, profile: str | None,
              read_only: bool) -> dict[str, str]:
    target = Target(regions=regions, table=table, endpoint=endpoint, profile=profile,
                    read_only=read_only)
    return session.connection_for(target).identity()


def identity() -> dict[str, str]:
    """Account and ARN of the caller (never keys); GtError when there is none."""
    t = session.target()
    return _identity(t.regions, t.table, t.endpoint, t.profile, t.read_only)


def missing_credentials() -> CredentialsError | None:
    """The credentials problem of an AWS target (None on the emulator or when they work)."""
    if session.choice().is_emulator:
        return None
    try:
        identity()
    except CredentialsError as err:
        return err
    except GtError:
        return None  # other failures are shown where they happen, per region
    return None


def stop_without_credentials() -> None:
    """On AWS without usable credentials: say so in the main area and draw nothing else."""
    err = missing_credentials()
    if err is None:
        return
    profile = session.choice().profile
    who = f"for profile `{profile}`" if profile else "(no profile set, none in the environment)"
    st.error(f"**No AWS credentials** {who}: the dashboard cannot read or change anything on "
             f"AWS ({err.message}).", icon=":material/key_off:")
    st.markdown(CREDENTIALS_HELP)
    st.stop()
