"""How every emulator is served: connections kept alive, as the providers keep them."""

from __future__ import annotations

import http.client
import threading
import time

import requests

from integrations.providers.calendars.google_calendar.emulator import GoogleCalendarEmulator


def test_a_client_keeps_one_connection_for_many_requests() -> None:
    with GoogleCalendarEmulator() as emulator:
        client = http.client.HTTPConnection(emulator.host, emulator.port, timeout=5)
        sockets, statuses = [], []
        for _ in range(3):
            client.request("GET", "/calendar/v3/users/me/calendarList")
            answer = client.getresponse()
            answer.read()
            statuses.append(answer.status)
            sockets.append(client.sock)  # None once the server said Connection: close
        client.close()

        assert statuses == [401, 401, 401]  # no token: still answered
        assert sockets[0] is not None
        assert sockets == [sockets[0]] * 3  # werkzeug's server closed after each answer
        assert len(emulator.requests) == 3


def test_a_slow_answer_does_not_hold_up_another_client() -> None:
    with GoogleCalendarEmulator() as emulator:
        emulator.inject_fault(503, delay_s=1.0, path_prefix="/calendar/v3/users/me/slow")
        url = emulator.base_url + "/calendar/v3/users/me"
        slow = threading.Thread(target=requests.get, args=(f"{url}/slow",), kwargs={"timeout": 5})
        slow.start()
        time.sleep(0.1)
        started = time.monotonic()
        quick = requests.get(f"{url}/calendarList", timeout=5)
        waited = time.monotonic() - started
        slow.join()

        assert quick.status_code == 401
        assert waited < 0.9  # answered while the slow one still slept


def test_stopping_frees_the_port_and_ends_the_thread() -> None:
    emulator = GoogleCalendarEmulator().start()
    url = f"{emulator.base_url}/calendar/v3/users/me/calendarList"
    with requests.Session() as session:
        session.get(url, timeout=5)  # a kept connection is open while it stops
        emulator.stop()

        assert emulator._thread is None
        try:
            session.get(url, timeout=2)
        except requests.ConnectionError:
            pass
        else:
            raise AssertionError("the stopped emulator still answered")


def test_many_clients_keep_their_connections() -> None:
    """More kept connections than cheroot's default limit (10): none is closed after an
    answer, as a hub's sessions (one per sending thread and process) would otherwise be."""
    with GoogleCalendarEmulator() as emulator:
        clients = [
            http.client.HTTPConnection(emulator.host, emulator.port, timeout=5) for _ in range(16)
        ]
        for _ in range(2):
            for client in clients:
                client.request("GET", "/calendar/v3/users/me/calendarList")
                client.getresponse().read()
        still_open = [client.sock is not None for client in clients]
        for client in clients:
            client.close()

        assert still_open == [True] * 16
