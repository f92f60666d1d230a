"""The pytest front end (registered as a ``pytest11`` plugin, so installing the kit enables it).

An adapter author adds one test module::

    from nex_conformance.pytest_plugin import test_conformance  # noqa: F401

and runs ``pytest --nex-adapter NAME``; or pins the adapter in the module with
``pytestmark = pytest.mark.nex_adapter("NAME")``, or overrides the ``nex_adapter`` fixture to return
an adapter instance that is not registered. Each (adapter, scenario) pair is one test: it passes,
is skipped as not applicable, is xfailed when the baseline lists it, or fails with the readable
explanation (a stale baseline entry fails too). ``--junitxml`` gives JUnit XML; ``--nex-report DIR``
also writes the JSON report and the Markdown matrix.

Everything heavy is imported lazily: the plugin loads into every pytest session of the environment.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from nex_conformance.engine import CaseResult
    from nex_conformance.scenario import Scenario, ShapeScenario
    from nex_core import Adapter

_RESULTS = pytest.StashKey[list["CaseResult"]]()
_ADAPTERS = pytest.StashKey[dict[str, "Adapter"]]()
_STARTED = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nex-conformance", "nex conformance kit")
    group.addoption(
        "--nex-adapter",
        action="append",
        default=[],
        metavar="NAME",
        help="adapter to run the conformance scenarios against (repeatable)",
    )
    group.addoption(
        "--nex-scenario",
        action="append",
        default=[],
        metavar="ID",
        help="run only this conformance scenario (repeatable)",
    )
    group.addoption(
        "--nex-baseline",
        action="append",
        default=[],
        metavar="FILE",
        help="expected-failure baseline YAML (repeatable)",
    )
    group.addoption(
        "--nex-report",
        default=None,
        metavar="DIR",
        help="write report.json and matrix.md of the conformance cases to DIR",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "nex_adapter(*names): adapters the conformance test runs against"
    )
    config.stash[_RESULTS] = []
    config.stash[_ADAPTERS] = {}
    config.stash[_STARTED] = time.perf_counter()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "nex_adapter_name" in metafunc.fixturenames:
        names: list[str] = list(metafunc.config.getoption("--nex-adapter"))
        if not names:
            names = [n for m in metafunc.definition.iter_markers("nex_adapter") for n in m.args]
        if not names:
            from nex_conformance.cli import select_adapters

            names = [a.name for a in select_adapters(())]
        metafunc.parametrize("nex_adapter_name", names, scope="session")
    if "nex_scenario" in metafunc.fixturenames:
        from nex_conformance.scenario import select

        scenarios = select(metafunc.config.getoption("--nex-scenario"))
        metafunc.parametrize("nex_scenario", scenarios, ids=[s.id for s in scenarios])


@pytest.fixture(scope="session")
def nex_adapter(nex_adapter_name: str) -> Adapter:
    """The adapter under test (override to supply an unregistered instance)."""
    from nex_core import get_adapter

    return get_adapter(nex_adapter_name)


@pytest.fixture
def nex_conformance_case(
    request: pytest.FixtureRequest, nex_adapter: Adapter, nex_scenario: Scenario | ShapeScenario
) -> CaseResult:
    """Run one scenario against the adapter and record the result for the session's report."""
    from nex_conformance.baseline import baseline_for
    from nex_conformance.engine import run_case

    baseline = baseline_for(nex_adapter, request.config.getoption("--nex-baseline"))
    result = run_case(nex_adapter, nex_scenario, baseline)
    request.config.stash[_RESULTS].append(result)
    request.config.stash[_ADAPTERS].setdefault(nex_adapter.name, nex_adapter)
    return result


def check_case(result: CaseResult, record_property: Any = None) -> None:
    """Turn a case result into a pytest outcome."""
    from nex_conformance.engine import Verdict

    if record_property is not None:
        record_property("nex_verdict", result.verdict.value)
        record_property("nex_adapter", result.adapter)
    if result.verdict is Verdict.NOT_APPLICABLE:
        pytest.skip(result.explain())
    if result.verdict is Verdict.XFAIL:
        pytest.xfail(result.baseline_reason or "listed in the baseline")
    if result.verdict.fails_run:
        pytest.fail(f"{result.scenario} on {result.adapter}:\n{result.explain()}", pytrace=False)


def test_conformance(nex_conformance_case: CaseResult, record_property: Any) -> None:
    """One conformance scenario against one adapter (import this into a test module)."""
    check_case(nex_conformance_case, record_property)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    target = config.getoption("--nex-report", None)
    results = config.stash.get(_RESULTS, [])
    if not target or not results:
        return
    from nex_conformance.baseline import baseline_for
    from nex_conformance.report import build_report
    from nex_conformance.scenario import select

    adapters = list(config.stash[_ADAPTERS].values())
    ran = {r.scenario for r in results}
    scenarios = [s for s in select() if s.id in ran]
    baselines = {a.name: baseline_for(a, config.getoption("--nex-baseline")) for a in adapters}
    report = build_report(
        adapters, scenarios, results, baselines, time.perf_counter() - config.stash[_STARTED]
    )
    report.write(target)
