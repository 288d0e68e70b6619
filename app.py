"""Loupe: the Streamlit entry point. Sign-in and navigation, nothing else.

`streamlit run app.py` first imports this file as a module and finds ``app``, an ``st.App``
that serves this same file as the dashboard with two small sign-in routes beside Streamlit's
own, and a middleware that hides Streamlit's /_stcore/metrics (dashboard/ui/session_routes.py). Streamlit then runs the file as the dashboard's script,
under the name ``__main__``, for every page view; so does AppTest.
"""

from pathlib import Path

import streamlit as st

if __name__ != "__main__":
    from dashboard.ui.callbacks import callbacks_run_whole
    from dashboard.ui.session_routes import middleware, routes

    callbacks_run_whole()  # before the first session: its first run's clicks count too

    app = st.App(__file__, routes=routes(), middleware=middleware())
else:
    from dashboard.pages import PAGES, START, url_path
    from dashboard.ui.auth import allowed, current_session, login_form, login_required
    from dashboard.ui.common import get_store

    ICON = Path(__file__).parent / "assets" / "loupe.png"  # served by this server, no font host
    st.set_page_config(page_title="Loupe", page_icon=str(ICON), layout="wide")

    store = get_store()
    if login_required(store) and current_session(store) is None:
        # Every page's address shows the sign-in form, so a shared link lands there after sign-in.
        def sign_in() -> None:
            login_form(store)

        st.navigation(
            [st.Page(sign_in, title="Sign in", icon=":material/login:", default=True)]
            + [st.Page(sign_in, title="Sign in", url_path=url_path(page[0]))
               for pages in PAGES.values() for page in pages],
            position="hidden",
        ).run()
        st.stop()

    # Pages a role may not open keep their address, hidden: typing it shows the page's own
    # refusal rather than "Page not found".
    pages: dict[str, list] = {}
    start = None
    for section, entries in PAGES.items():
        for path, title, icon, action in entries:
            may = allowed(store, action)
            page = st.Page(path, title=title, icon=f":material/{icon}:", url_path=url_path(path),
                           visibility="visible" if may else "hidden")
            pages.setdefault(section, []).append(page)
            if may and (path == START or start is None):
                start = page

    def home() -> None:
        st.switch_page(start)

    # "/" is a hidden page that opens the start page, so the start page keeps its own address.
    st.navigation({"": [st.Page(home, title="Loupe", url_path="home", default=True,
                                visibility="hidden")], **pages}).run()
