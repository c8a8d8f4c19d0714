"""Capture an amp from a reamp pair (``pedal train``) and make a model cheaper (``pedal
compress``). Needs PyTorch (extra ``pedal[train]``); the daemon never imports this package.

- :mod:`pedal.train.pair`: check and align a pair (numpy only, runs before torch is imported);
- :mod:`pedal.train.nets`: the networks, mirrors of the pedal's engines;
- :mod:`pedal.train.fit`: the training loop, checkpoints, ESR and verdicts;
- :mod:`pedal.train.compress`: L1, pruning (unstructured and whole hidden units), int8;
- :mod:`pedal.train.commands`: the two commands.
"""
