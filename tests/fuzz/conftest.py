"""Options for the schemathesis runs: `--fuzz-examples` (total budget) and `--fuzz-seed`."""

from __future__ import annotations

DEFAULT_EXAMPLES = 300
DEFAULT_SEED = 20261129


def pytest_addoption(parser):
    group = parser.getgroup("fuzz", "schemathesis fuzzing of the OpenAPI document")
    group.addoption(
        "--fuzz-examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        help="total examples across all operations and roles (default %(default)s)",
    )
    group.addoption(
        "--fuzz-seed",
        type=int,
        default=DEFAULT_SEED,
        help="base random seed; each operation and role derives its own (default %(default)s)",
    )


def pytest_terminal_summary(terminalreporter):
    from tests.fuzz.test_openapi_fuzz import EXAMPLES_RUN

    if EXAMPLES_RUN:
        total = sum(EXAMPLES_RUN.values())
        terminalreporter.write_line(
            f"schemathesis: {total} examples over {len(EXAMPLES_RUN)} operations"
        )
