#!/usr/bin/env python3
"""Training throughput of DeepLab in Python TensorFlow (the baseline for train_bench.sh).

The network is the independent plain-tf.nn reimplementation of the official DeepLab in
tools/reference/deeplab_net.py (same layers, variable shapes and head as the Java library),
made trainable here: tf.Variable weights, batch norm in training mode (fused, with the
moving-average updates), align-corners bilinear upsampling of the logits to the crop, softmax
cross-entropy with ignore label 255 normalised by the valid pixels, weight decay, Keras SGD with
momentum 0.9, all in one tf.function step. Atrous convs use TF's native dilations (their Python
gradients are correct). Data: one fixed random batch, as the Java benchmark
(dev.deeplab.bench.TrainBenchmark), so only TensorFlow's work is timed.

Usage: python3 tools/bench/train_python.py --variant mobilenet_v2 --crop 321 --batch 4 \
           --steps 10 [--warmup 3] [--output-stride 16]
Prints one line: "python <variant> ... : <images/s> images/s ...".
"""

import argparse
import os
import sys
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'reference'))
import deeplab_net as net  # noqa: E402

MOVING = ('moving_mean', 'moving_variance')
HEAD_SCOPES = ('image_pooling', 'aspp', 'concat_projection', 'decoder', 'logits')


class TrainBuilder(net.Builder):
    """deeplab_net.Builder with trainable variables and training-mode batch norm."""

    def __init__(self, seed):
        super().__init__(params=None, dtype=tf.float32, resize='tf')
        self.tf_vars = {}
        self.rng = np.random.default_rng(seed)

    def var(self, name, shape):
        shape = tuple(int(d) for d in shape)
        v = self.tf_vars.get(name)
        if v is not None:
            return v
        self.variables[name] = shape
        leaf = name.rsplit('/', 1)[-1]
        if leaf in ('gamma', 'moving_variance'):
            init = np.ones(shape, np.float32)
        elif leaf in ('beta', 'moving_mean', 'biases'):
            init = np.zeros(shape, np.float32)
        else:
            init = np.clip(self.rng.standard_normal(shape) * 0.09, -0.18, 0.18).astype(np.float32)
        v = tf.Variable(init, name=name.replace('/', '__'), trainable=leaf not in MOVING)
        self.tf_vars[name] = v
        return v

    def batch_norm(self, x, scope, eps):
        c = int(x.shape[-1])
        gamma = self.var(scope + '/BatchNorm/gamma', [c])
        beta = self.var(scope + '/BatchNorm/beta', [c])
        mean = self.var(scope + '/BatchNorm/moving_mean', [c])
        var = self.var(scope + '/BatchNorm/moving_variance', [c])
        y, batch_mean, batch_var = tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=eps, is_training=True)
        decay = 0.9997 if scope.split('/')[0].startswith(HEAD_SCOPES) else 0.997
        mean.assign_sub((mean - batch_mean) * (1 - decay))
        var.assign_sub((var - batch_var) * (1 - decay))
        return y


def config(variant, crop, output_stride, num_classes=21):
    """ModelConfig.defaults of the Java library: MobileNetV2 without ASPP branches or decoder,
    the others DeepLabv3+ with rates 6,12,18 (OS16) and the decoder at stride 4."""
    mobile = variant == 'mobilenet_v2'
    rates = {8: [12, 24, 36], 16: [6, 12, 18], 32: [3, 6, 9]}[output_stride]
    return {
        'variant': variant,
        'output_stride': output_stride,
        'atrous_rates': [] if mobile else rates,
        'multi_grid': [1, 2, 4] if variant.endswith('_beta') else [1, 1, 1],
        'decoder_output_stride': None if mobile else 4,
        'aspp_with_separable_conv': True,
        'decoder_use_separable_conv': True,
        'num_classes': num_classes,
        'crop_size': [crop, crop],
        'depth_multiplier': 1.0,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--variant', default='mobilenet_v2')
    p.add_argument('--crop', type=int, default=321)
    p.add_argument('--batch', type=int, default=4)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--output-stride', type=int, default=16)
    p.add_argument('--weight-decay', type=float, default=4e-5)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()

    cfg = config(a.variant, a.crop, a.output_stride)
    n, c, k = a.batch, a.crop, cfg['num_classes']
    rng = np.random.default_rng(a.seed)
    images = tf.constant(rng.integers(0, 256, (n, c, c, 3)).astype(np.float32))
    labels_np = rng.integers(0, k, (n, c, c)).astype(np.int32)
    labels_np[rng.integers(0, 20, (n, c, c)) == 0] = 255
    labels = tf.constant(labels_np)

    b = TrainBuilder(a.seed)

    def loss_fn():
        logits = net.deeplab_logits(b, images, cfg)
        up = tf.compat.v1.image.resize_bilinear(logits, [c, c], align_corners=True)
        flat = tf.reshape(up, [-1, k])
        lab = tf.reshape(labels, [-1])
        keep = tf.cast(tf.not_equal(lab, 255), tf.float32)
        onehot = tf.one_hot(tf.where(lab == 255, tf.zeros_like(lab), lab), k) * keep[:, None]
        ce = tf.nn.softmax_cross_entropy_with_logits(labels=tf.stop_gradient(onehot), logits=flat)
        data = tf.reduce_sum(ce * keep) / tf.maximum(tf.reduce_sum(keep), 1.0)
        decay = tf.add_n([tf.nn.l2_loss(v) for name, v in b.tf_vars.items()
                          if name.endswith('/weights')])
        return data + a.weight_decay * decay

    t0 = time.time()
    first = loss_fn()  # eager pass: creates the variables
    trainable = [v for v in b.tf_vars.values() if v.trainable]
    opt = tf.keras.optimizers.SGD(learning_rate=0.007, momentum=0.9)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = tape.gradient(loss, trainable)
        opt.apply_gradients(zip(grads, trainable))
        return loss

    for _ in range(a.warmup):
        step().numpy()
    build = time.time() - t0
    t1 = time.time()
    for _ in range(a.steps):
        loss = step().numpy()
    seconds = time.time() - t1
    print('python %s dm1.00 OS%d crop %dx%d batch %d: %.3f images/s (%d timed steps, warm-up %.1f s, '
          'loss %.3f -> %.3f, TF %s)' % (a.variant, a.output_stride, c, c, n, a.steps * n / seconds,
                                          a.steps, build, float(first), float(loss), tf.__version__))


if __name__ == '__main__':
    main()
