"""``python -m conformance``: run the conformance suite and write reports/.

``python -m conformance verify LOSS --npz FILE ...`` checks one xploss call
against its built-ins on your arrays instead (:mod:`conformance.verify`).
"""

import sys

if sys.argv[1:2] == ["verify"]:
    from .verify import main as verify_main

    raise SystemExit(verify_main(sys.argv[2:]))

from .runner import main  # noqa: E402

raise SystemExit(main())
