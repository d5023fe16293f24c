"""The fuzzer: schemathesis, driven by GET /api/openapi.json, against the real gunicorn
processes on SQLite, as a logged-in global admin and with an API key. No answer may be outside
the envelope or the documented schema, none INTERNAL_ERROR (tests/fuzz_hooks.py), none a 5xx,
and no process may log a traceback. Parameters are read strictly (MAILAPI_STRICT_PARAMS=1): an
endpoint reading what it does not declare fails too. Bounded: MAILAPI_FUZZ_EXAMPLES cases per
operation and phase (default 25)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from schemathesis.core.transport import Response

from tests.fuzz_hooks import no_internal_error
from tests.processes import Client, running_processes
from tests.upstream import TEST_DB

EXAMPLES = os.environ.get("MAILAPI_FUZZ_EXAMPLES", "25")
CHECKS = "not_a_server_error,response_schema_conformance,content_type_conformance,no_internal_error"


def _schemathesis(port: int, header: str, tmp_path: Path) -> tuple[int, str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"), "run",
        f"http://127.0.0.1:{port}/api/openapi.json", "-H", header, "--checks", CHECKS,
        # logging out would end the session the rest of the run uses
        "--exclude-path", "/api/logout", "--max-examples", EXAMPLES,
        "--phases", "examples,coverage,fuzzing", "--seed", "20261202", "--no-color",
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_hooks"}
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env,
                         cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    output = run.stdout + run.stderr
    generated = re.search(r"(\d+) generated", output)
    return (int(generated.group(1)) if generated else 0), output if run.returncode else ""


def test_the_fuzzer_finds_nothing(environment, tmp_path):
    if TEST_DB != "sqlite":
        pytest.skip("the fuzzer runs once, in the SQLite suite (the embedded default)")
    env, ports = environment
    logs = tmp_path / "logs"
    logs.mkdir()
    with running_processes(env, ports, logs):
        client = Client(ports["gateway"])
        client.login()
        key = client.call("POST", "/api/apikey/fuzz", {"access": "rw"})["_data"]["key"]
        results = {
            "session": _schemathesis(ports["gateway"], f"Cookie: {client.cookie}", tmp_path),
            "API key": _schemathesis(ports["gateway"], f"Authorization: Bearer {key}", tmp_path),
        }
    for name, (count, failure) in results.items():
        print(f"\nfuzzer ({name}): {count} requests")
        assert count > 0 and not failure, failure[-6000:]
    for log in logs.iterdir():
        assert "Traceback" not in log.read_text(), (log.name, log.read_text()[-4000:])


@pytest.mark.parametrize(("body", "refused"), [
    (b'{"_success": true, "_data": {}}', False),
    (b'{"_success": false, "_msg": "NO_SUCH_DOMAIN"}', False),
    (b'{"_success": false, "_msg": "INTERNAL_ERROR"}', True),
    (b'{"ok": 1}', True),
])  # fmt: skip
def test_the_fuzzers_own_check_refuses_internal_errors_and_other_shapes(body, refused):
    """The check reads schemathesis's answer as schemathesis builds it (a check that read
    "Content-Type" under that name saw no JSON answer, so it passed everything)."""
    request = requests.Request("GET", "http://127.0.0.1/api/domains").prepare()
    answer = Response(200, {"Content-Type": ["application/json"]}, body, request, 0.01, True)
    if refused:
        with pytest.raises(AssertionError):
            no_internal_error(None, answer, None)
    else:
        assert no_internal_error(None, answer, None) is None
