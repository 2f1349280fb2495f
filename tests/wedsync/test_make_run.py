"""`make run` on the embedded defaults: it starts, /readyz goes green, the printed login works,
and Ctrl-C stops every process it started."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from wedsync.devstack.paths import REPO_ROOT
from wedsync.devstack.redis_server import free_port

pytestmark = pytest.mark.slow


def wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def processes_mentioning(text: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if text in line and "ps -eo" not in line]


def test_make_run_starts_everything_and_ctrl_c_stops_it(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY"}
    }
    env.update(WEDSYNC_RUN_DIR=str(tmp_path / "run"), PORT=str(port))
    output = tmp_path / "make-run.out"
    with open(output, "wb") as out:
        hub = subprocess.Popen(
            [sys.executable, "-m", "wedsync.devstack", "run"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            banner = wait_for(
                lambda: "Press Ctrl-C" in output.read_text() and output.read_text(),
                150,
                "the banner",
            )
        except AssertionError as error:
            logs = tmp_path / "run" / "logs"
            tails = (
                {p.name: p.read_text()[-1500:] for p in logs.glob("*.log")} if logs.exists() else {}
            )
            raise AssertionError(f"{error}\n{output.read_text()[-3000:]}\n{tails}") from None
        base = f"http://127.0.0.1:{port}"
        assert f"Admin           {base}/admin/" in banner
        assert "/ws/weddings/<wedding id>/" in banner

        def ready():
            response = requests.get(f"{base}/readyz", timeout=5)
            return response if response.status_code == 200 else None

        checks = wait_for(ready, 60, "/readyz to be green").json()["checks"]
        assert all(check["ok"] for check in checks.values())

        password = re.search(r"login: admin / (\S+)", banner).group(1)
        session = requests.Session()
        session.get(f"{base}/admin/login/", timeout=5)
        login = session.post(
            f"{base}/admin/login/?next=/admin/",
            data={
                "username": "admin",
                "password": password,
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/admin/login/"},
            timeout=10,
        )
        assert login.url.endswith("/admin/") and "Site administration" in login.text
        weddings = session.get(f"{base}/admin/wedsync/wedding/", timeout=10)
        assert "Ana Ferreira &amp; Ben Carter" in weddings.text

        token = re.search(r"token: (\w+)", banner).group(1)
        api = requests.get(
            f"{base}/api/weddings/", headers={"Authorization": f"Token {token}"}, timeout=10
        )
        assert api.json()["count"] == 1
    finally:
        hub.send_signal(signal.SIGINT)
        returncode = hub.wait(timeout=60)
    assert returncode == 0, output.read_text()[-3000:]
    assert processes_mentioning(str(tmp_path)) == []
    assert processes_mentioning(f"--port {port}") == []
