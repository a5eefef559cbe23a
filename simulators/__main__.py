"""Run the simulators: ``python -m simulators --help``."""

from .cli import main

raise SystemExit(main())
