#!/usr/bin/env python3
"""Reference of the serving graph's pre/post-processing (see SERVING.md here).

The network logits come from deeplab_net.py (float64, formula weights).  Around
it this script rebuilds, from the official sources, what the exported graph does
with an image of any size (tensorflow/models research/deeplab):

  input_preprocess.preprocess_image_and_label (is_training=False)
      cast to float; pad_to_bounding_box(image, 0, 0, crop_h, crop_w) with the
      model's mean pixel (pad image - mean with zeros, add the mean back)
  model.predict_labels
      logits -> resize_bilinear(align_corners=True) to the crop -> argmax
  export_model.py
      slice [0:resized_h, 0:resized_w] -> resize_nearest_neighbor(
      align_corners=True) back to the original size

plus the documented extension of our ServingGraph (class Javadoc):

  * an image that does not fit the crop is first scaled down with align-corners
    bilinear, aspect kept: scale = min(crop_h/h, crop_w/w, 1),
    side' = clip(round(side*scale), 1, crop);
  * `probabilities` = softmax of the crop-size upsampled logits, cut to the
    image region and resized back to the input size with align-corners bilinear.

All arithmetic is float64.  Resize sampling positions follow TensorFlow's legacy
align_corners kernels exactly: scale = (in-1)/(out-1) and the source position
out*scale are float32 numbers (as in resize_bilinear_op.cc /
resize_nearest_neighbor_op.cc); the interpolation itself is done in float64.

Modes:
  (default)   write deeplab-core/src/test/resources/golden-serving/<case>/
  --check     self-test: resize helpers vs the TF ops, and the whole pipeline
              recomputed in float32 with TF ops (tf.image.resize, tf.pad, ...)
              compared with the float64 fixtures
"""

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# TF's Eigen kernels: oneDNN 3.7 (Python TF 2.21) dies with SIGFPE on the float32 1x1 convs of
# ResNet's blocks 3 and 4 on CPUs whose cache sizes it misreads (README, "oneDNN").
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel('ERROR')

sys.dont_write_bytecode = True   # no __pycache__ next to the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deeplab_net as net  # noqa: E402
from deeplab_reference import CASES  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(
    HERE, '..', '..', 'deeplab-core', 'src', 'test', 'resources', 'golden-serving'))
DEFAULT_CASE = 'mobilenet_v2_dm05_os8_dec_64'

# (name, batch, height, width).  Crop of the default case: 64x64.
IMAGES = [
    ('small_40x50', 1, 40, 50),        # smaller, even x even
    ('small_33x63', 1, 33, 63),        # smaller, odd x odd
    ('tiny_7x3', 1, 7, 3),             # far smaller
    ('crop_64x64', 1, 64, 64),         # exactly the crop
    ('tall_80x50', 1, 80, 50),         # height larger  -> 64x40
    ('wide_48x100', 1, 48, 100),       # width larger   -> 31x64
    ('large_90x70', 1, 90, 70),        # both larger    -> 64x50
    ('large_130x97', 1, 130, 97),      # both larger    -> 64x48
    ('strip_200x3', 1, 200, 3),        # width clipped to 1 -> 64x1
    ('batch2_37x45', 2, 37, 45),       # batch of 2, smaller
    ('batch2_72x68', 2, 72, 68),       # batch of 2, both larger -> 64x60
]

JAVA_PROB_TOL = 1.5e-5   # ServingGraphReferenceTest.PROB_TOL
NEAR_TIE = 1e-4   # top-2 probability gap below which an id may differ (see SERVING.md)


# ---------------------------------------------------------------------------
# Resize helpers (TF legacy align_corners semantics, float64 interpolation).
# ---------------------------------------------------------------------------

def _tf_scale(n_in, n_out):
    """CalculateResizeScale(in, out, align_corners=True) as float32."""
    if n_out > 1:
        return np.float32(n_in - 1) / np.float32(n_out - 1)
    return np.float32(n_in) / np.float32(n_out)


