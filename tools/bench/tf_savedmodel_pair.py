#!/usr/bin/env python3
"""Two (or more) of our SavedModels timed in one Python TensorFlow process, round robin
(A B A B ...), as tf_savedmodel_bench.py --mode session times one: predict_images, uint8
[batch, size, size, 3] -> semantic. One process sees the same machine load for all of them, so
the ratios hold up better on a shared machine than process-against-process runs. TensorFlow's
setting is the environment's (TF_ENABLE_ONEDNN_OPTS unset: oneDNN on, Python TF's default;
=0: Eigen, the kernels TF Java runs).

  ${PYTHON:-python3} tools/bench/tf_savedmodel_pair.py --runs 20 --warmup 3 DIR_A DIR_B

Prints one JSON object: per model median/best ms and ratio of medians to the first, load average.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

from tf_savedmodel_bench import SIGNATURE, resolve
from timing import load_average


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('models', nargs='+')
    ap.add_argument('--size', type=int, default=513)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=3)
    a = ap.parse_args()

    import tensorflow as tf
    tf.compat.v1.disable_eager_execution()
    image = np.random.default_rng(1).integers(0, 256, size=(1, a.size, a.size, 3), dtype=np.uint8)
    runners = []
    for m in a.models:
        path = resolve(m)
        graph = tf.Graph()
        sess = tf.compat.v1.Session(graph=graph)
        with graph.as_default():
            meta = tf.compat.v1.saved_model.loader.load(sess, ['serve'], path)
        sig = meta.signature_def[SIGNATURE]
        feed, fetch = sig.inputs['images'].name, sig.outputs['semantic'].name
        runners.append(lambda s=sess, f=feed, o=fetch: s.run(o, {f: image}))
    outputs = [r() for r in runners]
    for _ in range(a.warmup):
        for r in runners:
            r()
    samples = [[] for _ in runners]
    load_start = load_average()
    for _ in range(a.runs):
        for i, r in enumerate(runners):
            t0 = time.perf_counter()
            r()
            samples[i].append((time.perf_counter() - t0) * 1e3)
    load_end = load_average()
    first = statistics.median(samples[0])
    print(json.dumps({
        'onednn': os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'default (on)'),
        'load_start': load_start, 'load_end': load_end,
        'same_class_ids': [bool((o == outputs[0]).all()) for o in outputs],
        'models': [{'model': m, 'median_ms': statistics.median(s), 'best_ms': min(s),
                    'ratio_median': statistics.median(s) / first, 'samples_ms': s}
                   for m, s in zip(a.models, samples)]}))


if __name__ == '__main__':
    sys.exit(main())
