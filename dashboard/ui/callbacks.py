"""Widget callbacks that run to their end, though a newer request has already arrived."""

from __future__ import annotations

from typing import Any

from streamlit.runtime.state.safe_session_state import SafeSessionState

_MARK = "_loupe_runs_callbacks_whole"


def _no_check() -> None:
    return None


def callbacks_run_whole() -> None:
    """Make every widget callback of a run start and finish, whatever arrives meanwhile.

    Streamlit looks for a newer request from the browser at every read or write of
    ``st.session_state``, and once more just before it dispatches a run's callbacks. A
    request found there ends the run on the spot and the callbacks' clicks and keys are
    gone: the browser has already forgotten them. "2" then "S" pressed quickly lost the two
    stars (saved as nothing), and a click on a star could leave the screen showing a rating
    the store never received. While the callbacks are dispatched these checks are held
    off; Streamlit checks right after them, so the newer run starts as soon as they are
    done. Anything a callback sends to the browser (a toast) still checks, so it comes last.
    """
    dispatch = getattr(SafeSessionState, "on_script_will_rerun", None)
    if dispatch is None or getattr(dispatch, _MARK, False):
        return

    def on_script_will_rerun(self: SafeSessionState, *args: Any, **kwargs: Any) -> None:
        try:
            check = object.__getattribute__(self, "_yield_callback")
        except AttributeError:  # a session state without the check: nothing to hold off
            return dispatch(self, *args, **kwargs)
        object.__setattr__(self, "_yield_callback", _no_check)
        try:
            return dispatch(self, *args, **kwargs)
        finally:
            object.__setattr__(self, "_yield_callback", check)

    setattr(on_script_will_rerun, _MARK, True)
    SafeSessionState.on_script_will_rerun = on_script_will_rerun  # type: ignore[method-assign]
