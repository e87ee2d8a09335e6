#!/usr/bin/env python
"""Django's command-line utility for civitrack.

``orchestration`` and ``mcp`` first try the lean start-up of ``civitrack/lean.py``
(which exits when it ran the command); everything else is Django's as usual.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civitrack.settings")
    from civitrack import lean

    lean.run(sys.argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
