"""Drop-in replacements for Meta's Python bindings, so that a project moves to Ward by
changing one import: `ward.compat.pdqhash` for ``pdqhash`` and `ward.compat.vpdq` for
``vpdq``. Same signatures, same return types, the same hashes."""
