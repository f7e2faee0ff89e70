"""Deterministic generator of the sample inbox (and of inboxes of any scale, up to a province).

The project's test-data and benchmark world (``make sample``, ``make run`` on a fresh checkout, the
tests, ``bench/``), not part of reading inboxes: the ``ingestion`` package never imports it.

Public API::

    from sample_world import generate, Truth, VARIATIONS, TRAPS
    truth = generate("/tmp/inbox")               # the small bundled sample
    truth = generate("/tmp/big", scale=0.1)      # bigger; scale=1 ~ a province
    truth.to_json()
    plan_files()                                 # which file gets which variations, without writing

Modules: ``config`` (sizes, calendar), ``codes`` (USCC / registration numbers), ``names`` (word
pools), ``world`` (the facts), ``textforms`` (cell forms), ``layout`` (csv/xlsx writing),
``variations`` (VARIATIONS, TRAPS, per-file mix), ``bureau`` / ``power`` / ``registry`` (the
sources), ``generator`` (file plan, delivery order, truth resolution), ``truth`` (Truth).
CLI: ``python -m sample_world --out DIR [--scale S] [--seed N]``.
"""
from .config import DEFAULT_SEED, ScaleConfig, resolve_scale
from .generator import generate, plan_files
from .truth import Truth
from .variations import TRAPS, VARIATIONS

__all__ = ["generate", "plan_files", "Truth", "VARIATIONS", "TRAPS", "DEFAULT_SEED", "ScaleConfig", "resolve_scale"]
