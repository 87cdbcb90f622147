"""The repository is self-contained: a clone anywhere runs its tests and benchmarks.

* No file names a path of one particular machine (``/work/...``, ``/home/<user>/...``, a fixed
  ``/tmp/...`` directory, ``C:\\Users\\...``), and nothing reaches for the real-data collection
  beside the checkout, except the two places that build and verify the embedded snapshot from it
  (``.ci/run`` and ``scripts/build_snapshot.py``, both optional when it is absent).
* The real data the tests read (``tests/fixtures/data``) is intact: every file matches the sha256
  in ``SHA256SUMS``, every CSV has its provenance row in ``MANIFEST.csv``, and every block matches
  the checksum published in ``blocks/README.md``.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import subprocess
from pathlib import Path

import pytest
from _realdata import DATA

ROOT = Path(__file__).resolve().parents[1]
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()

#: a path that exists on one machine only
MACHINE_PATH = re.compile(
    r"(?<![\w.~$-])/(?:work|home|Users|root|mnt|media|tmp|private/var|var/folders)(?![\w.-])"
    r"|\b[A-Za-z]:\\(?:Users|home)\\"
)
#: the real-data collection that sits beside the checkout on the build machine
COLLECTION = re.compile(r"\.\./shared\b|\bshared/data\b|[\"']shared[\"']\s*/\s*[\"']data[\"']")
#: the only files that may name the collection: they build and check the snapshot from it
MAY_NAME_COLLECTION = {".ci/run", "scripts/build_snapshot.py"}
_SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".hypothesis", "build", "dist", "node_modules",
              ".venv", "venv", ".tox"}


def repo_files() -> list[str]:
    """Tracked and new (not ignored) files, as git sees them; without git (an unpacked sdist),
    every file under the root except build and cache folders."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
        names = [n for n in out.decode("utf-8", "surrogateescape").split("\0") if n]
        if names:
            return sorted({n for n in names if (ROOT / n).is_file()})
    except (OSError, subprocess.SubprocessError):
        pass
    found = []
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in _SKIP_DIRS and not x.endswith(".egg-info")]
        found += [Path(d, f).relative_to(ROOT).as_posix() for f in files]
    return sorted(found)


def offences(name: str, text: str) -> list[str]:
    """``file:line: text`` for every machine path, and every reference to the collection outside
    :data:`MAY_NAME_COLLECTION`."""
    out = []
    for no, line in enumerate(text.splitlines(), 1):
        if MACHINE_PATH.search(line) or (name not in MAY_NAME_COLLECTION and COLLECTION.search(line)):
            out.append(f"{name}:{no}: {line.strip()[:160]}")
    return out


@pytest.mark.parametrize("line, bad", [
    ('BLOCKS = Path("/work/shared/data/blocks")', True),
    ("Hand-checked values (rows of /work/shared/data):", True),
    ('ap.add_argument("--workdir", default="/tmp/btcmacro-chain-sync-bench")', True),
    ("BTCMACRO_HOME=/tmp/btcmacro-research python scripts/research_report.py", True),
    ("cd /home/alice/btcmacro && pytest", True),
    ("open('/Users/bob/data.csv')", True),
    (r"C:\Users\carol\btcmacro", True),
    ("Built by scripts/build_snapshot.py from ../shared/data; provenance in the manifest.", True),
    ('SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"', True),
    # system paths every machine has, relative paths, and the user's own directories are fine
    ('CHROMIUM = "/usr/bin/chromium"', False),
    ("btcmacro brief --out /dev/full", False),
    ("--out /proc/x/y.html and --store /etc/hostname", False),
    ("Data directory: $BTCMACRO_HOME (default ~/.local/share/btcmacro)", False),
    ("read tests/fixtures/data/blocks/0.bin", False),
    ("https://example.org/home/page and BTCMACRO_HOME=$(mktemp -d)", False),
    ("tmp_path / 'home' and the tmp/ folder of the store", False),
])
def test_the_detector_tells_machine_paths_from_portable_ones(line, bad):
    assert bool(offences("tests/x.py", line)) is bad


def test_the_snapshot_builder_may_name_the_collection_but_not_a_machine():
    assert not offences("scripts/build_snapshot.py", 'ap.add_argument("--shared", default=ROOT.parent / "shared" / "data")')
    assert offences("scripts/build_snapshot.py", 'default="/work/shared/data"')


def test_no_file_names_a_machine_path_or_the_collection_beside_the_checkout():
    files = repo_files()
    assert "README.md" in files and "tests/conftest.py" in files, files[:20]
    bad = []
    for name in files:
        if name == SELF:  # this file spells the forbidden forms out as examples
            continue
        raw = (ROOT / name).read_bytes()
        if b"\0" in raw[:8192]:  # parquet, block files
            continue
        bad += offences(name, raw.decode("utf-8", "replace"))
    assert not bad, "machine-specific paths in the repository:\n" + "\n".join(bad)


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_fixture_data_is_intact_and_every_file_has_its_provenance():
    listed = {}
    for line in (DATA / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name] = digest
    docs = {"README.md", "MANIFEST.csv", "SHA256SUMS", "blocks/README.md"}
    present = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()} - docs
    assert present == set(listed), (sorted(present ^ set(listed)))
    for name, digest in listed.items():
        assert _sha256(DATA / name) == digest, f"tests/fixtures/data/{name} differs from its SHA256SUMS line"

    with open(DATA / "MANIFEST.csv", newline="", encoding="utf-8") as fh:
        manifest = {r["file"]: r for r in csv.DictReader(fh)}
    csvs = {n for n in listed if n.endswith(".csv")}
    assert set(manifest) == csvs
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for name, row in manifest.items():
        assert row["source_repo"] and row["source_path"] and re.fullmatch(r"[0-9a-f]{40}( \+ [0-9a-f]{40})?",
                                                                          row["source_commit"]), name
        assert f"`{name}`" in readme and row["source_commit"].split()[0] in readme, name
        with open(DATA / name, newline="", encoding="utf-8") as fh:
            assert sum(1 for _ in csv.DictReader(fh)) == int(row["rows"]), name

    # the block files against the checksums the collection published with them
    published = dict(re.findall(r"^([0-9a-f]{64})  (\S+)$", (DATA / "blocks" / "README.md").read_text(), re.M))
    blocks = {n.split("/", 1)[1] for n in listed if n.startswith("blocks/")}
    assert blocks == set(published.values()) and len(blocks) == 10
    for digest, name in published.items():
        assert _sha256(DATA / "blocks" / name) == digest, name
