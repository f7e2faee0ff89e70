"""Settings shared by every test.

Test files are written and read at once: the inbox's settling time (a file modified in the last
``DCW_SETTLE_SECONDS`` is taken as still being written and left for the next run) is 0 here. The
fault-injection suite (``tests/faults/``) runs the real command with the default instead.
"""
import os

os.environ.setdefault("DCW_SETTLE_SECONDS", "0")
