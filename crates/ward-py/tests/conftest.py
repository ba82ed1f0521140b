"""Shared fixtures for the pytest suite of the `ward` package: where the repository's
test data is, and its golden files read once."""

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TESTDATA = ROOT / "testdata"


def read_csv(path: Path):
    """The rows of a CSV file with a header, as dicts."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def pdq_goldens():
    """testdata/pdq/goldens.csv: the `pdqhash` binding's hash, quality, dihedral hashes and
    EXIF-oriented hash of every test image (the same file ward-core's golden tests read)."""
    rows = read_csv(TESTDATA / "pdq" / "goldens.csv")
    assert len(rows) >= 80
    return rows
