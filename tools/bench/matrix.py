#!/usr/bin/env python3
"""The graph and session choices, measured side by side: each "process" below is one
`deeplab bench` run (its own environment: oneDNN on/off, XLA flags, thread pools are per
process); the alternatives inside one process (precision, atrous form, batch-norm folding, XLA
session option) are interleaved run by run. Processes are interleaved round by round. Prints, per
alternative, the pooled median and best over all rounds and the ratio to the baseline (the first
alternative of the first process: today's default), with the load averages.

Sets:
  graph    oneDNN on : {space-to-batch, native} x {bn fused, bn folded}
           oneDNN off: space-to-batch x {fused, folded} (Eigen has no dilated depthwise conv)
  bf16     oneDNN on : {fp32, bf16} x {fused, folded}, space-to-batch (--eval adds mIoU)
  backend  oneDNN {fp32, bf16} x {space-to-batch, native}, bn folded, against Eigen
           space-to-batch {fused, folded}: the finalists, process against process
  final    Eigen and oneDNN, space-to-batch, bn {fused, folded, folded-dw}
  threads  intra x inter in {1,2} (separate processes), the default graph
  malloc   glibc malloc tunables (GLIBC_TUNABLES): defaults, large blocks kept, transparent huge
           pages
  default  one process with today's defaults (use with --against)
  xla      TF_XLA_FLAGS=--tf_xla_cpu_global_jit with the session's XLA option off/on, bn folded,
           network only (XLA cannot compile the serving graph's run-time-sized resize)

  ${PYTHON:-python3} tools/bench/matrix.py --variant mobilenet_v2 --set graph --rounds 2
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


ONEDNN = {'TF_ENABLE_ONEDNN_OPTS': '1'}  # the launcher's default is 0 (Eigen)
EIGEN = {'TF_ENABLE_ONEDNN_OPTS': '0'}


def processes(which, variant_args):
    s2b_native = ['--atrous', 'space-to-batch,native']
    if which == 'graph':
        return [('onednn', ONEDNN, s2b_native + ['--bn', 'fused,folded']),
                ('eigen', EIGEN,
                 ['--atrous', 'space-to-batch', '--bn', 'fused,folded'])]
    if which == 'bf16':
        return [('onednn', ONEDNN, ['--atrous', 'space-to-batch', '--precision', 'fp32,bf16',
                                '--bn', 'fused,folded'])]
    if which == 'backend':
        # The fastest candidates of 'graph' and 'bf16' head to head, process against process.
        return [('onednn', ONEDNN, ['--atrous', 'space-to-batch,native', '--bn', 'folded',
                                '--precision', 'fp32,bf16']),
                ('eigen', EIGEN,
                 ['--atrous', 'space-to-batch', '--bn', 'fused,folded'])]
    if which == 'final':
        # Batch-norm folding everywhere vs only after depthwise convs, per backend.
        return [('eigen', EIGEN,
                 ['--atrous', 'space-to-batch', '--bn', 'fused,folded,folded-dw']),
                ('onednn', ONEDNN, ['--atrous', 'space-to-batch', '--bn', 'fused,folded,folded-dw'])]
    if which == 'threads':
        return [('intra%d-inter%d' % (i, j), {}, ['--threads', str(i), '--inter-threads', str(j)])
                for i in (2, 1) for j in (1, 2)]
    if which == 'xla':
        # The serving graph's resize takes the image size at run time, which XLA cannot
        # compile; so the fixed-shape network alone (--network-only).
        return [('xla-env', {'TF_XLA_FLAGS': '--tf_xla_cpu_global_jit'},
                 ['--network-only', '--atrous', 'space-to-batch', '--bn', 'folded',
                  '--xla', 'off,on'])]
    if which == 'malloc':
        # glibc malloc returns every block above its mmap threshold (128 KiB, rising to at most
        # 32 MiB) to the kernel on free, so each run page-faults its large tensors back in.
        # (tools/deeplab turns huge pages on unless GLIBC_TUNABLES names hugetlb itself.)
        keep = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296'
        return [('glibc-default', {'GLIBC_TUNABLES': 'glibc.malloc.hugetlb=0'}, []),
                ('keep-32M', {'GLIBC_TUNABLES': keep + ':glibc.malloc.hugetlb=0'}, []),
                ('keep-32M-thp', {'GLIBC_TUNABLES': keep + ':glibc.malloc.hugetlb=1'}, []),
                ('thp', {'GLIBC_TUNABLES': 'glibc.malloc.hugetlb=1'}, [])]
    if which == 'default':
        # Today's defaults, spelled out (for --against an older checkout whose launcher differs).
        return [('default', dict(EIGEN, GLIBC_TUNABLES='glibc.malloc.hugetlb=1'), [])]
    raise SystemExit('unknown set ' + which)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--variant')
    ap.add_argument('--model', help='a SavedModel instead of --variant (real weights)')
    ap.add_argument('--output-stride', type=int, default=16)
    ap.add_argument('--set', default='graph', choices=('graph', 'bf16', 'backend', 'final', 'threads', 'xla', 'malloc',
                                                   'default'))
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--runs', type=int, default=8)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--eval', help='VOC root: also mIoU per alternative')
    ap.add_argument('--json')
    ap.add_argument('--against', metavar='LAUNCHER',
                    help="another checkout's tools/deeplab (e.g. a git worktree of an older "
                         'commit): every process also runs with it, named "against:..."')
    a = ap.parse_args()
    deeplab = os.environ.get('DEEPLAB', os.path.join(HOME, 'tools', 'deeplab'))
    base = (['--model', a.model] if a.model else
            ['--variant', a.variant, '--output-stride', str(a.output_stride)])
    base += ['--runs', str(a.runs), '--warmup', str(a.warmup), '--json']
    if a.eval:
        base += ['--data', a.eval]
    procs = [(name, env, args, deeplab) for name, env, args in processes(a.set, base)]
    if a.against:
        procs = [p for name, env, args, launcher in procs
                 for p in ((name, env, args, launcher), ('against:' + name, env, args, a.against))]
    pooled = {}
    meta = {}
    for r in range(a.rounds):
        for pname, env_extra, args, launcher in procs:
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', **env_extra)
            cmd = [launcher, 'bench'] + base + args
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, cwd=HOME)
            lines = [l for l in p.stdout.splitlines() if l.startswith('{')]
            if p.returncode != 0 or not lines:
                sys.stderr.write('FAILED %s\n%s\n' % (' '.join(cmd), p.stderr[-2000:]))
                continue
            res = json.loads(lines[-1])
            for row in res['results']:
                key = '%s | %s' % (pname, row['name'])
                d = pooled.setdefault(key, {'samples': [], 'loads': [], 'first_ms': []})
                d['samples'] += row['samples_ms']
                d['loads'].append(row['load_start'])
                d['first_ms'].append(row['first_run_ms'])
                for k in ('miou', 'agreement_with_first'):
                    if k in row:
                        d[k] = row[k]
                meta[key] = {'gflop': res['gflop_per_image'], 'model': res['model'],
                             'rss': res['peak_rss_bytes']}
                sys.stderr.write('round %d %-44s median %9.1f ms load %.2f\n' % (
                    r + 1, key, statistics.median(row['samples_ms']), row['load_start']))
    base_key = next(iter(pooled), None)
    if base_key is None:
        raise SystemExit('no results')
    bmed = statistics.median(pooled[base_key]['samples'])
    bbest = min(pooled[base_key]['samples'])
    print('model: %s, %.1f GFLOP/image; baseline: %s' % (
        meta[base_key]['model'], meta[base_key]['gflop'], base_key))
    print('%-46s %9s %9s %4s %8s %8s %8s %6s  %s' % ('process | alternative', 'median', 'best',
                                                     'n', 'r(med)', 'r(best)', 'GFLOP/s',
                                                     'mIoU', 'load avgs'))
    for key, d in pooled.items():
        med = statistics.median(d['samples'])
        best = min(d['samples'])
        miou = ('%.4f' % d['miou']) if 'miou' in d else '-'
        print('%-46s %9.1f %9.1f %4d %8.3f %8.3f %8.1f %6s  %s' % (
            key, med, best, len(d['samples']), med / bmed, best / bbest,
            meta[key]['gflop'] / med * 1e3, miou, ' '.join('%.1f' % l for l in d['loads'])))
        d['median_ms'] = med
        d['best_ms'] = best
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'pooled': pooled, 'meta': meta, 'args': vars(a)}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
