"""The supervised production path: systemd units and a supervisord program file made from the
Procfile, kept in `deploy/`; supervisord run for real restarts a killed service on its own."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared.deploy import Layout, deploy_files, procfile_processes, supervisor_programs
from tests.processes import PROCESSES, ROOT, Client, free_port, stop, wait_for_port
from tests.processes import api_settings as settings_for

VENV_BIN = str(Path(sys.executable).parent)


def test_the_committed_deploy_files_are_what_the_procfile_makes():
    """`mailapi deploy-config` with its defaults writes exactly what `deploy/` holds."""
    files = deploy_files(ROOT / "Procfile", Layout())
    for relative, content in files.items():
        assert (ROOT / "deploy" / relative).read_text() == content, relative
    names = {f"systemd/mailapi-{name}.service" for name in procfile_processes(ROOT / "Procfile")}
    assert names <= set(files) and len(names) == 9
    for name in names:
        unit = files[name]
        assert "Restart=always" in unit and "NoNewPrivileges=yes" in unit
        assert "ProtectSystem=strict" in unit and "User=mailapi" in unit


def test_systemd_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("REQUIRE_SYSTEMD") == "1":
            pytest.fail("REQUIRE_SYSTEMD=1 but systemd-analyze is not installed")
        pytest.skip("systemd is not installed")
    env_file = tmp_path / "mailapi.env"
    env_file.write_text("ENABLE_RESTFUL_API=true\n")
    layout = Layout(prefix=str(ROOT), env_file=str(env_file), user=None, bin_dir=VENV_BIN)
    for relative, content in deploy_files(ROOT / "Procfile", layout).items():
        if relative.startswith("systemd/"):
            (tmp_path / Path(relative).name).write_text(content)
    units = sorted(str(p) for p in tmp_path.glob("mailapi*.*") if p.suffix != ".env")
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@pytest.fixture
def supervisord(config, global_admin, tmp_path):
    """supervisord running the generated program file, with the test's settings."""
    ports = {name: free_port() for name in procfile_processes(ROOT / "Procfile")}
    env_file = tmp_path / "mailapi.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in settings_for(config, ports).items()))
    layout = Layout(prefix=str(ROOT), env_file=str(env_file), user=None, bin_dir=VENV_BIN)
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "logs").mkdir()
    names = list(ports)
    (tmp_path / "conf.d" / "mailapi.conf").write_text(supervisor_programs(names, layout))
    main = tmp_path / "supervisord.conf"
    main.write_text(
        f"[supervisord]\nnodaemon=true\nlogfile={tmp_path}/supervisord.log\n"
        f"pidfile={tmp_path}/supervisord.pid\nchildlogdir={tmp_path}/logs\n"
        f"[unix_http_server]\nfile={tmp_path}/supervisor.sock\n"
        "[rpcinterface:supervisor]\n"
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
        f"[supervisorctl]\nserverurl=unix://{tmp_path}/supervisor.sock\n"
        f"[include]\nfiles = {tmp_path}/conf.d/*.conf\n"
    )
    env = {"PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    process = subprocess.Popen(
        [f"{VENV_BIN}/supervisord", "-c", str(main)],
        env=env, cwd=tmp_path, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def ctl(*args: str) -> str:
        return subprocess.run(
            [f"{VENV_BIN}/supervisorctl", "-c", str(main), *args],
            capture_output=True, text=True, env=env,
        ).stdout.strip()  # fmt: skip

    try:
        for port in ports.values():
            wait_for_port(port, timeout=30)
        yield ports, ctl
    finally:
        ctl("stop", "mailapi:*")
        stop(process)


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (gunicorn's workers of a master)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_and_watch(client, ctl, with_workers: bool) -> tuple[float, list]:
    """SIGKILL the user service's master (and its workers), calling the API every 50 ms: the
    seconds until a new master runs and the API answers, and every answer until nothing of the
    old master is left (orphaned workers finish their keep-alive connections first)."""
    master = int(ctl("pid", "mailapi:mailapi-user"))
    old = {master} | children(master)
    for pid in old if with_workers else {master}:
        os.kill(pid, signal.SIGKILL)
    killed_at, answers, back_after = time.monotonic(), [], None
    while time.monotonic() - killed_at < 30:
        answer = client.call("GET", "/api/user/u@example.com")  # asserts a JSON answer
        answers.append(answer["_success"] or answer["_msg"])
        restarted = ctl("pid", "mailapi:mailapi-user") not in ("", "0", str(master))
        if back_after is None and restarted and answer["_success"] is True:
            back_after = time.monotonic() - killed_at
        if back_after is not None and not any(alive(p) for p in old):
            assert client.call("GET", "/api/user/u@example.com")["_success"] is True
            return back_after, answers
        time.sleep(0.05)
    raise AssertionError(f"the user service did not come back: {answers}")


def test_supervisord_restarts_a_killed_service_and_only_envelopes_answer_meanwhile(supervisord):
    ports, ctl = supervisord
    client = Client(ports["gateway"])
    client.login()
    assert client.call("POST", "/api/domain/example.com") == {"_success": True}
    created = client.call("POST", "/api/user/u@example.com", {"password": "Us3r-Passw0rd"})
    assert created == {"_success": True}
    for with_workers in (False, True):
        seconds, answers = kill_and_watch(client, ctl, with_workers)
        # Supervisord restarts at once; the new gunicorn's start-up is what takes the time, and
        # it is slower while CI runs the other backends' suites beside this one.
        assert seconds < 20, (seconds, answers)
        assert set(answers) <= {True, "SERVICE_UNAVAILABLE"}, answers
        what = "master and workers" if with_workers else "master"
        print(f"killed the {what}: back in {seconds:.2f} s, {len(answers)} answers: {set(answers)}")


@pytest.mark.parametrize("pool, refused", [("4", True), ("8", False)])
def test_gunicorn_refuses_fewer_connections_per_pool_than_threads(config, pool, refused):
    """Threads waiting for each other's connections in two databases deadlock until the pool
    timeout, so a process with DB_POOL_SIZE below GUNICORN_THREADS never starts."""
    ports = dict.fromkeys(["gateway", *PROCESSES[1:]], 0)
    env = {**os.environ, **settings_for(config, ports), "DB_POOL_SIZE": pool}
    command = [f"{VENV_BIN}/gunicorn", "--check-config", "-c", "gunicorn.conf.py"]
    checked = subprocess.run(
        [*command, "gateway.app:get_app()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (checked.returncode != 0) is refused, checked.stderr
    assert ("DB_POOL_SIZE must be at least GUNICORN_THREADS" in checked.stderr) is refused
