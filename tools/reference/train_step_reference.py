#!/usr/bin/env python3
"""Reference for the official DeepLab training step, for the Java trainer's parity tests.

An independent float64 implementation, in plain TensorFlow ops, of one step of
tensorflow/models research/deeplab `train.py` with `utils/train_utils.py`:

- the network of `deeplab_net.py` with batch norm in training mode: batch mean and (biased)
  variance normalise; the moving averages follow `moving -= (1 - decay) * (moving - batch)`
  with the Bessel-corrected batch variance, as TF's fused batch norm reports it to slim.
  Decay: MobileNetV2 0.997 (slim `mobilenet.training_scope`), Xception 0.9997 and ResNet 0.95
  (`core/feature_extractor.py`), DeepLab head 0.9997 (`model.py`); no dropout (the Java side
  turns it off so that both are deterministic);
- `add_softmax_cross_entropy_loss_for_each_scale`: logits upsampled (align corners) to the label
  size, softmax cross-entropy against one-hot labels, weight 0 for the ignore label and the class
  weight otherwise, normalised by the non-ignored pixels; with `top_k_percent_pixels < 1` the
  top-k weighted losses (k ramping linearly over `hard_example_mining_step`) normalised by the
  non-zero ones;
- L2 regularisation `weight_decay * l2_loss(w)` (½·Σw²) on every conv `weights` (slim arg
  scopes; depthwise weights are not regularised);
- gradient multipliers of `get_model_gradient_multipliers`: ×2 for biases; variables whose name
  contains one of the last-layer scopes (`logits`, or also `image_pooling`, `aspp`,
  `concat_projection`, `decoder`, `meta_architecture`) ×`last_layer_gradient_multiplier`
  (×2 that for their biases), applied to the whole gradient (data loss + regularisation);
- with `fine_tune_batch_norm=False` batch norm uses the moving statistics, which stay unchanged,
  while gamma and beta are still trained (slim keeps them trainable);
- the learning rate of `get_model_learning_rate` at the step before its increment;
- `tf.train.MomentumOptimizer` (`accum = m·accum + g; w -= lr·accum`) or
  `tf.train.AdamOptimizer` (TF1 slots `Adam`, `Adam_1` and `beta1_power`/`beta2_power`).

Each step computes in float64; the state it leaves (weights, slots, moving statistics) is rounded
to float32, as the official variables are, so that our float32 run and the reference hold the
same state between steps instead of drifting apart by a rounding per step.

Starting weights are the formula values of `deeplab_net.formula_values` (float32, as the Java
tests generate them); the fixed batches are centre crops of voc-mini, written next to the
results so that Java feeds the same bytes.

For each case the output directory gets:
  case.json    configuration, per-step loss and learning rate, and for every variable the sampled
               element indices and where its values sit in values.npy
  pixels.npy   uint8 [steps, batch, h, w, 3]
  labels.npy   uint8 [steps, batch, h, w]
  values.npy   float32 [steps, entries]: after each step, for every variable, the change of the
               variable since the start (sampled elements, then its L2 norm), and the same for
               its optimizer slots

Usage:  python3 tools/reference/train_step_reference.py [--out DIR] [--case NAME]
"""

import argparse
import json
import math
import os
import sys
import zlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deeplab_net as net  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESOURCES = os.path.normpath(os.path.join(HERE, '..', '..', 'deeplab-core', 'src', 'test',
                                          'resources'))
VOC_MINI = os.path.join(RESOURCES, 'voc-mini')
SAMPLES = 48
MAX_ATTEMPTS = 200
# Our float32 activations stay within a few 1e-6 of float64 relative to their typical size: a
# ReLU input closer than this to a kink could fall on the other side in float32.
MIN_RELU_MARGIN = 1e-5

HEAD_SCOPES = ('image_pooling', 'aspp', 'concat_projection', 'decoder')
LAST_LAYERS = ('logits', 'image_pooling', 'aspp', 'concat_projection', 'decoder',
               'meta_architecture')
