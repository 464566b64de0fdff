"""The Keras leg, run in its own process with ``KERAS_BACKEND=tensorflow``.

Keras fixes its backend at import, and only its TensorFlow backend computes in
float64 (BUILTINS.md §2.5), so the runner starts this module as a subprocess:
``python -m conformance.keras_leg OUT.pkl`` reads a JSON list of
``[case_id, ref_index, dtype]`` on stdin and pickles
``{"keras": version, "results": {(case_id, ref_index, dtype): result or {"error": ...}}}``.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import traceback

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main(out_path: str) -> None:
    import keras

    from .cases import BY_ID
    from .evaluate import run_keras

    results = {}
    for case_id, index, dtype in json.load(sys.stdin):
        case = BY_ID[case_id]
        try:
            results[(case_id, index, dtype)] = run_keras(case, case.refs[index], case.make_inputs(), dtype)
        except Exception as exc:  # reported per row
            results[(case_id, index, dtype)] = {"error": f"{type(exc).__name__}: {exc}",
                                                "trace": traceback.format_exc(limit=3)}
    with open(out_path, "wb") as fh:
        pickle.dump({"keras": keras.__version__, "backend": keras.backend.backend(), "results": results}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
