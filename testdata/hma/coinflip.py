"""Writes coinflip.json: the first two draws of CPython's `random.Random(seed)` for seeds of
HMA's `seed` query parameter (a string), which Ward's coin flip (crates/ward/src/serve/
coinflip.rs) must reproduce exactly. Each draw is written as Python's repr, the shortest text
that reads back as the same double. Run with any CPython 3: python3 coinflip.py"""
import json
import random

SEEDS = ["", "0", "1", "42", "abc", "content-123", "\u00e9", "\u0000x", "a" * 100,
         "\U0001f600 seed", "-7", "3.5"]

draws = []
for seed in SEEDS:
    generator = random.Random(seed)
    draws.append({"seed": seed, "draws": [repr(generator.random()), repr(generator.random())]})
with open("coinflip.json", "w") as out:
    json.dump(draws, out, indent=1)
    out.write("\n")
