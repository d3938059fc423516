"""One end-to-end run in a fresh process (called by measures.py; not for direct use).

    python benchmarks/_e2e.py IMPL DATA_DIR WARM_DIR [--save RESULT.parquet]

Imports everything, runs IMPL once untimed on the small WARM_DIR data set (numba JIT or
cache load, lazy imports such as pyarrow.dataset, thread pools), then resets the peak
RSS and times reading DATA_DIR's Parquet files plus the computation.  Prints one line
``E2E {"seconds": ..., "extra_peak": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _baselines, _harness  # noqa: E402
from benchmarks._impls import IMPLS, PBR_IMPLS  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("impl", choices=sorted(IMPLS))
    p.add_argument("data_dir", type=Path)
    p.add_argument("warm_dir", type=Path)
    p.add_argument("--save", type=Path, default=None)
    args = p.parse_args(argv)
    impl = IMPLS[args.impl]
    assert impl.e2e is not None
    if args.impl in PBR_IMPLS:
        import pbr  # noqa: F401
    impl.e2e(args.warm_dir)  # untimed warm-up on a tiny data set
    out, seconds, extra = _harness.measured(lambda: impl.e2e(args.data_dir))
    if args.save is not None:
        _baselines.canonical(impl.finish_e2e(out)).write_parquet(args.save)
    print("E2E " + json.dumps({"seconds": seconds, "extra_peak": extra}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
