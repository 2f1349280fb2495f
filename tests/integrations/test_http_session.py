"""Adapters share one HTTP session per thread (kept-alive connections) and it keeps no cookies."""

import threading

import responses

from integrations.http import ProviderHTTP, shared_session
from integrations.registry import get_provider


def test_adapters_built_in_one_thread_share_its_session_and_other_threads_have_their_own():
    spec = get_provider("google_calendar")
    assert ProviderHTTP(spec).session is ProviderHTTP(spec).session is shared_session()
    seen = []
    thread = threading.Thread(target=lambda: seen.append(ProviderHTTP(spec).session))
    thread.start()
    thread.join()
    assert seen[0] is not shared_session()


@responses.activate
def test_a_cookie_one_connection_was_given_is_never_sent_for_another():
    spec = get_provider("google_calendar")
    first, second = ProviderHTTP(spec), ProviderHTTP(spec)
    url = f"{spec.base_url}/users/me/calendarList"
    responses.get(url, json={}, headers={"Set-Cookie": "session=org-a; Path=/"})
    responses.get(url, json={})
    first.request("GET", url)
    second.request("GET", url)
    assert "Cookie" not in responses.calls[1].request.headers
    assert not shared_session().cookies
