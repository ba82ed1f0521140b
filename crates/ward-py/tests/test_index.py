"""The PDQ index: every search equals brute force (random and clustered hashes, one query
and batches), additions and removals, snapshots round-trip, bad input raises."""

import numpy as np
import pytest

import ward


def random_hashes(rng, n):
    return rng.integers(0, 256, (n, 32), dtype=np.uint8)


def clustered_hashes(rng, families, per_family, flips):
    """Near-duplicate families: each member is its family's centre with up to `flips`
    bits flipped, as re-encoded and resized copies of one picture are."""
    centres = random_hashes(rng, families)
    bits = np.unpackbits(centres, axis=1)
    members = np.repeat(bits, per_family, axis=0)
    for row in members:
        row[rng.choice(256, rng.integers(0, flips + 1), replace=False)] ^= 1
    return np.packbits(members, axis=1)


def brute_force(stored, ids, queries, distance):
    """(query position, id, distance) of every match, nearest first within a query."""
    xor = np.bitwise_xor(queries[:, None, :], stored[None, :, :])
    distances = np.unpackbits(xor, axis=2).sum(axis=2)
    answers = []
    for q in range(len(queries)):
        hits = np.nonzero(distances[q] <= distance)[0]
        answers.extend(sorted((q, int(ids[i]), int(distances[q][i])) for i in hits))
    return sorted(answers, key=lambda a: (a[0], a[2], a[1]))


def as_triples(result):
    positions, ids, distances = result
    assert positions.dtype == np.uint64 and ids.dtype == np.uint64
    assert distances.dtype == np.uint32
    return list(zip(positions.tolist(), ids.tolist(), distances.tolist()))


def queries_near(rng, stored, n):
    """Some stored hashes with a few bits flipped, and some random hashes."""
    picked = stored[rng.integers(0, len(stored), n)]
    bits = np.unpackbits(picked, axis=1)
    for row in bits:
        row[rng.choice(256, rng.integers(0, 40), replace=False)] ^= 1
    return np.concatenate([np.packbits(bits, axis=1), random_hashes(rng, n // 4)])


@pytest.mark.parametrize("kind", ["random", "clustered"])
@pytest.mark.parametrize("distance", [0, 31, 64])
def test_search_many_equals_brute_force(kind, distance):
    rng = np.random.default_rng(22 + distance)
    if kind == "random":
        stored = random_hashes(rng, 5000)
    else:
        stored = clustered_hashes(rng, families=300, per_family=20, flips=30)
    ids = rng.permutation(len(stored)).astype(np.uint64) * 7 + 3
    index = ward.PdqIndex(stored, ids)
    assert len(index) == len(stored)
    queries = queries_near(rng, stored, 200)
    expected = brute_force(stored, ids, queries, distance)
    assert as_triples(index.search_many(queries, distance)) == expected
    assert as_triples(index.search_many(queries, distance, threads=1)) == expected
    hex_queries = [bytes(q).hex() for q in queries[:50]]
    for position, query in enumerate(hex_queries):
        got = index.search(query, distance)
        assert got == [(i, d) for q, i, d in expected if q == position]


def test_nearest_equals_brute_force():
    rng = np.random.default_rng(5)
    stored = clustered_hashes(rng, families=100, per_family=30, flips=20)
    index = ward.PdqIndex(stored)
    for query in queries_near(rng, stored, 20):
        distances = np.unpackbits(np.bitwise_xor(stored, query), axis=1).sum(axis=1)
        got = index.nearest(bytes(query), 5)
        assert [d for _, d in got] == sorted(distances.tolist())[:5]


def test_hashes_in_every_form_build_the_same_index():
    rng = np.random.default_rng(9)
    stored = random_hashes(rng, 100)
    forms = [
        stored,
        stored.tobytes(),
        [bytes(h) for h in stored],
        [bytes(h).hex() for h in stored],
        [bytes(h).hex().upper() for h in stored],
    ]
    answers = {repr(as_triples(ward.PdqIndex(f).search_many(stored, 0))) for f in forms}
    assert len(answers) == 1


def test_add_remove_and_snapshots(tmp_path):
    rng = np.random.default_rng(11)
    stored = clustered_hashes(rng, families=200, per_family=20, flips=25)
    index = ward.PdqIndex(stored[:3000], list(range(3000)))
    for i in range(3000, len(stored)):
        index.add(bytes(stored[i]), i)
    for i in range(0, len(stored), 3):
        assert index.remove(bytes(stored[i]), i)
    assert not index.remove(bytes(stored[0]), 0)
    kept = np.array([i for i in range(len(stored)) if i % 3], dtype=np.uint64)
    queries = queries_near(rng, stored, 100)
    expected = brute_force(stored[kept], kept, queries, 31)
    assert as_triples(index.search_many(queries)) == expected
    index.rebuild()
    assert as_triples(index.search_many(queries)) == expected

    path = tmp_path / "bank.snapshot"
    index.save(path)
    loaded = ward.PdqIndex.load(str(path))
    assert len(loaded) == len(kept)
    assert as_triples(loaded.search_many(queries)) == expected

    damaged = bytearray(path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "damaged").write_bytes(bytes(damaged))
    with pytest.raises(ward.SnapshotError):
        ward.PdqIndex.load(tmp_path / "damaged")
    (tmp_path / "short").write_bytes(bytes(damaged[:100]))
    with pytest.raises(ward.SnapshotError):
        ward.PdqIndex.load(tmp_path / "short")
    with pytest.raises(FileNotFoundError):
        ward.PdqIndex.load(tmp_path / "missing")


def test_bad_index_input_raises():
    with pytest.raises(ward.InvalidSignal):
        ward.PdqIndex(["00ff"])
    with pytest.raises(ward.InvalidSignal):
        ward.PdqIndex(np.zeros((3, 31), dtype=np.uint8))
    with pytest.raises(ward.InvalidSignal):
        ward.PdqIndex(b"\0" * 33)
    with pytest.raises(ValueError):
        ward.PdqIndex([b"\0" * 32], ids=[1, 2])
    index = ward.PdqIndex()
    assert len(index) == 0 and index.search("0" * 64) == []
    with pytest.raises(ward.InvalidOption):
        index.search("0" * 64, distance=300)
    with pytest.raises(TypeError):
        index.add(5, 1)


def test_distance():
    a = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    b = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
    assert ward.distance(a, a) == 0
    assert ward.distance(a, b) == ward.distance(bytes.fromhex(a), bytes.fromhex(b)) == 6
    assert ward.distance("0" * 64, "f" * 64) == 256
