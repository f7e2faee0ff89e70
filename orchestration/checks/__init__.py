"""Quality gates: the suites of ``suites.yaml`` (``runner``) and their Dagster asset checks (``asset_checks``).

Nothing is imported here: ``runner`` is also imported by the process that runs great-expectations,
which must not load Dagster.
"""
