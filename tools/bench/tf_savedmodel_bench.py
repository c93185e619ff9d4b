#!/usr/bin/env python3
"""Times one of our exported SavedModels under Python TensorFlow: the same graph and TF kernels
as the Java library runs, so Java / Python measures the cost of the Java binding.

Both run the model's predict_images signature (`images` uint8 [batch, h, w, 3] -> `semantic`
int32), the class ids Java's Segmenter fetches; models exported before it (whose
serving_default took `images`) must be re-exported first (tools/deeplab export --model).
Two ways to run it:
  session   tf.compat.v1 Session.run(feed images, fetch semantic): the C API path Java uses.
  function  TF2: tf.saved_model.load(...).signatures['predict_images'], called eagerly.

  ${PYTHON:-python3} tools/bench/tf_savedmodel_bench.py --model DIR [--mode session|function]
      [--size 513] [--runs 20] [--warmup 5] [--threads T] [--precision fp32|bf16]

Prints one JSON object (median/best ms, samples, load average, peak RSS).
"""

import argparse
import json
import os
import sys

import numpy as np

from timing import time_runs


def resolve(path):
    if os.path.exists(os.path.join(path, 'saved_model.pb')):
        return path
    versions = sorted((d for d in os.listdir(path) if d.isdigit()), key=int)
    if not versions:
        raise SystemExit('no SavedModel in ' + path)
    return os.path.join(path, versions[-1])


SIGNATURE = 'predict_images'


def no_signature(path):
    raise SystemExit('%s has no %s signature (exported before it?): re-export it with '
                     'tools/deeplab export --model %s -o DIR' % (path, SIGNATURE, path))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--model', required=True)
    ap.add_argument('--mode', choices=('session', 'function'), default='session')
    ap.add_argument('--size', type=int, default=513)
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--threads', type=int, default=0, help='intra-op threads (0: TF default)')
    ap.add_argument('--inter-threads', type=int, default=0)
    ap.add_argument('--precision', choices=('fp32', 'bf16'), default='fp32')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--profile', type=int, default=0, metavar='N',
                    help='session mode: after timing, trace 3 runs and print the N op types that '
                         'take the most time (as deeplab bench --profile)')
    a = ap.parse_args()

    import tensorflow as tf
    path = resolve(a.model)
    rng = np.random.default_rng(a.seed)
    image = rng.integers(0, 256, size=(a.batch, a.size, a.size, 3), dtype=np.uint8)

    if a.mode == 'session':
        tf.compat.v1.disable_eager_execution()
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=a.threads,
                                          inter_op_parallelism_threads=a.inter_threads)
        if a.precision == 'bf16':
            config.graph_options.rewrite_options.auto_mixed_precision_onednn_bfloat16 = 1  # ON
        graph = tf.Graph()
        sess = tf.compat.v1.Session(graph=graph, config=config)
        with graph.as_default():
            meta = tf.compat.v1.saved_model.loader.load(sess, ['serve'], path)
        if SIGNATURE not in meta.signature_def:
            no_signature(path)
        sig = meta.signature_def[SIGNATURE]
        feed = sig.inputs['images'].name
        fetch = sig.outputs['semantic'].name

        def run():
            return sess.run(fetch, {feed: image})
    else:
        if a.threads:
            tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        if a.inter_threads:
            tf.config.threading.set_inter_op_parallelism_threads(a.inter_threads)
        if a.precision == 'bf16':
            tf.config.optimizer.set_experimental_options(
                {'auto_mixed_precision_onednn_bfloat16': True})
        loaded = tf.saved_model.load(path)
        if SIGNATURE not in loaded.signatures:
            no_signature(path)
        # images -> semantic only, as Java fetches it (predict_probabilities would add the
        # probabilities).
        fn = loaded.signatures[SIGNATURE]
        x = tf.constant(image)

        def run():
            return fn(images=x)['semantic'].numpy()

    result = dict({
        'impl': 'python-tf ' + a.mode, 'tf': tf.__version__, 'precision': a.precision,
        'model': path, 'batch': a.batch}, **time_runs(run, a.warmup, a.runs))
    if a.profile and a.mode == 'session':
        print_profile(sess, fetch, {feed: image}, a.profile)
    print(json.dumps(result))


def print_profile(sess, fetch, feeds, top, runs=3):
    """Per-op-type op time of traced runs, summed as deeplab bench --profile sums it."""
    import tensorflow as tf
    by_type = {}
    total = 0
    for _ in range(runs):
        md = tf.compat.v1.RunMetadata()
        sess.run(fetch, feeds, options=tf.compat.v1.RunOptions(
            trace_level=tf.compat.v1.RunOptions.FULL_TRACE), run_metadata=md)
        for dev in md.step_stats.dev_stats:
            for n in dev.node_stats:
                us = max(0, n.op_end_rel_micros - n.op_start_rel_micros)
                label = n.timeline_label
                op = label.split(' = ', 1)[1].split('(', 1)[0].strip() if ' = ' in label else n.node_name
                t = by_type.setdefault(op, [0, 0])
                t[0] += us
                t[1] += 1
                total += us
    print('profile: %.1f ms of op time per run (ops overlap when parallel)' % (total / runs / 1e3))
    for op, (us, n) in sorted(by_type.items(), key=lambda kv: -kv[1][0])[:top]:
        print('  %-36s %9.2f ms %5.1f%% %5d ops' % (op, us / runs / 1e3, 100.0 * us / max(1, total), n // runs))


if __name__ == '__main__':
    sys.exit(main())
