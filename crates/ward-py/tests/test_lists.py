"""Hash lists: `ward.read_list` streams the records ward-core's readers give (the same
samples ward-core's exchange tests read), malformed records raise, skip or come as dicts,
and broken input raises `ward.ListError` after the good records."""

import pytest

import ward
from conftest import TESTDATA

SAMPLES = TESTDATA / "exchange"
MD5A = "00112233445566778899aabbccddeeff"
PDQA = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"


def test_csv_lists():
    records = list(ward.read_list(SAMPLES / "csv/list.csv"))
    assert [(r["record"], r["line"], r["id"]) for r in records] == [
        (1, 3, "m-1"),
        (3, 5, None),
        (4, 6, "s-1"),
        (5, 7, "v-1"),
        (6, 8, "id, with comma"),
    ]
    first = records[0]
    assert first["change"] == "upsert"
    assert first["signals"] == [
        {"type": "md5", "value": MD5A},
        {"type": "sha1", "value": "0123456789abcdef0123456789abcdef01234567"},
    ]
    assert first["label"] == {"scheme": "industry", "profile": None, "label": "A1"}
    assert records[1]["signals"] == [{"type": "pdq", "value": PDQA}]
    assert records[1]["label"] == {"scheme": "vics", "profile": "US", "label": "1"}
    assert records[3]["signals"][0]["type"] == "vpdq"


def test_malformed_records_raise_skip_or_yield():
    path = str(SAMPLES / "csv/bad.csv")
    reader = ward.read_list(path, "csv")
    assert next(reader)["id"] == "1"
    with pytest.raises(ward.MalformedRecord) as raised:
        next(reader)
    assert (raised.value.record, raised.value.line) == (2, 3)
    assert "not hexadecimal" in str(raised.value)
    assert isinstance(raised.value, ValueError)

    assert [r["id"] for r in ward.read_list(path, malformed="skip")] == ["1", "5"]
    yielded = list(ward.read_list(path, malformed="yield"))
    assert [("error" in r, r["record"]) for r in yielded] == [
        (False, 1),
        (True, 2),
        (True, 3),
        (True, 4),
        (False, 5),
    ]
    assert "proprietary" in yielded[3]["error"]


@pytest.mark.parametrize(
    "format, path, records",
    [
        ("hma", "hma/bank.jsonl", ["1", "2", "x-3"]),
        ("ncmec", "ncmec/page.xml", ["image1", "image2", "image4", "video1", "video4"]),
        ("vics", "vics/media.json", None),
        ("vics", "vics/cases.json", None),
        ("stopncii", "stopncii/page.json", None),
    ],
)
def test_every_format_reads(format, path, records):
    read = list(ward.read_list(SAMPLES / path, format, malformed="skip"))
    assert read
    if records is not None:
        assert [r["id"] for r in read] == records
    assert all(r["change"] in ("upsert", "delete") for r in read)
    ncmec = {r["id"]: r for r in read}
    if format == "ncmec":
        assert ncmec["image4"]["change"] == "delete"
        assert ncmec["image1"]["attributes"]["member"] == "Example Member & Co"


def test_broken_input_raises_after_the_good_records():
    reader = ward.read_list(SAMPLES / "ncmec/truncated.xml", "ncmec")
    assert [next(reader)["id"], next(reader)["id"]] == ["image1", "image2"]
    with pytest.raises(ward.ListError) as raised:
        next(reader)
    assert "truncated" in str(raised.value) and raised.value.line == 30
    assert list(reader) == []


def test_bad_arguments():
    with pytest.raises(ward.InvalidOption):
        ward.read_list(SAMPLES / "csv/list.csv", "xml")
    with pytest.raises(ward.InvalidOption):
        ward.read_list(SAMPLES / "csv/list.csv", malformed="ignore")
    with pytest.raises(FileNotFoundError):
        ward.read_list(SAMPLES / "no-such.csv")


def test_a_dropped_reader_stops():
    reader = ward.read_list(SAMPLES / "vics/media.json", "vics")
    next(reader)
    del reader
