#!/usr/bin/env python3
"""An independent PyTorch implementation of the official DeepLab v3/v3+ networks, for speed
comparison with the Java library (and a parity check against one of its SavedModels).

Written from the official sources (tensorflow/models research/deeplab: model.py, core/xception.py,
core/resnet_v1_beta.py, core/feature_extractor.py; slim mobilenet_v2) in plain torch.nn.functional
ops, NCHW. Inference only: batch norm uses moving statistics. Covers mobilenet_v2 (DeepLabv3, no
ASPP branches as in the model zoo), xception_41/65/71 and resnet_v1_50/101 (DeepLabv3+: separable
ASPP at rates 6/12/18 for OS16, decoder at stride 4).

Weights: read from one of our SavedModels (--model DIR, needs TensorFlow to read the checkpoint;
same names as the official checkpoints) or He-uniform random (--variant).

  ${PYTHON:-python3} tools/bench/torch_deeplab.py --variant xception_65 --runs 20 --warmup 5
  ${PYTHON:-python3} tools/bench/torch_deeplab.py --model /tmp/x65/1 --check   # parity vs TF

Prints one JSON object (median/best ms, samples, load average, peak RSS).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from timing import time_runs

# ---------------------------------------------------------------------------------------------
# Architecture description (official settings).
# ---------------------------------------------------------------------------------------------

XCEPTION_BLOCKS = {
    # (scope, depths, skip, activation inside separable convs, units, stride)
    'xception_41': [
        ('entry_flow/block1', [128, 128, 128], 'conv', False, 1, 2),
        ('entry_flow/block2', [256, 256, 256], 'conv', False, 1, 2),
        ('entry_flow/block3', [728, 728, 728], 'conv', False, 1, 2),
        ('middle_flow/block1', [728, 728, 728], 'sum', False, 8, 1),
        ('exit_flow/block1', [728, 1024, 1024], 'conv', False, 1, 2),
        ('exit_flow/block2', [1536, 1536, 2048], 'none', True, 1, 1)],
    'xception_65': [
        ('entry_flow/block1', [128, 128, 128], 'conv', False, 1, 2),
        ('entry_flow/block2', [256, 256, 256], 'conv', False, 1, 2),
        ('entry_flow/block3', [728, 728, 728], 'conv', False, 1, 2),
        ('middle_flow/block1', [728, 728, 728], 'sum', False, 16, 1),
        ('exit_flow/block1', [728, 1024, 1024], 'conv', False, 1, 2),
        ('exit_flow/block2', [1536, 1536, 2048], 'none', True, 1, 1)],
    'xception_71': [
        ('entry_flow/block1', [128, 128, 128], 'conv', False, 1, 2),
        ('entry_flow/block2', [256, 256, 256], 'conv', False, 1, 1),
        ('entry_flow/block3', [256, 256, 256], 'conv', False, 1, 2),
        ('entry_flow/block4', [728, 728, 728], 'conv', False, 1, 1),
        ('entry_flow/block5', [728, 728, 728], 'conv', False, 1, 2),
        ('middle_flow/block1', [728, 728, 728], 'sum', False, 16, 1),
        ('exit_flow/block1', [728, 1024, 1024], 'conv', False, 1, 2),
        ('exit_flow/block2', [1536, 1536, 2048], 'none', True, 1, 1)],
}
XCEPTION_LOW_LEVEL = {'xception_41': 'entry_flow/block2', 'xception_65': 'entry_flow/block2',
                      'xception_71': 'entry_flow/block3'}
MNV2_SPEC = [('conv', 32, 2, None, None), ('ec', 16, 1, 1, 1)] + [
    ('ec', c, s, 6, 8) for c, s in (
        (24, 2), (24, 1), (32, 2), (32, 1), (32, 1), (64, 2), (64, 1), (64, 1), (64, 1),
        (96, 1), (96, 1), (96, 1), (160, 2), (160, 1), (160, 1), (320, 1))]
MEAN_RGB = (123.15, 115.90, 103.06)


def scale_dimension(dim, scale):
    return int((float(dim) - 1.0) * scale + 1.0)


def make_divisible(v, divisor, min_value=None):
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def same_pads(size, k_eff, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def default_config(variant, output_stride=16, crop=513, num_classes=21):
    mobile = variant == 'mobilenet_v2'
    rates = {8: [12, 24, 36], 16: [6, 12, 18], 32: [3, 6, 9]}[output_stride]
    return {'variant': variant, 'output_stride': output_stride,
            'atrous_rates': [] if mobile else rates, 'multi_grid': [1, 1, 1],
            'decoder_output_stride': 0 if mobile else 4, 'num_classes': num_classes,
            'crop_height': crop, 'crop_width': crop, 'depth_multiplier': 1.0,
            'aspp_with_separable_conv': True, 'decoder_use_separable_conv': True,
            'image_pooling': True}


# ---------------------------------------------------------------------------------------------
# The network: builds the list of variables it needs (name -> TF shape) and runs with a dict of
# torch tensors in PyTorch layout.
# ---------------------------------------------------------------------------------------------

class Net(torch.nn.Module):
    """DeepLab as plain functional ops over a flat dict of weights (official names)."""

    def __init__(self, cfg, weights=None, channels_last=False):
        super().__init__()
        self.cfg = cfg
        self.shapes = {}      # official name -> TF shape, filled by a dry run
        self.params = {}
        self.channels_last = channels_last
        self._dry = True
        with torch.no_grad():
            self.forward_logits(torch.zeros(1, 3, cfg['crop_height'], cfg['crop_width']))
        self._dry = False
        if weights is None:
            weights = he_uniform(self.shapes, seed=1)
        for name, shape in self.shapes.items():
            if name not in weights:
                raise KeyError('missing weight %s' % name)
            v = np.asarray(weights[name], np.float32)
            if tuple(v.shape) != tuple(shape):
                raise ValueError('%s: shape %s, expected %s' % (name, v.shape, shape))
            kind = name.rsplit('/', 1)[-1]
            if kind == 'weights':
                t = torch.from_numpy(np.ascontiguousarray(v.transpose(3, 2, 0, 1)))
            elif kind == 'depthwise_weights':
                t = torch.from_numpy(np.ascontiguousarray(v.transpose(2, 3, 0, 1)))
            else:
                t = torch.from_numpy(v.copy())
            if channels_last and t.dim() == 4:
                t = t.contiguous(memory_format=torch.channels_last)
            self.params[name] = t
            self.register_buffer(name.replace('/', '__'), t)

    # -- variables -------------------------------------------------------------------------
    def var(self, name, shape):
        if self._dry:
            if name in self.shapes:
                raise ValueError('variable created twice: ' + name)
            self.shapes[name] = tuple(shape)
            kind = name.rsplit('/', 1)[-1]
            if kind == 'weights':
                return torch.zeros(shape[3], shape[2], shape[0], shape[1])
            if kind == 'depthwise_weights':
                return torch.zeros(shape[2], 1, shape[0], shape[1])
            return torch.ones(shape)
        return self.params[name]

    # -- layers ------------------------------------------------------------------------------
    @staticmethod
    def pad(x, ph, pw, value=0.0):
        if ph == (0, 0) and pw == (0, 0):
            return x
        return F.pad(x, (pw[0], pw[1], ph[0], ph[1]), value=value)

    def pads(self, x, k, stride, rate, padding):
        k_eff = k + (k - 1) * (rate - 1)
        if padding == 'SAME':
            return same_pads(x.shape[2], k_eff, stride), same_pads(x.shape[3], k_eff, stride)
        total = k_eff - 1                       # official fixed_padding / conv2d_same
        p = (total // 2, total - total // 2)
        return p, p

    def bn(self, x, scope, eps):
        c = x.shape[1]
        gamma = self.var(scope + '/BatchNorm/gamma', [c])
        beta = self.var(scope + '/BatchNorm/beta', [c])
        mean = self.var(scope + '/BatchNorm/moving_mean', [c])
        var = self.var(scope + '/BatchNorm/moving_variance', [c])
        return F.batch_norm(x, mean, var, gamma, beta, False, 0.0, eps)

    @staticmethod
    def act(x, a):
        if a == 'relu':
            return F.relu(x)
        if a == 'relu6':
            return F.relu6(x)
        return x

    def conv(self, x, scope, filters, k, stride=1, rate=1, padding='SAME', eps=None, act=None,
             bias=False):
        cin = x.shape[1]
        w = self.var(scope + '/weights', [k, k, cin, filters])
        ph, pw = self.pads(x, k, stride, rate, padding)
        if ph[0] == ph[1] and pw[0] == pw[1]:
            y = F.conv2d(x, w, None, stride, (ph[0], pw[0]), rate)
        else:
            y = F.conv2d(self.pad(x, ph, pw), w, None, stride, 0, rate)
        if eps is not None:
            y = self.bn(y, scope, eps)
        elif bias:
            y = y + self.var(scope + '/biases', [filters]).view(1, -1, 1, 1)
        return self.act(y, act)

    def depthwise(self, x, scope, k, stride=1, rate=1, padding='SAME', eps=None, act=None):
        c = x.shape[1]
        w = self.var(scope + '/depthwise_weights', [k, k, c, 1])
        ph, pw = self.pads(x, k, stride, rate, padding)
        if ph[0] == ph[1] and pw[0] == pw[1]:
            y = F.conv2d(x, w, None, stride, (ph[0], pw[0]), rate, groups=c)
        else:
            y = F.conv2d(self.pad(x, ph, pw), w, None, stride, 0, rate, groups=c)
        if eps is not None:
            y = self.bn(y, scope, eps)
        return self.act(y, act)

    @staticmethod
    def resize(x, h, w):
        if x.shape[2] == 1 and x.shape[3] == 1:
            return x.expand(-1, -1, h, w)
        return F.interpolate(x, size=(h, w), mode='bilinear', align_corners=True)

    # -- backbones -----------------------------------------------------------------------------
    def xception(self, x, variant, os_, multi_grid, ends):
        eps, sc, target = 1e-3, variant, os_ // 2
        x = self.conv(x, sc + '/entry_flow/conv1_1', 32, 3, 2, padding='EXPLICIT', eps=eps,
                      act='relu')
        x = self.conv(x, sc + '/entry_flow/conv1_2', 64, 3, eps=eps, act='relu')
        cur, rate = 1, 1
        for scope, depths, skip, act_in, units, stride in XCEPTION_BLOCKS[variant]:
            unit_rates = multi_grid if scope == 'exit_flow/block2' else [1, 1, 1]
            for u in range(units):
                if cur == target:
                    s, r = 1, rate
                    rate *= stride
                else:
                    s, r = stride, 1
                    cur *= stride
                prefix = '%s/%s/unit_%d/xception_module' % (sc, scope, u + 1)
                inputs, residual = x, x
                for i in range(3):
                    name = '%s/separable_conv%d' % (prefix, i + 1)
                    si = s if i == 2 else 1
                    feat, a = (residual, 'relu') if act_in else (F.relu(residual), None)
                    residual = self.depthwise(feat, name + '_depthwise', 3, si, r * unit_rates[i],
                                              'SAME' if si == 1 else 'EXPLICIT', eps, a)
                    residual = self.conv(residual, name + '_pointwise', depths[i], 1, eps=eps,
                                         act=a)
                    if i == 1 and scope == XCEPTION_LOW_LEVEL[variant]:
                        ends['low'] = residual
                if skip == 'conv':
                    x = residual + self.conv(inputs, prefix + '/shortcut', depths[-1], 1, s,
                                             eps=eps)
                elif skip == 'sum':
                    x = residual + inputs
                else:
                    x = residual
        return x

    def resnet(self, x, variant, os_, multi_grid, ends):
        eps = 1e-5
        sc = variant[:-5] if variant.endswith('_beta') else variant
        if variant.endswith('_beta'):
            x = self.conv(x, sc + '/conv1_1', 64, 3, 2, padding='EXPLICIT', eps=eps, act='relu')
            x = self.conv(x, sc + '/conv1_2', 64, 3, eps=eps, act='relu')
            x = self.conv(x, sc + '/conv1_3', 128, 3, eps=eps, act='relu')
        else:
            x = self.conv(x, sc + '/conv1', 64, 7, 2, padding='EXPLICIT', eps=eps, act='relu')
        ph, pw = same_pads(x.shape[2], 3, 2), same_pads(x.shape[3], 3, 2)
        x = F.max_pool2d(self.pad(x, ph, pw, -math.inf), 3, 2)
        target = os_ // 4
        n3 = {'resnet_v1_50': 6, 'resnet_v1_101': 23}[sc]
        blocks = []
        for name, base, n in (('block1', 64, 3), ('block2', 128, 4), ('block3', 256, n3)):
            blocks.append((name, [(base * 4, base, 1, 1)] * (n - 1) + [(base * 4, base, 2, 1)]))
        blocks.append(('block4', [(2048, 512, 1, r) for r in multi_grid]))
        cur, rate = 1, 1
        for name, units in blocks:
            for u, (depth, depth_b, stride, unit_rate) in enumerate(units):
                if cur == target:
                    s, r = 1, rate
                    rate *= stride
                else:
                    s, r = stride, 1
                    cur *= stride
                prefix = '%s/%s/unit_%d/bottleneck_v1' % (sc, name, u + 1)
                if depth == x.shape[1]:
                    shortcut = x[:, :, ::s, ::s] if s > 1 else x
                else:
                    shortcut = self.conv(x, prefix + '/shortcut', depth, 1, s, eps=eps)
                y = self.conv(x, prefix + '/conv1', depth_b, 1, eps=eps, act='relu')
                y = self.conv(y, prefix + '/conv2', depth_b, 3, s, r * unit_rate,
                              'SAME' if s == 1 else 'EXPLICIT', eps, 'relu')
                y = self.conv(y, prefix + '/conv3', depth, 1, eps=eps)
                if name == 'block1' and u == 1:
                    ends['low'] = y
                x = F.relu(shortcut + y)
        return x

    def mobilenet_v2(self, x, dm, os_, ends):
        eps = 1e-3
        div, min_depth = (8, 8) if dm == 1.0 else (1, 1)
        cur, rate, n_ec = 1, 1, 0
        for i, (op, n_out, stride, factor, exp_div) in enumerate(MNV2_SPEC):
            n_out = make_divisible(n_out * dm, div, min_depth)
            if cur == os_:
                s, r = 1, rate
                rate *= stride
            else:
                s, r = stride, 1
                cur *= stride
            if op == 'conv':
                x = self.conv(x, 'MobilenetV2/Conv', n_out, 3, s, r, 'SAME', eps, 'relu6')
                continue
            scope = 'MobilenetV2/expanded_conv' + ('_%d' % n_ec if n_ec else '')
            n_ec += 1
            inp, d_in = x, x.shape[1]
            inner = make_divisible(d_in * factor, exp_div)
            h = x
            if inner > d_in:
                h = self.conv(h, scope + '/expand', inner, 1, eps=eps, act='relu6')
            h = self.depthwise(h, scope + '/depthwise', 3, s, r, 'SAME', eps, 'relu6')
            if i == 3:
                ends['low'] = h
            h = self.conv(h, scope + '/project', n_out, 1, eps=eps)
            x = h + inp if (s == 1 and n_out == d_in) else h
        return x

    # -- DeepLab -------------------------------------------------------------------------------
    def split_separable(self, x, scope, filters, rate, eps):
        x = self.depthwise(x, scope + '_depthwise', 3, 1, rate, 'SAME', eps, 'relu')
        return self.conv(x, scope + '_pointwise', filters, 1, eps=eps, act='relu')

    def forward_logits(self, pixels):
        """pixels: float NCHW 0..255 at the crop size -> logits at the output stride."""
        cfg = self.cfg
        v = cfg['variant']
        if v in ('resnet_v1_50', 'resnet_v1_101'):
            x = pixels - torch.tensor(MEAN_RGB).view(1, 3, 1, 1)
        else:
            x = pixels * (2.0 / 255.0) - 1.0
        if self.channels_last and not self._dry:
            x = x.contiguous(memory_format=torch.channels_last)
        ends = {}
        os_ = cfg['output_stride']
        if v.startswith('xception'):
            feats = self.xception(x, v, os_, cfg['multi_grid'], ends)
        elif v.startswith('resnet'):
            feats = self.resnet(x, v, os_, cfg['multi_grid'], ends)
        else:
            feats = self.mobilenet_v2(x, cfg['depth_multiplier'], os_, ends)
        eps, depth = 1e-5, 256
        ch, cw = cfg['crop_height'], cfg['crop_width']
        branches = []
        if cfg['image_pooling']:
            ph, pw = scale_dimension(ch, 1.0 / os_), scale_dimension(cw, 1.0 / os_)
            img = F.avg_pool2d(feats, (ph, pw), 1)
            img = self.conv(img, 'image_pooling', depth, 1, eps=eps, act='relu')
            branches.append(self.resize(img, ph, pw))
        branches.append(self.conv(feats, 'aspp0', depth, 1, eps=eps, act='relu'))
        for i, rate in enumerate(cfg['atrous_rates'], 1):
            if cfg['aspp_with_separable_conv']:
                branches.append(self.split_separable(feats, 'aspp%d' % i, depth, rate, eps))
            else:
                branches.append(self.conv(feats, 'aspp%d' % i, depth, 3, 1, rate, eps=eps,
                                          act='relu'))
        x = torch.cat(branches, 1)
        x = self.conv(x, 'concat_projection', depth, 1, eps=eps, act='relu')
        dec = cfg['decoder_output_stride']
        if dec:
            proj = self.conv(ends['low'], 'decoder/feature_projection0', 48, 1, eps=eps,
                             act='relu')
            dh, dw = scale_dimension(ch, 1.0 / dec), scale_dimension(cw, 1.0 / dec)
            x = torch.cat([self.resize(x, dh, dw), self.resize(proj, dh, dw)], 1)
            if cfg['decoder_use_separable_conv']:
                x = self.split_separable(x, 'decoder/decoder_conv0', 256, 1, eps)
                x = self.split_separable(x, 'decoder/decoder_conv1', 256, 1, eps)
            else:
                x = self.conv(x, 'decoder/decoder_conv0/decoder_conv0_1', 256, 3, eps=eps,
                              act='relu')
                x = self.conv(x, 'decoder/decoder_conv0/decoder_conv0_2', 256, 3, eps=eps,
                              act='relu')
        return self.conv(x, 'logits/semantic', cfg['num_classes'], 1, bias=True)

    def forward(self, image_u8):
        """uint8 [N,H,W,3] at the crop size -> class ids [N,H,W] (upsample, argmax)."""
        pixels = image_u8.permute(0, 3, 1, 2).float()
        logits = self.forward_logits(pixels)
        up = F.interpolate(logits, size=(image_u8.shape[1], image_u8.shape[2]), mode='bilinear',
                           align_corners=True)
        return up.argmax(1)

    def probabilities(self, image_u8):
        pixels = image_u8.permute(0, 3, 1, 2).float()
        logits = self.forward_logits(pixels)
        up = F.interpolate(logits, size=(image_u8.shape[1], image_u8.shape[2]), mode='bilinear',
                           align_corners=True)
        return torch.softmax(up, 1).permute(0, 2, 3, 1)


def he_uniform(shapes, seed):
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        kind = name.rsplit('/', 1)[-1]
        if kind in ('weights', 'depthwise_weights'):
            fan_in = shape[0] * shape[1] * (shape[2] if kind == 'weights' else 1)
            lim = math.sqrt(6.0 / fan_in)
            out[name] = rng.uniform(-lim, lim, size=shape).astype(np.float32)
        elif kind in ('gamma', 'moving_variance'):
            out[name] = np.ones(shape, np.float32)
        else:
            out[name] = np.zeros(shape, np.float32)
    return out


def read_savedmodel(path):
    """(config dict, {name: ndarray}) from one of our SavedModels (needs TensorFlow)."""
    if not os.path.exists(os.path.join(path, 'saved_model.pb')):
        versions = sorted((d for d in os.listdir(path) if d.isdigit()), key=int)
        if not versions:
            raise SystemExit('no SavedModel in ' + path)
        path = os.path.join(path, versions[-1])
    with open(os.path.join(path, 'assets', 'deeplab_model.json')) as f:
        info = json.load(f)
    import tensorflow as tf  # only for reading the checkpoint
    reader = tf.train.load_checkpoint(os.path.join(path, 'variables', 'variables'))
    weights = {n: reader.get_tensor(n) for n in reader.get_variable_to_shape_map()}
    return info['config'], weights, path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--model', help='one of our SavedModels: architecture and weights')
    ap.add_argument('--variant', help='backbone, random weights (e.g. xception_65)')
    ap.add_argument('--output-stride', type=int, default=16)
    ap.add_argument('--size', type=int, default=513)
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: all cores)')
    ap.add_argument('--channels-last', action='store_true')
    ap.add_argument('--jit', action='store_true',
                    help='torch.jit.trace + freeze (folds batch norm into the convs)')
    ap.add_argument('--check', action='store_true',
                    help='compare probabilities with the SavedModel run by TensorFlow')
    ap.add_argument('--seed', type=int, default=1)
    a = ap.parse_args()
    if bool(a.model) == bool(a.variant):
        ap.error('give --model or --variant')
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)   # TF flushes denormals in its thread pools too

    weights, path = None, None
    if a.model:
        cfg, weights, path = read_savedmodel(a.model)
        cfg = dict(cfg)
    else:
        cfg = default_config(a.variant, a.output_stride, a.size)
    net = Net(cfg, weights, a.channels_last).eval()

    rng = np.random.default_rng(a.seed)
    image = rng.integers(0, 256, size=(a.batch, cfg['crop_height'], cfg['crop_width'], 3),
                         dtype=np.uint8)

    if a.check:
        check(net, image[:1], path)
        return

    fn = net
    with torch.inference_mode():
        if a.jit:
            fn = torch.jit.freeze(torch.jit.trace(net, torch.from_numpy(image)).eval())

        def run():
            return fn(torch.from_numpy(image)).numpy()

        timing = time_runs(run, a.warmup, a.runs)
    print(json.dumps(dict({
        'impl': 'pytorch' + (' jit-frozen' if a.jit else ' eager')
                + (' channels-last' if a.channels_last else ''),
        'torch': torch.__version__, 'threads': torch.get_num_threads(),
        'model': '%s OS%d %dx%d' % (cfg['variant'], cfg['output_stride'], cfg['crop_height'],
                                    cfg['crop_width']),
        'batch': a.batch}, **timing)))


def check(net, image, path):
    """Probabilities of this implementation vs the SavedModel under TensorFlow (same weights),
    run through its predict_probabilities signature (images -> semantic, probabilities)."""
    if path is None:
        raise SystemExit('--check needs --model')
    import tensorflow as tf
    loaded = tf.saved_model.load(path)
    if 'predict_probabilities' not in loaded.signatures:
        raise SystemExit('%s has no predict_probabilities signature (exported before it?): '
                         're-export it with tools/deeplab export --model %s -o DIR'
                         % (path, path))
    out = loaded.signatures['predict_probabilities'](images=tf.constant(image))
    p_tf = out['probabilities'].numpy()
    ids_tf = out['semantic'].numpy()
    with torch.inference_mode():
        p_pt = net.probabilities(torch.from_numpy(image)).numpy()
        ids_pt = net(torch.from_numpy(image)).numpy()
    print(json.dumps({
        'max_abs_diff_probabilities': float(np.abs(p_tf - p_pt).max()),
        'argmax_agreement': float((ids_tf == ids_pt).mean()),
        'shape': list(p_tf.shape)}))


if __name__ == '__main__':
    sys.exit(main())
