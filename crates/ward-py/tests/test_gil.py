"""The GIL is released while Ward works: a Python thread keeps counting while a batch
hashes, an index searches and a video decodes."""

import threading
import time

import numpy as np

import ward
from conftest import TESTDATA


class Counter(threading.Thread):
    """Counts as fast as it can until stopped; needs the GIL for every step."""

    def __init__(self):
        super().__init__(daemon=True)
        self.count = 0
        self.running = True

    def run(self):
        while self.running:
            self.count += 1


def counted_while(work):
    """How far a counting thread got while `work` ran in this one."""
    counter = Counter()
    counter.start()
    time.sleep(0.05)
    before = counter.count
    work()
    after = counter.count
    counter.running = False
    counter.join()
    return after - before


def test_a_thread_keeps_counting_while_a_batch_hashes():
    paths = [TESTDATA / "pdq/generated" / "large-6000x4000.jpg"] * 4
    if not paths[0].exists():
        paths = sorted((TESTDATA / "pdq/generated").glob("*.jpg")) * 4
    # The batch takes a while; without the GIL released the counter would stand still
    # (a thread holding the GIL in native code gives it up never, not every 5 ms).
    started = time.perf_counter()
    counted = counted_while(lambda: list(ward.hash_images(paths, threads=1)))
    assert time.perf_counter() - started > 0.05
    assert counted > 10_000


def test_a_thread_keeps_counting_while_one_image_hashes():
    path = sorted((TESTDATA / "pdq/generated").glob("*.jpg"), key=lambda p: -p.stat().st_size)[0]
    assert counted_while(lambda: [ward.hash_image(path) for _ in range(3)]) > 1000


def test_a_thread_keeps_counting_while_an_index_searches():
    rng = np.random.default_rng(1)
    index = ward.PdqIndex(rng.integers(0, 256, (100_000, 32), dtype=np.uint8))
    queries = rng.integers(0, 256, (20_000, 32), dtype=np.uint8)
    assert counted_while(lambda: index.search_many(queries, 31, threads=1)) > 1000