BN_DECAY = {'mobilenet': 0.997, 'xception': 0.9997, 'resnet': 0.95}
HEAD_BN_DECAY = 0.9997


def _model(variant, os_, rates, size, dec=None, multi_grid=None):
    return {
        'variant': variant, 'output_stride': os_, 'atrous_rates': rates,
        'multi_grid': multi_grid, 'decoder_output_stride': dec,
        'aspp_with_separable_conv': True, 'decoder_use_separable_conv': True,
        'num_classes': 21, 'crop_size': [size, size], 'depth_multiplier': 1.0,
        'input_size': [size, size],
    }


def _train(**overrides):
    t = {
        'steps': 3, 'batch_size': 2, 'total_steps': 10, 'learning_policy': 'poly',
        'base_learning_rate': 0.01, 'learning_power': 0.9, 'end_learning_rate': 0.0,
        'slow_start_step': 1, 'slow_start_learning_rate': 0.002, 'slow_start_burnin': 'none',
        'momentum': 0.9, 'weight_decay': 4e-5, 'last_layer_gradient_multiplier': 1.0,
        'last_layers_contain_logits_only': False, 'ignore_label': 255, 'class_weights': [],
        'top_k_percent_pixels': 1.0, 'hard_example_mining_step': 0, 'optimizer': 'momentum',
        'adam_learning_rate': 0.001, 'adam_epsilon': 1e-8, 'fine_tune_batch_norm': False,
        'min_relu_margin': MIN_RELU_MARGIN,
    }
    t.update(overrides)
    return t


# The official fine-tuning rate for the frozen cases, where one image per step makes bigger
# steps erratic.
FROZEN_RATES = {'base_learning_rate': 1e-4, 'slow_start_learning_rate': 2e-5}

BN_RATES = {'base_learning_rate': 1e-10, 'slow_start_learning_rate': 2e-11,
            'last_layers_contain_logits_only': True, 'last_layer_gradient_multiplier': 1e7}

CASES = {
    # Batch norm frozen (fine_tune_batch_norm=False, the official small-batch recipe), on moving
    # statistics calibrated to the first batch: every variable and slot is compared. One small
    # image per batch keeps the ReLU inputs few, so that crops without near-ties exist.
    # poly with a slow start, the x2 bias gradient and a x3 multiplier on the head
    'mobilenet_v2_os16_33': (_model('mobilenet_v2', 16, [], 33),
                             _train(last_layer_gradient_multiplier=3.0, batch_size=1,
                                    **FROZEN_RATES)),
    # hard-pixel mining ramped over 2 steps, class weights, logits-only multiplier, linear burn-in
    'mobilenet_v2_os16_33_mining': (_model('mobilenet_v2', 16, [], 33), _train(
        top_k_percent_pixels=0.3, hard_example_mining_step=2, batch_size=1,
        class_weights=[0.5 + 0.075 * c for c in range(21)], last_layer_gradient_multiplier=10.0,
        last_layers_contain_logits_only=True, slow_start_step=2, slow_start_burnin='linear',
        **FROZEN_RATES)),
    # Adam (its own constant rate, as the official flags); an epsilon above float32's noise in
    # near-zero gradients, whose update would otherwise be +-rate on either side of the noise
    'mobilenet_v2_os16_33_adam': (_model('mobilenet_v2', 16, [], 33),
                                  _train(optimizer='adam', slow_start_step=0, batch_size=1,
                                         adam_learning_rate=1e-5, adam_epsilon=1e-5)),
    # (Xception-65 with frozen batch norm has near-ties within float32's reach at every crop tried:
    # its 65 layers accumulate too much rounding for the whole-network comparison.)
    # Batch norm in training mode: the backward pass through dozens of training-mode batch norms
    # cancels so much that float32 gradients below them differ from float64 by percents (see
    # tools/reference/README.md), so the Java test compares the loss, every moving statistic
    # (decay, epsilon, Bessel correction of each backbone) and the logits layer above them.
    # A base rate too small to move the stored float32 weights below the logits (so that those
    # percent-level gradient differences cannot make the runs drift apart), and the logits
    # trained at 1e-3 through the last-layer multiplier.
    'mobilenet_v2_os16_65_bn': (_model('mobilenet_v2', 16, [], 65),
                                _train(fine_tune_batch_norm=True, batch_size=4, **BN_RATES)),
    'xception_65_os16_dec_33_bn': (_model('xception_65', 16, [6, 12, 18], 33, dec=4,
                                          multi_grid=[1, 1, 1]),
                                   _train(fine_tune_batch_norm=True, batch_size=4, **BN_RATES)),
    'resnet_v1_50_beta_os16_33_bn': (_model('resnet_v1_50_beta', 16, [6, 12, 18], 33,
                                            multi_grid=[1, 2, 4]),
                                     _train(fine_tune_batch_norm=True, batch_size=4,
                                            weight_decay=1e-4, **BN_RATES)),
}