def bilinear_matrix(n_in, n_out, exact=False):
    """[n_out, n_in] float64 matrix of resize_bilinear(align_corners=True).
    exact=True: float64 positions (only for the sensitivity check)."""
    scale = _tf_scale(n_in, n_out)
    if exact:
        scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    m = np.zeros((n_out, n_in), np.float64)
    for o in range(n_out):
        pos = np.float32(o) * scale if not exact else o * scale   # float32, as in TF
        lo_f = np.floor(pos)
        lo = max(int(lo_f), 0)
        hi = min(int(np.ceil(pos)), n_in - 1)
        frac = float(np.float32(pos - lo_f))
        m[o, lo] += 1.0 - frac
        m[o, hi] += frac
    return m


def nearest_index(n_in, n_out):
    """Source index per output index of resize_nearest_neighbor(align_corners=True)."""
    scale = _tf_scale(n_in, n_out)
    out = np.empty(n_out, np.int64)
    for o in range(n_out):
        pos = float(np.float32(o) * scale)             # float32 product
        out[o] = min(int(math.floor(pos + 0.5)), n_in - 1)   # roundf (pos >= 0)
    return out


def resize_bilinear(x, size, exact=False):
    """x: [b, h, w, c] float64 -> [b, H, W, c]."""
    ry = bilinear_matrix(x.shape[1], size[0], exact)
    rx = bilinear_matrix(x.shape[2], size[1], exact)
    return np.einsum('oh,bhwc,pw->bopc', ry, x, rx)


def fitted_size(h, w, crop_h, crop_w, mut=()):
    """Documented: scale=min(crop_h/h, crop_w/w, 1); side'=clip(round(side*scale),1,crop)."""
    scale = min(crop_h / h, crop_w / w, 1.0)
    out = []
    for side, crop in ((h, crop_h), (w, crop_w)):
        v = side * scale
        frac = v - math.floor(v)
        if abs(frac - 0.5) < 1e-6:
            raise ValueError('size %dx%d rounds a .5 tie; pick another size' % (h, w))
        r = int(math.floor(v)) if 'fit_floor' in mut else int(math.floor(v + 0.5))
        out.append(min(max(r, 1), crop))
    return out[0], out[1], scale


# ---------------------------------------------------------------------------
# Pipeline.
# ---------------------------------------------------------------------------

def make_image(batch, h, w):
    """uint8 [batch,h,w,3] from the shared formula generator (name "input", as
    formula_image) for the first image; further batch items use "input/<i>"."""
    imgs = [net.formula_image(h, w)[0]]
    for i in range(1, batch):
        u = net.formula_uniform('input/%d' % i, h * w * 3)
        imgs.append(np.floor(u * 256.0).reshape(h, w, 3))
    return np.stack(imgs).astype(np.uint8)


def preprocess(images, cfg, mut=()):
    """uint8 [b,h,w,3] -> float64 [b,crop_h,crop_w,3] and the resized size.
    `mut` names deliberate deviations, used only by the sensitivity check."""
    crop_h, crop_w = cfg['crop_size']
    b, h, w, _ = images.shape
    nh, nw, scale = fitted_size(h, w, crop_h, crop_w, mut)
    x = images.astype(np.float64)
    if (nh, nw) != (h, w):
        if 'image_half_pixel' in mut:
            x = tf.image.resize(x, (nh, nw), 'bilinear').numpy()
        else:
            x = resize_bilinear(x, (nh, nw), 'exact_positions' in mut)  # float, not re-quantised
        if 'requantise' in mut:
            x = np.clip(np.round(x), 0, 255)
    mean = np.array(net.mean_pixel(cfg['variant']), np.float64)
    if 'pad_zero' in mut:
        mean = np.zeros(3)
    # pad_to_bounding_box(image - mean, ...) + mean: bottom/right, offset (0, 0)
    padded = np.zeros((b, crop_h, crop_w, 3), np.float64)
    padded[:, :nh, :nw, :] = x - mean
    return padded + mean, (nh, nw), scale


def network_logits(padded, cfg, params):
    bld = net.Builder(params, dtype=tf.float64, resize='matrix')
    return net.deeplab_logits(bld, tf.constant(padded, tf.float64), cfg).numpy()


def softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def postprocess(logits, resized, orig, cfg, mut=()):
    """Returns semantic int32 [b,h,w], probabilities float64 [b,h,w,C], top-2 gap [b,h,w]."""
    crop_h, crop_w = cfg['crop_size']
    nh, nw = resized
    h, w = orig
    exact = 'exact_positions' in mut
    up = resize_bilinear(logits, (crop_h, crop_w), exact)      # predict_labels
    probs = softmax(up)
    ids = np.argmax(up, axis=-1).astype(np.int32)
    top = np.sort(probs, axis=-1)
    gap = top[..., -1] - top[..., -2]
    probs, ids, gap = probs[:, :nh, :nw], ids[:, :nh, :nw], gap[:, :nh, :nw]   # tf.slice
    iy, ix = nearest_index(nh, h), nearest_index(nw, w)
    semantic = ids[:, iy][:, :, ix]
    gap = gap[:, iy][:, :, ix]
    # Same op as export_model.py, to pin the nearest-neighbour convention.
    semantic_tf = tf.compat.v1.image.resize_nearest_neighbor(
        ids[..., None], [h, w], align_corners=True).numpy()[..., 0]
    if not np.array_equal(semantic, semantic_tf):
        raise AssertionError('nearest index != tf resize_nearest_neighbor')
    if 'nearest_half_pixel' in mut:
        semantic = tf.image.resize(ids[..., None], [h, w], 'nearest').numpy()[..., 0]
    if 'probs_softmax_last' in mut:
        probabilities = softmax(resize_bilinear(up[:, :nh, :nw], (h, w), exact))
    elif 'probs_nearest' in mut:
        probabilities = probs[:, iy][:, :, ix]
    else:
        probabilities = resize_bilinear(probs, (h, w), exact)
    return semantic, probabilities, gap


def run_all(cfg, images, mut=(), params=None):
    """images: list of (name, uint8 array).  One network call for everything."""
    pre = [preprocess(img, cfg, mut) for _, img in images]
    batch = np.concatenate([p[0] for p in pre], 0)
    logits = network_logits(batch, cfg, params or net.FormulaParams())
    out, k = [], 0
    for (name, img), (_, resized, scale) in zip(images, pre):
        b = img.shape[0]
        sem, prob, gap = postprocess(logits[k:k + b], resized, img.shape[1:3], cfg, mut)
        out.append((name, img, resized, scale, sem, prob, gap))
        k += b
    return out


# ---------------------------------------------------------------------------
# A second, float32 implementation with TF ops (for --check / noise estimate).
# ---------------------------------------------------------------------------

def float32_pipeline(images, cfg, params):
    crop_h, crop_w = cfg['crop_size']
    b, h, w, _ = images.shape
    nh, nw, _ = fitted_size(h, w, crop_h, crop_w)
    x = tf.cast(tf.constant(images), tf.float32)
    if (nh, nw) != (h, w):
        x = tf.compat.v1.image.resize_bilinear(x, [nh, nw], align_corners=True)
    mean = tf.constant(net.mean_pixel(cfg['variant']), tf.float32)
    x = tf.pad(x - mean, [[0, 0], [0, crop_h - nh], [0, crop_w - nw], [0, 0]]) + mean
    bld = net.Builder(params, dtype=tf.float32, resize='tf')
    logits = net.deeplab_logits(bld, x, cfg)
    up = tf.compat.v1.image.resize_bilinear(logits, [crop_h, crop_w], align_corners=True)
    probs = tf.nn.softmax(up)[:, :nh, :nw]
    ids = tf.cast(tf.argmax(up, 3), tf.int32)[:, :nh, :nw]
    sem = tf.compat.v1.image.resize_nearest_neighbor(ids[..., None], [h, w],
                                                     align_corners=True)[..., 0]
    prob = tf.compat.v1.image.resize_bilinear(probs, [h, w], align_corners=True)
    return sem.numpy(), prob.numpy()


# ---------------------------------------------------------------------------

def case_config(case):
    return CASES[case]


