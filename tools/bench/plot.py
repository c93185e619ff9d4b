#!/usr/bin/env python3
"""Plots latency per variant against its FLOP floor (GFLOP / 435 GFLOP/s, the 2-core fp32 peak)
from tools/bench/results.json (numbers copied from the runs recorded in BENCHMARKS.md).

  ${PYTHON:-python3} tools/bench/plot.py [--results tools/bench/results.json] [--out docs/benchmarks.png]
"""

import argparse
import json
import os

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

HOME = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--results', default=os.path.join(HOME, 'tools', 'bench', 'results.json'))
    ap.add_argument('--out', default=os.path.join(HOME, 'docs', 'benchmarks.png'))
    a = ap.parse_args()
    with open(a.results) as f:
        res = json.load(f)
    peak = res['peak_gflops']
    variants = res['variants']
    series = res['series']            # [{"label":..., "key":...}] keys into each variant
    fig, ax = plt.subplots(figsize=(9, 6.2))
    n = len(series) + 1
    width = 0.8 / n
    xs = range(len(variants))
    floors = [v['gflop'] / peak * 1e3 for v in variants]
    ax.bar([x - 0.4 + width / 2 for x in xs], floors, width, color='#999999',
           label='FLOP floor (GFLOP / %d GFLOP/s)' % peak)
    colors = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd']
    for i, s in enumerate(series):
        med = [v.get(s['key'], {}).get('median_ms', 0) for v in variants]
        best = [v.get(s['key'], {}).get('best_ms', 0) for v in variants]
        pos = [x - 0.4 + width * (i + 1.5) for x in xs]
        ax.bar(pos, med, width, color=colors[i % len(colors)], label=s['label'] + ' (median)')
        ax.scatter(pos, best, marker='_', s=200, color='black', zorder=3,
                   label='best run' if i == 0 else None)
    for x, v in zip(xs, variants):
        if v.get('target_ms'):
            ax.hlines(v['target_ms'], x - 0.45, x + 0.45, colors='black', linestyles='dashed',
                      label='target' if x == 0 else None)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(['%s\n%.1f GFLOP' % (v['name'], v['gflop']) for v in variants])
    ax.set_yscale('log')
    ax.set_ylabel('latency per 513x513 image, ms (log)')
    ax.set_title(res.get('title', 'DeepLab inference latency vs FLOP floor'))
    ax.legend(fontsize=8, loc='upper center', bbox_to_anchor=(0.5, -0.13), ncol=2)
    ax.grid(axis='y', which='both', alpha=0.3)
    fig.text(0.01, 0.01, res.get('footnote', ''), fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print('wrote', a.out)


if __name__ == '__main__':
    main()