class VariableStore(object):
    """The variables of one model, created once with the formula values, in float64."""

    def __init__(self):
        self.values = {}

    def get(self, name, shape):
        v = self.values.get(name)
        if v is None:
            init = net.formula_values(name, shape).astype(np.float64)
            v = tf.Variable(init, name=name.replace('/', '__'), dtype=tf.float64,
                            trainable=net.is_trainable(name))
            self.values[name] = v
        assert tuple(v.shape) == tuple(shape), (name, v.shape, shape)
        return v


class TrainingBuilder(net.Builder):
    """deeplab_net's builder with variables from a store and training-mode batch norm."""

    def __init__(self, store, family, train_batch_norm):
        super(TrainingBuilder, self).__init__(params=None, dtype=tf.float64, resize='matrix')
        self.store = store
        self.family = family
        self.train_batch_norm = train_batch_norm
        self.dilate_kernels = True
        self.margins = []
        self.batch_statistics = []  # (scope, mean, Bessel-corrected variance, decay)

    def activate(self, x, act):
        """Records how close the inputs come to the ReLU's kinks, relative to the float32
        resolution there: the typical input size (median magnitude) at 0, the kink at 6."""
        if act in ('relu', 'relu6'):
            v = np.abs(x.numpy())
            nonzero = v[v > 0]  # exact zeros (padding) are the same in every precision
            scale = float(np.median(v))
            if nonzero.size and scale > 0:
                self.margins.append(float(nonzero.min()) / scale)
            if act == 'relu6':
                self.margins.append(float(np.abs(x.numpy() - 6.0).min()) / 6.0)
        return super(TrainingBuilder, self).activate(x, act)

    def var(self, name, shape):
        shape = tuple(int(d) for d in shape)
        if name in self.variables:
            raise ValueError('variable created twice: %s' % name)
        self.variables[name] = shape
        return self.store.get(name, shape)

    def batch_norm(self, x, scope, eps):
        c = int(x.shape[-1])
        gamma = self.var(scope + '/BatchNorm/gamma', [c])
        beta = self.var(scope + '/BatchNorm/beta', [c])
        moving_mean = self.var(scope + '/BatchNorm/moving_mean', [c])
        moving_variance = self.var(scope + '/BatchNorm/moving_variance', [c])
        if not self.train_batch_norm:
            return gamma * (x - moving_mean) / tf.sqrt(moving_variance + eps) + beta
        mean = tf.reduce_mean(x, axis=[0, 1, 2])
        variance = tf.reduce_mean(tf.square(x - mean), axis=[0, 1, 2])
        n = int(x.shape[0]) * int(x.shape[1]) * int(x.shape[2])
        head = scope.split('/')[0].startswith(HEAD_SCOPES)
        decay = HEAD_BN_DECAY if head else BN_DECAY[self.family]
        self.batch_statistics.append((scope, mean, variance * n / (n - 1.0), decay))
        return gamma * (x - mean) / tf.sqrt(variance + eps) + beta


def f32(x):
    """Rounds computed state to float32, as TF1 stores variables and slots between steps."""
    return tf.cast(tf.cast(x, tf.float32), tf.float64)