def write_fixtures(case, out_root):
    t0 = time.time()
    cfg = case_config(case)
    d = os.path.join(out_root, case)
    os.makedirs(d, exist_ok=True)
    images = [(name, make_image(b, h, w)) for name, b, h, w in IMAGES]
    results = run_all(cfg, images)
    t_ref = time.time() - t0
    params32 = net.FormulaParams()
    entries = []
    total = 0
    for name, img, resized, scale, sem, prob, gap in results:
        sem32, prob32 = float32_pipeline(img, cfg, params32)
        err32 = float(np.abs(prob32 - prob).max())
        diff32 = sem32 != sem
        files = {
            'input': name + '_input.npy',
            'semantic': name + '_semantic.npy',
            'probabilities': name + '_probabilities.npy',
            'top2_gap': name + '_top2_gap.npy',
        }
        # C order throughout (the Java reader refuses fortran_order).
        for key, arr in (('input', img), ('semantic', sem.astype(np.int32)),
                         ('probabilities', prob.astype(np.float32)),
                         ('top2_gap', gap.astype(np.float32))):
            np.save(os.path.join(d, files[key]), np.ascontiguousarray(arr))
        entries.append({
            'name': name,
            'shape': list(img.shape),
            'resized': list(resized),
            'scale': scale,
            'files': files,
            'min_top2_gap': float(gap.min()),
            'near_tie_pixels': int((gap < NEAR_TIE).sum()),
            'classes_used': sorted(int(c) for c in np.unique(sem)),
            'float32_tf_ops': {
                'probabilities_max_abs_err': err32,
                'semantic_mismatches': int(diff32.sum()),
                'max_gap_at_mismatch': float(gap[diff32].max()) if diff32.any() else None,
            },
        })
        print('%-14s %-14s -> resized %-9s classes %-15s min gap %.3g  near-ties %3d | '
              'f32 TF ops: max|dp| %.2g, id mismatches %d'
              % (name, 'x'.join(map(str, img.shape[:3])), '%dx%d' % tuple(resized),
                 entries[-1]['classes_used'], gap.min(), entries[-1]['near_tie_pixels'],
                 err32, diff32.sum()))
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    meta = {
        'case': case,
        'generator': 'tools/reference/serving_reference.py',
        'near_tie_threshold': NEAR_TIE,
        'top2_gap': 'float64 softmax top1-top2 at the crop-resolution pixel that the '
                    'nearest-neighbour resize maps each output pixel to',
        'images': entries,
    }
    with open(os.path.join(d, 'serving.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    for fn in os.listdir(d):
        total += os.path.getsize(os.path.join(d, fn))
    print('case %s: %d images, %d bytes in %s; float64 reference %.1f s, total %.1f s'
          % (case, len(entries), total, d, t_ref, time.time() - t0))


def check(case, out_root):
    ok = True

    def report(label, good):
        nonlocal ok
        ok &= bool(good)
        print('[%s] %s' % ('ok' if good else 'FAIL', label))

    rng = np.random.RandomState(1)
    worst = 0.0
    nn_ok = True
    for (hi, wi), (ho, wo) in (((40, 50), (64, 64)), ((64, 40), (80, 50)), ((1, 7), (5, 9)),
                               ((97, 130), (48, 64)), ((64, 1), (200, 3)), ((16, 16), (64, 64)),
                               ((31, 64), (48, 100)), ((60, 64), (72, 68))):
        x = rng.rand(1, hi, wi, 4).astype(np.float32) * 255
        mine = resize_bilinear(x.astype(np.float64), (ho, wo))
        theirs = tf.compat.v1.image.resize_bilinear(x, [ho, wo], align_corners=True).numpy()
        worst = max(worst, float(np.abs(mine - theirs).max()))
        ids = rng.randint(0, 100, (1, hi, wi, 1)).astype(np.int32)
        tfn = tf.compat.v1.image.resize_nearest_neighbor(ids, [ho, wo], align_corners=True).numpy()
        nn_ok &= np.array_equal(ids[:, nearest_index(hi, ho)][:, :, nearest_index(wi, wo)], tfn)
    report('bilinear matrices == tf resize_bilinear(align_corners) on 0..255 data '
           '(max |d| %.2g)' % worst, worst < 1e-3)
    report('nearest_index == tf resize_nearest_neighbor(align_corners)', nn_ok)

    cfg = case_config(case)
    # Crop-size image: the serving reference must reduce to the golden case.
    gold_dir = os.path.join(os.path.dirname(out_root), 'golden', case)
    if os.path.isdir(gold_dir):
        h, w = cfg['crop_size']
        img = net.formula_image(h, w).astype(np.uint8)
        (_, _, _, _, sem, _, gap), = run_all(cfg, [('crop', img)])
        gold = np.load(os.path.join(gold_dir, 'logits_upsampled_argmax.npy'))
        report('crop-size image: semantic == golden/%s argmax (%d differ)'
               % (case, int((gold != sem).sum())), np.array_equal(gold, sem))

    d = os.path.join(out_root, case)
    with open(os.path.join(d, 'serving.json')) as f:
        meta = json.load(f)
    params32 = net.FormulaParams()
    for e in meta['images']:
        img = np.load(os.path.join(d, e['files']['input']))
        sem = np.load(os.path.join(d, e['files']['semantic']))
        prob = np.load(os.path.join(d, e['files']['probabilities']))
        gap = np.load(os.path.join(d, e['files']['top2_gap']))
        sem32, prob32 = float32_pipeline(img, cfg, params32)
        err = float(np.abs(prob32 - prob).max())
        bad = (sem32 != sem) & (gap >= NEAR_TIE)
        sums = float(np.abs(prob.astype(np.float64).sum(-1) - 1).max())
        report('%-14s float32 TF-op pipeline vs fixture: max|dp| %.2g, ids differ %d '
               '(outside near-ties %d), |sum p - 1| <= %.1g'
               % (e['name'], err, int((sem32 != sem).sum()), int(bad.sum()), sums),
               err < 1e-5 and not bad.any() and sums < 1e-5)
    # Sensitivity: plausible implementation mistakes must be caught by the Java test's
    # criteria (probabilities within PROB_TOL, ids equal outside near-ties).
    # 'exact_positions' (float64 instead of TF's float32 sampling positions) is reported for
    # information only: on the resized noise inputs it moves probabilities by up to ~6e-5
    # (almost all from the image resize, pixel steps of up to 255), which is why the
    # reference reproduces TF's float32 positions.
    images = [(e['name'], np.load(os.path.join(d, e['files']['input']))) for e in meta['images']]
    fixtures = {e['name']: [np.load(os.path.join(d, e['files'][k]))
                            for k in ('probabilities', 'semantic', 'top2_gap')]
                for e in meta['images']}
    params = net.FormulaParams()
    for mut, should_detect in (('exact_positions', None), ('requantise', True),
                               ('image_half_pixel', True), ('pad_zero', True),
                               ('fit_floor', True), ('nearest_half_pixel', True),
                               ('probs_nearest', True), ('probs_softmax_last', True)):
        worst, real, hit = 0.0, 0, []
        for name, _, _, _, sem, prob, _ in run_all(cfg, images, (mut,), params):
            p_ref, s_ref, g_ref = fixtures[name]
            err = float(np.abs(prob - p_ref).max())
            n = int(((sem != s_ref) & (g_ref >= NEAR_TIE)).sum())
            worst, real = max(worst, err), real + n
            if err > JAVA_PROB_TOL or n:
                hit.append(name)
        detected = bool(hit)
        line = ('sensitivity %-19s max|dp| %.2g, ids differ outside near-ties at %d px -> %s %s'
                % (mut, worst, real, 'caught by' if detected else 'not caught',
                   ','.join(hit) if hit else ''))
        if should_detect is None:
            print('[info] ' + line)
        else:
            report(line, detected == should_detect)
    print('CHECK', 'PASSED' if ok else 'FAILED')
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--case', default=DEFAULT_CASE, choices=sorted(CASES))
    p.add_argument('--out', default=DEFAULT_OUT, help='golden-serving directory')
    p.add_argument('--check', action='store_true', help='self-test against the fixtures')
    args = p.parse_args()
    if args.check:
        return 0 if check(args.case, args.out) else 1
    write_fixtures(args.case, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
