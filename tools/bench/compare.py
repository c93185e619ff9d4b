#!/usr/bin/env python3
"""Side-by-side runs, interleaved, with ratios: the Java library against Python TensorFlow on the
same SavedModel (the cost of Java), and against an independent PyTorch implementation of the same
architecture with the same weights (the quality of our graph).

For each variant a random-weight SavedModel is exported once (deeplab bench --export). Then, for
each round, every runner is started as its own process, one after another (never two at once on
a 2-core machine):
  java        deeplab bench --model DIR          (graph as saved, fetch 'semantic')
  java-folded deeplab bench --model DIR --bn folded   (optional: --with-folded)
  py-session  tools/bench/tf_savedmodel_bench.py --mode session
  py-function tools/bench/tf_savedmodel_bench.py --mode function   (optional: --with-function)
  torch       tools/bench/torch_deeplab.py --model DIR
Every process warms up before timing. The table pools each runner's timed runs over all rounds
(median, best) and gives ratios of medians and of bests, with the load average of each run.

  ${PYTHON:-python3} tools/bench/compare.py --variants mobilenet_v2,xception_65 --rounds 2 \\
      --runs 10 --warmup 3 --threads 2 --json out.json

Environment: DEEPLAB (the launcher, default tools/deeplab), PYTHON (default python3).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_json(cmd, env=None):
    """Runs a command that prints one JSON object on its last stdout line."""
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, cwd=HOME)
    if p.returncode != 0:
        sys.stderr.write('FAILED (%d): %s\n%s\n' % (p.returncode, ' '.join(cmd), p.stderr[-3000:]))
        return None
    lines = [l for l in p.stdout.strip().splitlines() if l.startswith('{')]
    if not lines:
        sys.stderr.write('no JSON from %s\n%s\n' % (' '.join(cmd), p.stdout[-2000:]))
        return None
    out = json.loads(lines[-1])
    out['_wall_s'] = time.time() - t0
    return out


def samples_of(result):
    """Timed samples (ms) of a Java (results[0]) or Python result."""
    if result is None:
        return []
    if 'results' in result:
        return list(result['results'][0]['samples_ms'])
    return list(result['samples_ms'])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--variants', default='mobilenet_v2,xception_65')
    ap.add_argument('--output-stride', type=int, default=16)
    ap.add_argument('--size', type=int, default=513)
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--workdir', default=os.path.join(HOME, 'target', 'bench'))
    ap.add_argument('--with-function', action='store_true', help='also Python TF2 function mode')
    ap.add_argument('--with-folded', action='store_true',
                    help='also Java with batch norm folded (--bn folded)')
    ap.add_argument('--torch-jit', action='store_true', help='also PyTorch jit-frozen')
    ap.add_argument('--json', help='write all raw results here')
    a = ap.parse_args()

    deeplab = os.environ.get('DEEPLAB', os.path.join(HOME, 'tools', 'deeplab'))
    python = os.environ.get('PYTHON', 'python3')
    common = ['--runs', str(a.runs), '--warmup', str(a.warmup)]
    thr = ['--threads', str(a.threads)] if a.threads else []
    env = dict(os.environ)
    env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

    models = {}
    for v in a.variants.split(','):
        d = os.path.join(a.workdir, '%s_os%d_%d' % (v, a.output_stride, a.size))
        if not os.path.isdir(os.path.join(d, '1')):
            os.makedirs(os.path.dirname(d), exist_ok=True)
            subprocess.run([deeplab, 'bench', '--variant', v, '--output-stride',
                            str(a.output_stride), '--size', str(a.size), '--export', d],
                           check=True, cwd=HOME, env=env)
        models[v] = os.path.join(d, '1')

    runners = [('java', lambda m: [deeplab, 'bench', '--model', m, '--size', str(a.size),
                                   '--json'] + common + thr)]
    if a.with_folded:
        runners.append(('java-folded', lambda m: [deeplab, 'bench', '--model', m, '--size',
                                                  str(a.size), '--bn', 'folded', '--json']
                        + common + thr))
    runners.append(('py-session', lambda m: [python, 'tools/bench/tf_savedmodel_bench.py',
                                             '--model', m, '--mode', 'session', '--size',
                                             str(a.size)] + common + thr))
    if a.with_function:
        runners.append(('py-function', lambda m: [python, 'tools/bench/tf_savedmodel_bench.py',
                                                  '--model', m, '--mode', 'function', '--size',
                                                  str(a.size)] + common + thr))
    runners.append(('torch', lambda m: [python, 'tools/bench/torch_deeplab.py', '--model', m]
                    + common + thr))
    if a.torch_jit:
        runners.append(('torch-jit', lambda m: [python, 'tools/bench/torch_deeplab.py',
                                                '--model', m, '--jit'] + common + thr))

    raw = {v: {name: [] for name, _ in runners} for v in models}
    for r in range(a.rounds):
        for v, m in models.items():
            for name, cmd in runners:
                res = run_json(cmd(m), env)
                raw[v][name].append(res)
                if res is not None:
                    sys.stderr.write('round %d %-14s %-12s median %8.1f ms  load %.2f\n' % (
                        r + 1, v, name, statistics.median(samples_of(res)),
                        res.get('load_start', res.get('results', [{}])[0].get('load_start', -1))))

    print('%-14s %-12s %10s %10s %6s %12s %12s  %s' % ('variant', 'runner', 'median ms',
                                                        'best ms', 'n', 'java/x med',
                                                        'java/x best', 'load avg per run'))
    summary = {}
    for v in models:
        summary[v] = {}
        for name, _ in runners:
            s = [x for res in raw[v][name] for x in samples_of(res)]
            loads = [res.get('load_start', res.get('results', [{}])[0].get('load_start', -1))
                     for res in raw[v][name] if res is not None]
            if s:
                summary[v][name] = {'median_ms': statistics.median(s), 'best_ms': min(s),
                                    'n': len(s), 'loads': loads}
        java = summary[v].get('java')
        for name, st in summary[v].items():
            rm = java['median_ms'] / st['median_ms'] if java else float('nan')
            rb = java['best_ms'] / st['best_ms'] if java else float('nan')
            print('%-14s %-12s %10.1f %10.1f %6d %12.3f %12.3f  %s' % (
                v, name, st['median_ms'], st['best_ms'], st['n'], rm, rb,
                ' '.join('%.2f' % l for l in st['loads'])))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'summary': summary, 'raw': raw, 'args': vars(a)}, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