def learning_rate(t, step):
    """get_model_learning_rate at global_step = step."""
    if t['optimizer'] == 'adam':
        return t['adam_learning_rate']
    s0 = t['slow_start_step']
    if step < s0:
        if t['slow_start_burnin'] == 'linear':
            return t['slow_start_learning_rate'] + (
                t['base_learning_rate'] - t['slow_start_learning_rate']) * step / s0
        return t['slow_start_learning_rate']
    s = max(step - s0, 0)
    total = t['total_steps'] - s0
    base, end = t['base_learning_rate'], t['end_learning_rate']
    policy = t['learning_policy']
    if policy == 'poly':
        s = min(s, total)
        return (base - end) * (1.0 - s / total) ** t['learning_power'] + end
    raise ValueError(policy)


def data_loss(logits, labels, t, step, num_classes):
    """add_softmax_cross_entropy_loss_for_each_scale with upsample_logits=True; also the gap
    between the last kept and the first dropped pixel loss of hard-pixel mining (relative), a
    near-tie when tiny."""
    h, w = int(labels.shape[1]), int(labels.shape[2])
    lh, lw = int(logits.shape[1]), int(logits.shape[2])
    ry = tf.constant(net.bilinear_matrix(lh, h))
    rx = tf.constant(net.bilinear_matrix(lw, w))
    up = tf.einsum('oh,bhwc,pw->bopc', ry, logits, rx)
    flat_logits = tf.reshape(up, [-1, num_classes])
    flat_labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
    one_hot = tf.one_hot(flat_labels, num_classes, dtype=tf.float64)
    keep = tf.cast(tf.not_equal(flat_labels, t['ignore_label']), tf.float64)
    class_weights = t['class_weights'] or [1.0] * num_classes
    weights = keep * tf.linalg.matvec(one_hot, tf.constant(class_weights, tf.float64))
    log_p = flat_logits - tf.reduce_logsumexp(flat_logits, axis=1, keepdims=True)
    pixel_losses = -tf.reduce_sum(tf.stop_gradient(one_hot) * log_p, axis=1)
    weighted = pixel_losses * weights
    if t['top_k_percent_pixels'] == 1.0:
        total, present = tf.reduce_sum(weighted), tf.reduce_sum(keep)
        gap = float('inf')
    else:
        # k in float32 as the official tf.to_float / tf.to_int32
        num_pixels = np.float32(int(flat_labels.shape[0]))
        top = np.float32(t['top_k_percent_pixels'])
        if t['hard_example_mining_step'] == 0:
            k = int(np.float32(top * num_pixels))
        else:
            ratio = min(np.float32(1.0), np.float32(step) / np.float32(t['hard_example_mining_step']))
            k = int(np.float32((ratio * top + (np.float32(1.0) - ratio)) * num_pixels))
        top_losses, _ = tf.math.top_k(weighted, k=k, sorted=True)
        ranked = np.sort(weighted.numpy())[::-1]
        gap = float('inf')
        if k < len(ranked) and ranked[k - 1] > 0:
            gap = (ranked[k - 1] - ranked[k]) / ranked[k - 1]
        total = tf.reduce_sum(top_losses)
        present = tf.reduce_sum(tf.cast(tf.not_equal(top_losses, 0.0), tf.float64))
    return tf.cast(present > 0, tf.float64) * total / tf.maximum(1e-5, present), gap


def gradient_multiplier(name, t):
    last = ('logits',) if t['last_layers_contain_logits_only'] else LAST_LAYERS
    mult = 2.0 if 'biases' in name else 1.0
    for layer in last:
        if layer in name:
            m = t['last_layer_gradient_multiplier']
            return 2.0 * m if 'biases' in name else m
    return mult


