"""Amp-model file formats: each module reads one family of files into an architecture's
description (``arch/``). The registry (``models/registry.py``) lists them."""
