"""Where detection spends its time: the encoder's share of full detection, and onnxruntime's per-operator
profile of the int8 encoder.

    python benchmarks/profile_encoder.py ../shared/data/ptc/dev [MODEL_DIR]
"""

import json
import sys
import time
from collections import Counter
from pathlib import Path

import onnxruntime as ort

from propscope.detect.base import default_model_dir
from propscope.detect.onnx import OnnxDetector, _one_blas_thread
from propscope.ptc import read_articles

data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/ptc/dev")
model = Path(sys.argv[2]) if len(sys.argv) > 2 else default_model_dir()
texts = list(read_articles(data).values())
det = OnnxDetector(model, threads=2)
det.detect(texts[:2])
with _one_blas_thread:
    t = time.perf_counter()
    det.core.hidden_states(texts)
    enc = time.perf_counter() - t
t = time.perf_counter()
det.detect(texts)
full = time.perf_counter() - t
print(f"{len(texts)} articles: full detection {full:.2f} s, "
      f"encoder alone {enc:.2f} s ({100 * enc / full:.0f}%)")

opts = ort.SessionOptions()
opts.enable_profiling = True
opts.intra_op_num_threads = 2
opts.profile_file_prefix = str(Path("/tmp") / "propscope-ort-profile")
det.session = ort.InferenceSession(str(model / "encoder.onnx"), opts, providers=["CPUExecutionProvider"])
det.detect(texts[:10])
events = json.loads(Path(det.session.end_profiling()).read_text())
per_op: Counter[str] = Counter()
for e in events:
    if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
        per_op[e["args"]["op_name"]] += e["dur"]
total = sum(per_op.values())
print("encoder time by operator (first 10 articles):")
for op, us in per_op.most_common(6):
    print(f"  {op:28s} {100 * us / total:5.1f}%")
