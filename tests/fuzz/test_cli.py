"""schemathesis' own CLI against a live server (this test's app and database, served on
loopback), as each role. Its coverage phase sends what the in-process run does not:
missing bodies, boundary values, methods an operation lacks. It found a 500, a PATCH
without a body answered 200, OPTIONS advertising GET on POST-only paths, and 0 taken as
false (tests/fuzz/test_regressions.py pins each).

    pytest tests/fuzz/test_cli.py --fuzz-seed=42
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from outreach.core.extensions import limiter
from tests.conftest import ApiClient
from tests.fuzz.conftest import DEFAULT_EXAMPLES, DEFAULT_SEED

pytestmark = pytest.mark.fuzz

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# What the CLI would flag by design, each checked elsewhere:
# - positive data refused: references to rows that do not exist and other rules no schema
#   can say; test_openapi_fuzz.py checks it with those excused;
# - a push answers malformed mutations one by one inside a 200 (DESIGN §4);
#   test_openapi_fuzz.py's push_answers_every_mutation checks each result.
CONFIG = """
[checks.positive_data_acceptance]
enabled = false

[[operations]]
include-path = "/api/v1/sync/push"
checks.negative_data_rejection.enabled = false
"""
# Admin last: what it changes (users deactivated, roles moved) must not cut the others
# short. Logout and refresh would end the session the run signs in with. The bounded run
# in `make test` goes as team lead (sync and caseload) and admin (administration and
# reports), who reach every operation between them; `make fuzz` adds the other roles.
ROLES = ["worker", "lead", "commissioner", "admin"]
BOUNDED_ROLES = ["lead", "admin"]


@pytest.fixture
def live_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def test_schemathesis_cli_as_every_role(client, world, live_url, tmp_path, request):
    if not SCHEMATHESIS.exists():
        pytest.fail(f"schemathesis is not installed next to {sys.executable}")
    total = request.config.getoption("fuzz_examples", default=DEFAULT_EXAMPLES)
    seed = request.config.getoption("fuzz_seed", default=DEFAULT_SEED)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    roles = ROLES if total > DEFAULT_EXAMPLES else BOUNDED_ROLES
    tokens = {who: ApiClient(client, world.emails[who]).access_token for who in roles}
    failures = []
    for who in roles:
        limiter.reset()  # the fuzzed sign-ins of one role must not throttle the next
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(config),
                "run",
                f"{live_url}/api/openapi.json",
                "--header",
                f"Authorization: Bearer {tokens[who]}",
                "--max-examples",
                str(max(5, total // 60)),
                "--seed",
                str(seed),
                "--exclude-path",
                "/api/v1/auth/logout",
                "--exclude-path",
                "/api/v1/auth/refresh",
                # A PDF render takes about a second alone, several while the other test
                # worker is busy: a slow answer is not a failure here (the report bench
                # holds the PDF's speed), a 5xx, a hang or a response outside the
                # document is.
                "--request-timeout",
                "120",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        if result.returncode != 0:
            failures.append(f"--- as {who} (exit {result.returncode}):\n{result.stdout[-6000:]}")
    assert not failures, "\n".join(failures)
