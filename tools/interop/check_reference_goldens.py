"""Regenerates the golden fixtures with the independent Python reference and compares them with
the committed ones, so the Java parity tests (GoldenParityTest, VariableManifestTest) are checked
against what Python TensorFlow computes on this machine, not only against files.

Exit status 1 when a regenerated file differs (logits beyond 1e-6 relative, any manifest line).
"""
import filecmp
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deeplab-core" / "src" / "test" / "resources"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp)
        subprocess.run([sys.executable, str(ROOT / "tools/reference/deeplab_reference.py"),
                        "--resources", str(out)], check=True, stdout=subprocess.DEVNULL)
        failures = []
        cases = sorted(p.name for p in (COMMITTED / "golden").iterdir() if p.is_dir())
        for case in cases:
            for name in ("logits.npy", "logits_upsampled_argmax.npy"):
                want = np.load(COMMITTED / "golden" / case / name)
                got = np.load(out / "golden" / case / name)
                if want.shape != got.shape:
                    failures.append(f"{case}/{name}: shape {got.shape} != {want.shape}")
                    continue
                scale = max(float(np.abs(want).max()), 1e-30)
                err = float(np.abs(want.astype(np.float64) - got).max()) / scale
                print(f"{case}/{name}: max difference {err:.2e} of the largest value")
                if err > 1e-6:
                    failures.append(f"{case}/{name}: differs by {err:.2e}")
        manifests = sorted((COMMITTED / "manifests").glob("*.txt"))
        for m in manifests:
            if not filecmp.cmp(m, out / "manifests" / m.name, shallow=False):
                failures.append(f"manifests/{m.name} differs")
        print(f"{len(cases)} golden cases and {len(manifests)} manifests regenerated")
        for f in failures:
            print("MISMATCH", f)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
