"""``python -m conformance``: run the conformance suite and write reports/."""

from .runner import main

raise SystemExit(main())