def center_crops(size, count, step, attempt=0):
    """Batch `step`: `count` voc-mini crops near the centre, shifted by step and attempt."""
    with open(os.path.join(VOC_MINI, 'ImageSets', 'Segmentation', 'train.txt')) as f:
        ids = [line.strip() for line in f if line.strip()]
    pixels, labels = [], []
    for i in range(count):
        sid = ids[(step * count + i) % len(ids)]
        img = np.asarray(Image.open(os.path.join(VOC_MINI, 'JPEGImages', sid + '.jpg'))
                         .convert('RGB'))
        lab = np.asarray(Image.open(os.path.join(VOC_MINI, 'SegmentationClass', sid + '.png')))
        # a different region each step: shift the crop by a few pixels
        h, w = img.shape[0] - size + 1, img.shape[1] - size + 1
        y = (h // 2 + 7 * step + 17 * attempt) % h
        x = (w // 2 - 5 * step - 23 * attempt) % w
        pixels.append(img[y:y + size, x:x + size])
        labels.append(lab[y:y + size, x:x + size])
    return np.stack(pixels).astype(np.uint8), np.stack(labels).astype(np.uint8)


def sample_indices(name, n):
    rng = np.random.RandomState(zlib.crc32(name.encode('utf-8')))
    return sorted(rng.choice(n, size=min(n, SAMPLES), replace=False).tolist())


def calibrate(store, family, model, pixels):
    """Moving statistics := the batch mean and variance over `pixels` (so that a frozen network
    normalises its activations as a trained one does)."""
    b = TrainingBuilder(store, family, True)
    net.deeplab_logits(b, tf.constant(pixels.astype(np.float64)), model)
    n = pixels.shape[0]
    out = {}
    for scope, mean, corrected, _ in b.batch_statistics:
        for key, value in (('moving_mean', mean), ('moving_variance', corrected)):
            v = store.values[scope + '/BatchNorm/' + key]
            v.assign(value)
            out[scope + '/BatchNorm/' + key] = v.numpy().astype(np.float32)
    return out


def forward(store, family, model, t, step, pixels, labels):
    """The total loss of one step under a gradient tape, and the builder that made it."""
    b = TrainingBuilder(store, family, t['fine_tune_batch_norm'])
    with tf.GradientTape() as tape:
        logits = net.deeplab_logits(b, tf.constant(pixels.astype(np.float64)), model)
        loss, gap = data_loss(logits, labels, t, step, model['num_classes'])
        b.margins.append(gap)
        regularised = [store.values[v] for v in b.variables if v.endswith('/weights')]
        reg = t['weight_decay'] * tf.add_n([tf.reduce_sum(tf.square(w)) / 2.0
                                            for w in regularised])
        total = loss + reg
    return tape, total, b


def run_case(name, model, t, out_dir):
    family = net.backbone_family(model['variant'])
    store = VariableStore()
    size = model['crop_size'][0]
    moving = {}
    if not t['fine_tune_batch_norm']:
        # formula moving statistics would let a frozen network's activations explode
        pool = np.concatenate([center_crops(size, 2, s, 99)[0] for s in range(2)])
        moving = calibrate(store, family, model, pool)
    batches = []
    slots = {}
    initial = None
    attempts = []
    layout, rows, width = [], [], 0
    margins = []
    losses, rates = [], []
    beta1, beta2 = 0.9, 0.999
    powers = [1.0, 1.0]
    for step in range(t['steps']):
        # With frozen batch norm every gradient is compared: take the first crops whose ReLU
        # inputs all stay clear of the kink (a near-tie would flip with the rounding).
        for attempt in range(MAX_ATTEMPTS):
            pixels, labels = center_crops(size, t['batch_size'], step, attempt)
            tape, total, b = forward(store, family, model, t, step, pixels, labels)
            if t['fine_tune_batch_norm'] or min(b.margins) >= t['min_relu_margin']:
                break
            print('  %s step %d crops %d: a ReLU input %.1e of its RMS from the kink' % (
                name, step, attempt, min(b.margins)))
        else:
            raise SystemExit('%s step %d: no crops without ReLU near-ties' % (name, step))
        batches.append((pixels, labels))
        attempts.append(attempt)
        names = [v for v in b.variables if net.is_trainable(v)]
        if initial is None:
            initial = {v: store.values[v].numpy().copy() for v in b.variables}
            order = list(b.variables)
        grads = tape.gradient(total, [store.values[v] for v in names])
        lr = learning_rate(t, step)
        losses.append(float(total.numpy()))
        rates.append(lr)
        margins.append(min(b.margins))
        if t['optimizer'] == 'adam':
            powers = [powers[0] * beta1, powers[1] * beta2]
        for v, g in zip(names, grads):
            g = g * gradient_multiplier(v, t)
            var = store.values[v]
            if t['optimizer'] == 'momentum':
                acc = f32(slots.get(v + '/Momentum', 0.0) * t['momentum'] + g)
                slots[v + '/Momentum'] = acc
                var.assign(f32(var - lr * acc))
            else:
                m = f32(beta1 * slots.get(v + '/Adam', 0.0) + (1 - beta1) * g)
                s = f32(beta2 * slots.get(v + '/Adam_1', 0.0) + (1 - beta2) * g * g)
                slots[v + '/Adam'], slots[v + '/Adam_1'] = m, s
                lr_t = lr * math.sqrt(1 - powers[1]) / (1 - powers[0])
                var.assign(f32(var - lr_t * m / (tf.sqrt(s) + t['adam_epsilon'])))
        for scope, mean, variance, decay in b.batch_statistics:
            mm = store.values[scope + '/BatchNorm/moving_mean']
            mv = store.values[scope + '/BatchNorm/moving_variance']
            mm.assign(f32(mm - (1 - decay) * (mm - mean)))
            mv.assign(f32(mv - (1 - decay) * (mv - variance)))
        current = {v: store.values[v].numpy() - initial[v] for v in order}
        current.update({k: np.asarray(s) for k, s in slots.items()})
        if not layout:
            for key in sorted(current):
                idx = sample_indices(key, current[key].size)
                layout.append({'name': key, 'shape': list(current[key].shape),
                               'offset': width, 'indices': idx})
                width += len(idx) + 1
        row = np.zeros(width, np.float64)
        for item in layout:
            flat = np.asarray(current[item['name']], np.float64).reshape(-1)
            o, idx = item['offset'], item['indices']
            row[o:o + len(idx)] = flat[idx]
            row[o + len(idx)] = np.linalg.norm(flat)
        rows.append(row)
        del current
        print('  %s step %d: loss %.6f, lr %.6g, nearest ReLU kink %.2e (crops %d)' % (
            name, step, losses[-1], lr, margins[-1], attempt))
    values = np.stack(rows).astype(np.float32)

    os.makedirs(out_dir, exist_ok=True)
    pixels = np.stack([p for p, _ in batches])  # [steps, batch, h, w, 3]
    labels = np.stack([l for _, l in batches])
    np.save(os.path.join(out_dir, 'pixels.npy'), pixels)
    np.save(os.path.join(out_dir, 'labels.npy'), labels)
    np.save(os.path.join(out_dir, 'values.npy'), values)
    moving_layout, offset = [], 0
    for k in sorted(moving):
        moving_layout.append({'name': k, 'offset': offset, 'size': int(moving[k].size)})
        offset += int(moving[k].size)
    np.save(os.path.join(out_dir, 'moving.npy'),
            np.concatenate([moving[k] for k in sorted(moving)]) if moving
            else np.zeros(0, np.float32))
    with open(os.path.join(out_dir, 'case.json'), 'w') as f:
        json.dump({'model': model, 'train': t, 'loss': losses, 'learning_rate': rates,
                   'relu_margin': margins, 'crops': attempts, 'initial_moving': moving_layout,
                   'variables': layout}, f, separators=(',', ':'))
        f.write('\n')


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=os.path.join(RESOURCES, 'golden-train'))
    p.add_argument('--case', action='append', choices=sorted(CASES))
    args = p.parse_args()
    for name in args.case or sorted(CASES):
        model, t = CASES[name]
        run_case(name, model, t, os.path.join(args.out, name))
        print('wrote %s' % os.path.join(args.out, name))


if __name__ == '__main__':
    main()
