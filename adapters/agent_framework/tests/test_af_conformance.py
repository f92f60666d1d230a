"""Every conformance scenario the adapter's capabilities make applicable, through the kit's own
pytest plugin (its baseline lists what is expected to fail, with the reason)."""

import pytest
from nex_conformance.pytest_plugin import test_conformance  # noqa: F401

pytestmark = pytest.mark.nex_adapter("agent-framework")
