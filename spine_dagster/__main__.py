"""``python -m spine_dagster`` is the ``spine`` command."""

from spine_dagster.cli import main

raise SystemExit(main())
