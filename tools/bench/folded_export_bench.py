#!/usr/bin/env python3
"""The current export against the export with batch norm folded into constant weights
(`deeplab export --fold-batch-norm`), on both TensorFlow engines, interleaved: for each round and
model, one process per runner and graph, one after another:
  java      deeplab bench --model DIR                       (TF Java, Eigen: our engine)
  py        tools/bench/tf_savedmodel_bench.py --mode session (Python TF under its defaults:
            oneDNN on, as users run it; tools/interop/tf_settings.py)
Pools each runner's timed runs over the rounds (median, best) and prints the ratio folded /
current, with the load average of every process; then each process's wall time (start, load,
warm-up and timed runs) and peak RSS, medians over the rounds.

  ${PYTHON:-python3} tools/bench/folded_export_bench.py --rounds 2 --runs 10 --warmup 3 \\
      mobilenet_v2=CURRENT_DIR,FOLDED_DIR xception_65=...,...

Environment: DEEPLAB (the launcher, default tools/deeplab), PYTHON (default python3).
"""

import argparse
import os
import statistics
import sys

from compare import HOME, run_json, samples_of


def peak_rss_mb(res):
    rss = res.get('peak_rss_bytes', res.get('header', {}).get('peak_rss_bytes', -1))
    return rss / 2 ** 20 if rss and rss > 0 else float('nan')


def load_of(res):
    return res.get('load_start', res.get('results', [{}])[0].get('load_start', -1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('models', nargs='+', metavar='NAME=CURRENT,FOLDED')
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--runs', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--runners', default='java,py')
    a = ap.parse_args()

    deeplab = os.environ.get('DEEPLAB', os.path.join(HOME, 'tools', 'deeplab'))
    python = os.environ.get('PYTHON', 'python3')
    common = ['--runs', str(a.runs), '--warmup', str(a.warmup)]
    env = dict(os.environ)
    env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    env.pop('TF_ENABLE_ONEDNN_OPTS', None)  # Python TF's default: oneDNN on
    commands = {
        'java': lambda m: [deeplab, 'bench', '--model', m, '--json'] + common,
        'py': lambda m: [python, 'tools/bench/tf_savedmodel_bench.py', '--model', m, '--mode',
                         'session'] + common,
    }
    runners = a.runners.split(',')
    models = {}
    for spec in a.models:
        name, dirs = spec.split('=', 1)
        current, folded = dirs.split(',')
        models[name] = {'current': current, 'folded': folded}

    raw = {(n, r, g): [] for n in models for r in runners for g in ('current', 'folded')}
    for rnd in range(a.rounds):
        for name, dirs in models.items():
            for runner in runners:
                # alternate which graph goes first from round to round
                order = ('current', 'folded') if rnd % 2 == 0 else ('folded', 'current')
                for graph in order:
                    res = run_json(commands[runner](dirs[graph]), env)
                    raw[(name, runner, graph)].append(res)
                    if res is not None:
                        sys.stderr.write('round %d %-14s %-5s %-8s median %8.1f ms  load %.2f\n'
                                         % (rnd + 1, name, runner, graph,
                                            statistics.median(samples_of(res)), load_of(res)))

    print('| model | engine | current median / best ms | folded median / best ms | folded / '
          'current (median, best) | load avg |')
    print('|---|---|---|---|---|---|')
    for name in models:
        for runner in runners:
            cur = [x for res in raw[(name, runner, 'current')] for x in samples_of(res)]
            fol = [x for res in raw[(name, runner, 'folded')] for x in samples_of(res)]
            if not cur or not fol:
                continue
            loads = [load_of(res) for g in ('current', 'folded')
                     for res in raw[(name, runner, g)] if res is not None]
            mc, bc, mf, bf = statistics.median(cur), min(cur), statistics.median(fol), min(fol)
            print('| %s | %s | %.1f / %.1f | %.1f / %.1f | %.3f, %.3f | %.1f–%.1f |' % (
                name, 'TF Java (Eigen)' if runner == 'java' else 'Python TF (oneDNN)',
                mc, bc, mf, bf, mf / mc, bf / bc, min(loads), max(loads)))
    print()
    print('| model | engine | process wall s, current / folded | peak RSS MB, current / folded |')
    print('|---|---|---|---|')
    for name in models:
        for runner in runners:
            cells = []
            for key in ('_wall_s', 'rss'):
                vals = []
                for g in ('current', 'folded'):
                    ok = [r for r in raw[(name, runner, g)] if r is not None]
                    v = [r['_wall_s'] if key == '_wall_s' else peak_rss_mb(r) for r in ok]
                    vals.append(statistics.median(v) if v else float('nan'))
                cells.append('%.1f / %.1f' % tuple(vals) if key == '_wall_s'
                             else '%.0f / %.0f' % tuple(vals))
            print('| %s | %s | %s | %s |' % (name, runner, cells[0], cells[1]))


if __name__ == '__main__':
    sys.exit(main())

