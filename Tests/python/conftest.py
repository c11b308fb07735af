import os
import pathlib
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def lathe_bin():
    b = os.environ.get("LATHE_BIN")
    if b:
        return b
    for cand in (ROOT / ".build/release/lathe", ROOT / ".build/debug/lathe"):
        if cand.exists():
            return str(cand)
    pytest.fail("lathe is not built (scripts/test builds it; or set LATHE_BIN)")


@pytest.fixture
def lathe():
    return lathe_bin()
