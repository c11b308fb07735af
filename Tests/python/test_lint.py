"""House rules that a reader relies on, checked over the source tree."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def swift_files():
    return sorted(p for p in (ROOT / "Sources").rglob("*.swift"))


def test_imports_only_at_the_top():
    # an import after code is easy to miss when reading what a file depends on
    bad = []
    for p in swift_files():
        seen_code = False
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            s = line.strip()
            if not s or s.startswith("//"):
                continue
            if re.match(r"^(@preconcurrency\s+|@_exported\s+)?import\s", s):
                if seen_code:
                    bad.append(f"{p.relative_to(ROOT)}:{n}: {s}")
            else:
                seen_code = True
    assert not bad, "imports after code:\n" + "\n".join(bad)
