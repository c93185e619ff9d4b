"""Independent reference implementation of the official DeepLab networks.

Written from plain TensorFlow ops (tf.nn.conv2d, tf.nn.depthwise_conv2d, tf.pad,
tf.nn.avg_pool2d, ...); no slim, no Keras layers.  Layer structure, variable
names and numerical conventions follow tensorflow/models research/deeplab
(model.py, core/xception.py, core/resnet_v1_beta.py, core/feature_extractor.py,
core/utils.py) and research/slim/nets/mobilenet (mobilenet.py, mobilenet_v2.py,
mobilenet_v3.py, conv_blocks.py).  Inference mode only: batch norm uses moving statistics.

The weights of every variable come from a deterministic formula shared with
the Java tests (see `formula_values`).
"""

import math

import numpy as np
import tensorflow as tf

# ---------------------------------------------------------------------------
# Deterministic weight formula (bit-exact with the Java tests).
# ---------------------------------------------------------------------------

_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def fnv1a64(name):
    h = 0xcbf29ce484222325
    for b in name.encode('utf-8'):
        h ^= b
        h = (h * 0x100000001b3) & _MASK64
    return h


def formula_uniform(name, n):
    """u in [0,1) (float64) for element indices 0..n-1 of variable `name`."""
    h = np.uint64(fnv1a64(name))
    out = np.empty(n, dtype=np.float64)
    chunk = 1 << 22
    with np.errstate(over='ignore'):
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            i1 = np.arange(start + 1, stop + 1, dtype=np.uint64)
            z = h + i1 * _GOLDEN
            z = (z ^ (z >> np.uint64(30))) * _MIX1
            z = (z ^ (z >> np.uint64(27))) * _MIX2
            z = z ^ (z >> np.uint64(31))
            out[start:stop] = (z >> np.uint64(40)).astype(np.float64) / 16777216.0
    return out


def formula_uniform_scalar(name, i):
    """Pure-Python (arbitrary precision) version of one element; for checks."""
    z = (fnv1a64(name) + (i + 1) * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z = z ^ (z >> 31)
    return (z >> 40) / 16777216.0


def formula_values(name, shape):
    """float32 values of variable `name` with TF shape `shape`."""
    shape = tuple(int(d) for d in shape)
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    s = 2.0 * formula_uniform(name, n) - 1.0
    kind = name.rsplit('/', 1)[-1]
    if kind in ('weights', 'pointwise_weights'):
        fan_in = int(np.prod(shape[:-1], dtype=np.int64))
        v = s * math.sqrt(6.0 / fan_in)
    elif kind == 'depthwise_weights':
        v = s * math.sqrt(6.0 / (shape[0] * shape[1]))
    elif kind in ('biases', 'beta', 'moving_mean'):
        v = 0.1 * s
    elif kind in ('gamma', 'moving_variance'):
        v = 1.0 + 0.25 * s
    else:
        raise ValueError('no formula for variable %r' % name)
    return v.astype(np.float32).reshape(shape)


def formula_image(height, width):
    """Input image [1,H,W,3], float32 pixel values 0..255 (name "input")."""
    u = formula_uniform('input', height * width * 3)
    return np.floor(u * 256.0).astype(np.float32).reshape(1, height, width, 3)


class FormulaParams(object):
    """Variable provider: formula values, cached per name."""

    def __init__(self):
        self._cache = {}

    def __call__(self, name, shape):
        v = self._cache.get(name)
        if v is None:
            v = formula_values(name, shape)
            self._cache[name] = v
        assert v.shape == tuple(shape), (name, v.shape, shape)
        return v


class ZeroParams(object):
    """Variable provider for shape-only runs (manifests)."""

    def __call__(self, name, shape):
        return np.zeros(shape, np.float32)


# ---------------------------------------------------------------------------
# Small helpers.
# ---------------------------------------------------------------------------

def scale_dimension(dim, scale):
    """core/utils.py scale_dimension for python ints."""
    return int((float(dim) - 1.0) * scale + 1.0)


def make_divisible(v, divisor, min_value=None):
    """slim mobilenet _make_divisible."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def dilate_kernel(w, rate):
    """[k,k,a,b] kernel -> [k_eff,k_eff,a,b] with rate-1 zeros between taps."""
    k = int(w.shape[0])
    k_eff = k + (k - 1) * (rate - 1)
    idx = [[i * rate, j * rate] for i in range(k) for j in range(k)]
    taps = tf.reshape(w, [k * k] + list(w.shape[2:]))
    return tf.scatter_nd(idx, taps, [k_eff, k_eff] + list(w.shape[2:]))


def tf_same_pads(size, k_eff, stride):
    """(before, after) padding TF 'SAME' uses for one spatial dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k_eff - size, 0)
    return total // 2, total - total // 2


def fixed_pads(k_eff):
    """(before, after) padding of the official fixed_padding / conv2d_same."""
    total = k_eff - 1
    return total // 2, total - total // 2


def bilinear_matrix(n_in, n_out):
    """[n_out, n_in] float64 interpolation matrix, align_corners=True."""
    m = np.zeros((n_out, n_in), np.float64)
    scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    for o in range(n_out):
        src = o * scale
        lo = min(int(math.floor(src)), n_in - 1)
        hi = min(lo + 1, n_in - 1)
        frac = src - lo
        m[o, lo] += 1.0 - frac
        m[o, hi] += frac
    return m


BN_EPS_HEAD = 1e-5
BN_EPS = {'xception': 1e-3, 'resnet': 1e-5, 'mobilenet': 1e-3, 'nas': 1e-3}
MEAN_RGB = (123.15, 115.90, 103.06)
# DeepLab-LargeFOV's data layer: mean_value 104.008, 116.669, 122.675 (B, G, R), here as R, G, B.
LARGEFOV_MEAN_RGB = (122.675, 116.669, 104.008)


def backbone_family(variant):
    for fam in ('xception', 'resnet', 'mobilenet', 'nas', 'vgg'):
        if variant.startswith(fam):
            return fam
    raise ValueError('unknown variant %r' % variant)


def uses_mean_subtraction(variant):
    """feature_extractor._PREPROCESS_FN: the ImageNet mean is subtracted."""
    return variant in ('resnet_v1_18', 'resnet_v1_50', 'resnet_v1_101')


def mean_pixel(variant):
    """feature_extractor.mean_pixel: the ImageNet mean for resnet_v1_50/101 only (resnet_v1_18,
    which subtracts it too, gets 127.5 there). vgg_16 pads with the mean its Caffe data layer
    subtracts."""
    if variant == 'vgg_16':
        return list(LARGEFOV_MEAN_RGB)
    return list(MEAN_RGB) if variant in ('resnet_v1_50', 'resnet_v1_101') else [127.5] * 3


# ---------------------------------------------------------------------------
# Builder: holds the variable provider and implements the primitive layers.
# ---------------------------------------------------------------------------

class Builder(object):
    """Builds the network with plain TF ops.

    params:  callable(name, shape) -> float32 ndarray.
    dtype:   tf.float32 or tf.float64 compute precision.
    resize:  'matrix' (own align_corners bilinear as two matrix products,
             float64-capable) or 'tf' (tf.compat.v1.image.resize_bilinear).
    """

    def __init__(self, params, dtype=tf.float64, resize='matrix'):
        self.params = params
        self.dtype = dtype
        self.resize_impl = resize
        self.variables = {}          # name -> shape, in creation order
        self.endpoints = {}
        # For self-checks only: e.g. {'EXPLICIT': 'SAME'} swaps padding modes.
        self.padding_override = {}
        # Atrous convs as ordinary convs with zeros inserted between the kernel taps (the same
        # sums); TF's CPU kernels have no gradient for dilated convs, training needs this.
        self.dilate_kernels = False

    # -- variables ---------------------------------------------------------
    def var(self, name, shape):
        shape = tuple(int(d) for d in shape)
        if name in self.variables:
            raise ValueError('variable created twice: %s' % name)
        self.variables[name] = shape
        value = self.params(name, shape)
        np_dtype = np.float64 if self.dtype == tf.float64 else np.float32
        if tf.executing_eagerly():
            return tf.constant(value.astype(np_dtype), dtype=self.dtype)
        # Graph mode (frozen graph): like freeze_graph output, a Const named
        # after the variable followed by its '<name>/read' Identity.
        c = tf.constant(value.astype(np_dtype), dtype=self.dtype, name=name)
        if c.op.name != name:
            raise ValueError('graph name clash for %s (%s)' % (name, c.op.name))
        return tf.identity(c, name=name + '/read')

    # -- primitives --------------------------------------------------------
    @staticmethod
    def _hw(x):
        return int(x.shape[1]), int(x.shape[2])

    def _pad_for(self, x, k, stride, rate, padding):
        rh, rw = rate if isinstance(rate, (list, tuple)) else (rate, rate)
        k0, k1 = k if isinstance(k, (list, tuple)) else (k, k)
        kh, kw = k0 + (k0 - 1) * (rh - 1), k1 + (k1 - 1) * (rw - 1)
        h, w = self._hw(x)
        padding = self.padding_override.get(padding, padding)
        if padding == 'SAME':          # TF semantics (depends on input size)
            ph, pw = tf_same_pads(h, kh, stride), tf_same_pads(w, kw, stride)
        elif padding == 'EXPLICIT':    # official fixed_padding / conv2d_same
            ph, pw = fixed_pads(kh), fixed_pads(kw)
        elif padding == 'VALID':
            ph = pw = (0, 0)
        else:
            raise ValueError(padding)
        return ph, pw

    def pad(self, x, ph, pw, value=0.0):
        if ph == (0, 0) and pw == (0, 0):
            return x
        return tf.pad(x, [[0, 0], list(ph), list(pw), [0, 0]],
                      constant_values=value)

    def batch_norm(self, x, scope, eps):
        c = int(x.shape[-1])
        gamma = self.var(scope + '/BatchNorm/gamma', [c])
        beta = self.var(scope + '/BatchNorm/beta', [c])
        mean = self.var(scope + '/BatchNorm/moving_mean', [c])
        var = self.var(scope + '/BatchNorm/moving_variance', [c])
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, eps)

    def batch_norm_at(self, x, scope, eps):
        """slim.batch_norm(net, scope=scope) called on its own: the variables directly in
        `scope` (the NAS networks' conv0_bn, bn_sep_3x3_1, ...)."""
        c = int(x.shape[-1])
        gamma = self.var(scope + '/gamma', [c])
        beta = self.var(scope + '/beta', [c])
        mean = self.var(scope + '/moving_mean', [c])
        var = self.var(scope + '/moving_variance', [c])
        return tf.nn.batch_normalization(x, mean, var, beta, gamma, eps)

    def activate(self, x, act):
        if act is None:
            return x
        if act == 'relu':
            return tf.nn.relu(x)
        if act == 'relu6':
            return tf.nn.relu6(x)
        if act == 'hard_swish':      # mobilenet_v3.hard_swish
            return x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)
        if act == 'hard_sigmoid':    # mobilenet_v3 SE gating, utils.q_sigmoid
            return tf.nn.relu6(x + 3.0) * 0.16667
        if act == 'sigmoid':
            return tf.nn.sigmoid(x)
        if act == 'clip6':           # xception.py _CLIP_CAP with use_bounded_activation
            return tf.clip_by_value(x, -6.0, 6.0)
        raise ValueError(act)

    def conv(self, x, scope, filters, k, stride=1, rate=1, padding='SAME',
             bn_eps=None, act=None, biases=False):
        """slim.conv2d: conv -> (BN | bias) -> activation."""
        cin = int(x.shape[-1])
        w = self.var(scope + '/weights', [k, k, cin, filters])
        ph, pw = self._pad_for(x, k, stride, rate, padding)
        x = self.pad(x, ph, pw)
        if stride > 1 and rate > 1:
            raise ValueError('stride and rate both > 1')
        if self.dilate_kernels and rate > 1:
            y = tf.nn.conv2d(x, dilate_kernel(w, rate), strides=[1, stride, stride, 1],
                             padding='VALID')
        else:
            y = tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding='VALID',
                             dilations=[1, rate, rate, 1])
        if bn_eps is not None:
            y = self.batch_norm(y, scope, bn_eps)
        elif biases:
            y = y + self.var(scope + '/biases', [filters])
        return self.activate(y, act)

    def depthwise(self, x, scope, k, stride=1, rate=1, padding='SAME',
                  bn_eps=None, act=None):
        """slim.separable_conv2d(num_outputs=None): depthwise -> BN -> act.  `k` is a size or
        slim's kernel_size=[kh, kw] (the dense prediction cell's JSON may give either)."""
        cin = int(x.shape[-1])
        kh, kw = k if isinstance(k, (list, tuple)) else (k, k)
        w = self.var(scope + '/depthwise_weights', [kh, kw, cin, 1])
        ph, pw = self._pad_for(x, k, stride, rate, padding)
        x = self.pad(x, ph, pw)
        # A pair of rates is the dense prediction cell's asymmetric [rate_h, rate_w].
        rh, rw = rate if isinstance(rate, (list, tuple)) else (rate, rate)
        if stride > 1 and max(rh, rw) > 1:
            raise ValueError('stride and rate both > 1')
        if self.dilate_kernels and max(rh, rw) > 1:
            if rh != rw or kh != kw:
                raise ValueError('asymmetric rates or kernels have no dilated-kernel form here')
            y = tf.nn.depthwise_conv2d(x, dilate_kernel(w, rh), strides=[1, stride, stride, 1],
                                       padding='VALID')
        else:
            y = tf.nn.depthwise_conv2d(x, w, strides=[1, stride, stride, 1],
                                       padding='VALID', dilations=[rh, rw])
        if bn_eps is not None:
            y = self.batch_norm(y, scope, bn_eps)
        return self.activate(y, act)

    def max_pool_same(self, x, k, stride):
        h, w = self._hw(x)
        x = self.pad(x, tf_same_pads(h, k, stride), tf_same_pads(w, k, stride),
                     value=-np.inf)
        return tf.nn.max_pool2d(x, ksize=k, strides=stride, padding='VALID')

    def resize_bilinear(self, x, size):
        """Bilinear resize with align_corners=True to size=[h, w]."""
        h_in, w_in = self._hw(x)
        h_out, w_out = int(size[0]), int(size[1])
        if self.resize_impl == 'tf':
            y = tf.compat.v1.image.resize_bilinear(x, [h_out, w_out],
                                                   align_corners=True)
            return tf.cast(y, self.dtype)
        np_dtype = np.float64 if self.dtype == tf.float64 else np.float32
        ry = tf.constant(bilinear_matrix(h_in, h_out).astype(np_dtype))
        rx = tf.constant(bilinear_matrix(w_in, w_out).astype(np_dtype))
        return tf.einsum('oh,bhwc,pw->bopc', ry, x, rx)


# ---------------------------------------------------------------------------
# Backbones.
# ---------------------------------------------------------------------------

# (scope, depth_list, skip, activation_fn_in_separable_conv, num_units, stride)
_XCEPTION_BLOCKS = {
    'xception_41': [
        ('entry_flow/block1', [128, 128, 128], 'conv', False, 1, 2),
        ('entry_flow/block2', [256, 256, 256], 'conv', False, 1, 2),
        ('entry_flow/block3', [728, 728, 728], 'conv', False, 1, 2),
        ('middle_flow/block1', [728, 728, 728], 'sum', False, 8, 1),
        ('exit_flow/block1', [728, 1024, 1024], 'conv', False, 1, 2),
        ('exit_flow/block2', [1536, 1536, 2048], 'none', True, 1, 1),
    ],
    'xception_65': [
        ('entry_flow/block1', [128, 128, 128], 'conv', False, 1, 2),
        ('entry_flow/block2', [256, 256, 256], 'conv', False, 1, 2),
        ('entry_flow/block3', [728, 728, 728], 'conv', False, 1, 2),
        ('middle_flow/block1', [728, 728, 728], 'sum', False, 16, 1),
        ('exit_flow/block1', [728, 1024, 1024], 'conv', False, 1, 2),
        ('exit_flow/block2', [1536, 1536, 2048], 'none', True, 1, 1),
    ],
    'xception_71': [
        ('entry_flow/block1', [128, 128, 128], 'conv', False, 1, 2),
        ('entry_flow/block2', [256, 256, 256], 'conv', False, 1, 1),
        ('entry_flow/block3', [256, 256, 256], 'conv', False, 1, 2),
        ('entry_flow/block4', [728, 728, 728], 'conv', False, 1, 1),
        ('entry_flow/block5', [728, 728, 728], 'conv', False, 1, 2),
        ('middle_flow/block1', [728, 728, 728], 'sum', False, 16, 1),
        ('exit_flow/block1', [728, 1024, 1024], 'conv', False, 1, 2),
        ('exit_flow/block2', [1536, 1536, 2048], 'none', True, 1, 1),
    ],
}

# feature_extractor.networks_to_feature_maps (decoder end points, key = OS).
_DECODER_END_POINTS = {
    'xception_41': {4: 'entry_flow/block2', 8: 'entry_flow/block3',
                    16: 'exit_flow/block1'},
    'xception_65': {4: 'entry_flow/block2', 8: 'entry_flow/block3',
                    16: 'exit_flow/block1'},
    'xception_71': {4: 'entry_flow/block3', 8: 'entry_flow/block5',
                    16: 'exit_flow/block1'},
    'resnet_v1_18': {4: 'block1/unit_1', 8: 'block2/unit_1', 16: 'block3/unit_1'},
    'resnet_v1_50': {4: 'block1/unit_2', 8: 'block2/unit_3', 16: 'block3/unit_5'},
    'resnet_v1_101': {4: 'block1/unit_2', 8: 'block2/unit_3',
                      16: 'block3/unit_22'},
}


def decoder_end_point(variant, os_):
    if variant.startswith('xception'):
        return '%s/%s/unit_1/xception_module/separable_conv2_pointwise' % (
            variant, _DECODER_END_POINTS[variant][os_])
    if variant.startswith('resnet'):
        scope = resnet_scope(variant)
        if scope == 'resnet_v1_18':
            return '%s/%s/lite_bottleneck_v1/conv2' % (scope, _DECODER_END_POINTS[scope][os_])
        return '%s/%s/bottleneck_v1/conv3' % (scope, _DECODER_END_POINTS[scope][os_])
    if variant.startswith('mobilenet'):
        return '%s/depthwise_output' % _MOBILENET_END_POINTS[variant][os_]
    if variant.startswith('nas'):
        return '%s/%s' % (_NAS_SCOPE[variant], _NAS_END_POINTS[variant][os_])
    raise ValueError(variant)


def xception(b, x, variant, output_stride, multi_grid, bounded=False):
    """xception.py; `bounded` is use_bounded_activation (xception_arg_scope): ReLU6 for the
    arg scope's activation, and xception_module with bounded activations and without explicit
    padding."""
    eps = BN_EPS['xception']
    act = 'relu6' if bounded else 'relu'
    sc = variant
    if output_stride % 2:
        raise ValueError('output_stride must be even')
    target = output_stride // 2
    # resnet_utils.conv2d_same pads explicitly whatever the arg scope says.
    x = b.conv(x, sc + '/entry_flow/conv1_1', 32, 3, stride=2,
               padding='EXPLICIT', bn_eps=eps, act=act)
    x = b.conv(x, sc + '/entry_flow/conv1_2', 64, 3, stride=1,
               bn_eps=eps, act=act)
    current_stride, rate = 1, 1
    for scope, depths, skip, act_in_sep, units, stride in _XCEPTION_BLOCKS[variant]:
        unit_rates = list(multi_grid or [1, 1, 1]) if scope == 'exit_flow/block2' \
            else [1, 1, 1]
        for u in range(units):
            if current_stride > target:
                raise ValueError('output_stride cannot be reached')
            if current_stride == target:
                s, r = 1, rate
                rate *= stride
            else:
                s, r = stride, 1
                current_stride *= stride
            prefix = '%s/%s/unit_%d/xception_module' % (sc, scope, u + 1)
            x = xception_module(b, x, prefix, depths, skip, s, r, unit_rates,
                                act_in_sep, eps, bounded)
    if current_stride != target:
        raise ValueError('output_stride cannot be reached')
    return x


def xception_module(b, inputs, prefix, depths, skip, stride, rate, unit_rates,
                    act_in_sep, eps, bounded=False):
    """xception.xception_module.  With use_bounded_activation: ReLU6 before (or inside) the
    separable convs, the BN outputs of the others clipped to [-6, 6], residual and shortcut
    clipped before their sum and ReLU6 after it; use_explicit_padding is then False, so the
    strided separable convs pad as TF SAME."""
    residual = inputs
    for i in range(3):
        name = '%s/separable_conv%d' % (prefix, i + 1)
        s = stride if i == 2 else 1
        r = rate * unit_rates[i]
        if act_in_sep:
            feat, act = residual, ('relu6' if bounded else 'relu')
        elif bounded:
            feat, act = b.activate(residual, 'relu6'), 'clip6'
        else:
            feat, act = b.activate(residual, 'relu'), None
        # separable_conv2d_same: SAME when stride == 1 (or without explicit padding), else
        # fixed_padding + VALID.
        padding = 'SAME' if s == 1 or bounded else 'EXPLICIT'
        residual = b.depthwise(feat, name + '_depthwise', 3, stride=s, rate=r,
                               padding=padding, bn_eps=eps, act=act)
        residual = b.conv(residual, name + '_pointwise', depths[i], 1,
                          bn_eps=eps, act=act)
        b.endpoints[name + '_pointwise'] = residual
    if skip == 'conv':
        shortcut = b.conv(inputs, prefix + '/shortcut', depths[-1], 1,
                          stride=stride, bn_eps=eps, act=None)
        if bounded:
            return b.activate(b.activate(residual, 'clip6') + b.activate(shortcut, 'clip6'),
                              'relu6')
        return residual + shortcut
    if skip == 'sum':
        if bounded:
            return b.activate(b.activate(residual, 'clip6') + b.activate(inputs, 'clip6'),
                              'relu6')
        return residual + inputs
    return residual


def resnet_scope(variant):
    return variant[:-len('_beta')] if variant.endswith('_beta') else variant


def resnet(b, x, variant, output_stride, multi_grid):
    eps = BN_EPS['resnet']
    sc = resnet_scope(variant)
    lite = sc == 'resnet_v1_18'
    if variant.endswith('_beta'):
        # root_block_fn_for_beta_variant; resnet_v1_18_beta has root_depth_multiplier 0.25.
        dm = 0.25 if lite else 1.0
        x = b.conv(x, sc + '/conv1_1', int(64 * dm), 3, stride=2, padding='EXPLICIT',
                   bn_eps=eps, act='relu')
        x = b.conv(x, sc + '/conv1_2', int(64 * dm), 3, bn_eps=eps, act='relu')
        x = b.conv(x, sc + '/conv1_3', int(128 * dm), 3, bn_eps=eps, act='relu')
    else:
        x = b.conv(x, sc + '/conv1', 64, 7, stride=2, padding='EXPLICIT',
                   bn_eps=eps, act='relu')
    x = b.max_pool_same(x, 3, 2)            # pool1: slim max_pool2d SAME
    if output_stride % 4:
        raise ValueError('output_stride must be a multiple of 4')
    target = output_stride // 4
    blocks = []
    if lite:
        # resnet_v1_small_beta_block: two lite units per block; block4 one per multi-grid rate.
        mg = list(multi_grid or [1, 1])
        for name, base in (('block1', 64), ('block2', 128), ('block3', 256)):
            blocks.append((name, [(base, None, 1, 1), (base, None, 2, 1)]))
        blocks.append(('block4', [(512, None, 1, r) for r in mg]))
    else:
        n3 = {'resnet_v1_50': 6, 'resnet_v1_101': 23}[sc]
        mg = list(multi_grid or [1, 1, 1])
        for name, base, n in (('block1', 64, 3), ('block2', 128, 4), ('block3', 256, n3)):
            blocks.append((name, [(base * 4, base, 1, 1)] * (n - 1) + [(base * 4, base, 2, 1)]))
        blocks.append(('block4', [(2048, 512, 1, r) for r in mg]))
    current_stride, rate = 1, 1
    for name, units in blocks:
        for u, (depth, depth_b, stride, unit_rate) in enumerate(units):
            if current_stride > target:
                raise ValueError('output_stride cannot be reached')
            if current_stride == target:
                s, r = 1, rate
                rate *= stride
            else:
                s, r = stride, 1
                current_stride *= stride
            if lite:
                prefix = '%s/%s/unit_%d/lite_bottleneck_v1' % (sc, name, u + 1)
                x = lite_bottleneck(b, x, prefix, depth, s, r * unit_rate, eps)
            else:
                prefix = '%s/%s/unit_%d/bottleneck_v1' % (sc, name, u + 1)
                x = bottleneck(b, x, prefix, depth, depth_b, s, r * unit_rate, eps)
    if current_stride != target:
        raise ValueError('output_stride cannot be reached')
    return x


def bottleneck(b, x, prefix, depth, depth_b, stride, rate, eps):
    depth_in = int(x.shape[-1])
    if depth == depth_in:
        # resnet_utils.subsample: 1x1 max-pool with stride == plain subsampling
        shortcut = x[:, ::stride, ::stride, :] if stride > 1 else x
    else:
        shortcut = b.conv(x, prefix + '/shortcut', depth, 1, stride=stride,
                          bn_eps=eps, act=None)
    r = b.conv(x, prefix + '/conv1', depth_b, 1, bn_eps=eps, act='relu')
    r = b.conv(r, prefix + '/conv2', depth_b, 3, stride=stride, rate=rate,
               padding='SAME' if stride == 1 else 'EXPLICIT', bn_eps=eps,
               act='relu')
    r = b.conv(r, prefix + '/conv3', depth, 1, bn_eps=eps, act=None)
    b.endpoints[prefix + '/conv3'] = r      # conv3 BN output: pre-add, pre-ReLU
    return b.activate(shortcut + r, 'relu')


def lite_bottleneck(b, x, prefix, depth, stride, rate, eps):
    """resnet_v1_beta.lite_bottleneck: conv1 3x3 (stride 1, the rate; BN, ReLU), conv2 3x3
    (stride, the rate; BN, no activation), relu(shortcut + conv2)."""
    depth_in = int(x.shape[-1])
    if depth == depth_in:
        shortcut = x[:, ::stride, ::stride, :] if stride > 1 else x
    else:
        shortcut = b.conv(x, prefix + '/shortcut', depth, 1, stride=stride,
                          bn_eps=eps, act=None)
    r = b.conv(x, prefix + '/conv1', depth, 3, rate=rate, padding='SAME', bn_eps=eps,
               act='relu')
    r = b.conv(r, prefix + '/conv2', depth, 3, stride=stride, rate=rate,
               padding='SAME' if stride == 1 else 'EXPLICIT', bn_eps=eps, act=None)
    b.endpoints[prefix + '/conv2'] = r      # conv2 BN output: pre-add
    return b.activate(shortcut + r, 'relu')


# V2_DEF spec up to layer_18: (op, num_outputs, stride, expansion, exp_divisible_by)
_MNV2_SPEC = [('conv', 32, 2, None, None), ('ec', 16, 1, 1, 1)] + [
    ('ec', c, s, 6, 8) for c, s in (
        (24, 2), (24, 1), (32, 2), (32, 1), (32, 1), (64, 2), (64, 1), (64, 1),
        (64, 1), (96, 1), (96, 1), (96, 1), (160, 2), (160, 1), (160, 1),
        (320, 1))]


def mobilenet_v2(b, x, depth_multiplier, output_stride):
    eps = BN_EPS['mobilenet']
    dm = depth_multiplier
    divisible_by = 8 if dm == 1.0 else 1
    min_depth = 8 if dm == 1.0 else 1
    current_stride, rate = 1, 1
    n_ec = 0
    for i, (op, n_out, stride, factor, exp_div) in enumerate(_MNV2_SPEC):
        n_out = make_divisible(n_out * dm, divisible_by, min_depth)
        if output_stride is not None and current_stride == output_stride:
            s, r = 1, rate
            rate *= stride
        else:
            s, r = stride, 1
            current_stride *= stride
        layer = 'layer_%d' % (i + 1)
        if op == 'conv':
            # V2_DEF padding 'SAME'; DeepLab does not set use_explicit_padding
            x = b.conv(x, 'MobilenetV2/Conv', n_out, 3, stride=s, rate=r,
                       padding='SAME', bn_eps=eps, act='relu6')
            continue
        scope = 'MobilenetV2/expanded_conv' + ('_%d' % n_ec if n_ec else '')
        n_ec += 1
        inp = x
        d_in = int(x.shape[-1])
        inner = make_divisible(d_in * factor, exp_div)
        h = x
        if inner > d_in:
            h = b.conv(h, scope + '/expand', inner, 1, bn_eps=eps, act='relu6')
        h = b.depthwise(h, scope + '/depthwise', 3, stride=s, rate=r,
                        padding='SAME', bn_eps=eps, act='relu6')
        b.endpoints[layer + '/depthwise_output'] = h
        h = b.conv(h, scope + '/project', n_out, 1, bn_eps=eps, act=None)
        if s == 1 and n_out == d_in:
            h = h + inp
        x = h
    if output_stride is not None and current_stride != output_stride:
        raise ValueError('output_stride cannot be reached')
    return x


# MobileNetV3 (slim mobilenet_v3.py V3_LARGE / V3_SMALL) as feature_extractor's
# mobilenet_v3_{large,small}_seg change them: the last four layers have half the channels, their
# expansion sizes set from the absolute sizes 336/480/480 (large) and 144/288/288 (small), and the
# network ends at layer_17 / layer_13 (the 1x1 'Conv_1'). Entries:
#   ('conv', num_outputs, kernel, stride, activation)
#   ('ec', expansion factor, num_outputs, kernel, stride, activation, squeeze-excite)
#   ('fused', expansion factor, num_outputs, kernel, stride): mbv3_fused, the expansion a
#       kernel x kernel conv at the stride (ReLU), no depthwise conv
# mobilenet_edgetpu is V3_EDGETPU up to layer_24 (its 1x1 'Conv_1'), scope MobilenetEdgeTPU,
# ReLU throughout; its layer 15 has no residual (residual=False).
_RE, _HS = 'relu', 'hard_swish'
_EDGETPU_NO_RESIDUAL = {14}
_MNV3_SPEC = {
    'mobilenet_edgetpu': (
        [('conv', 32, 3, 2, _RE), ('fused', 1, 16, 3, 1), ('fused', 8, 32, 3, 2)]
        + [('fused', 4, 32, 3, 1)] * 3 + [('fused', 8, 48, 3, 2)] + [('fused', 4, 48, 3, 1)] * 3
        + [('ec', 8, 96, 3, 2, _RE, False)] + [('ec', 4, 96, 3, 1, _RE, False)] * 3
        + [('ec', 8, 96, 3, 1, _RE, False)] + [('ec', 4, 96, 3, 1, _RE, False)] * 3
        + [('ec', 8, 160, 5, 2, _RE, False)] + [('ec', 4, 160, 5, 1, _RE, False)] * 3
        + [('ec', 8, 192, 3, 1, _RE, False), ('conv', 1280, 1, 1, _RE)]),
    'mobilenet_v3_large_seg': [
        ('conv', 16, 3, 2, _HS),
        ('ec', 1, 16, 3, 1, _RE, False),
        ('ec', 4, 24, 3, 2, _RE, False),
        ('ec', 3, 24, 3, 1, _RE, False),
        ('ec', 3, 40, 5, 2, _RE, True),
        ('ec', 3, 40, 5, 1, _RE, True),
        ('ec', 3, 40, 5, 1, _RE, True),
        ('ec', 6, 80, 3, 2, _HS, False),
        ('ec', 2.5, 80, 3, 1, _HS, False),
        ('ec', 184 / 80., 80, 3, 1, _HS, False),
        ('ec', 184 / 80., 80, 3, 1, _HS, False),
        ('ec', 6, 112, 3, 1, _HS, True),
        ('ec', 6, 112, 3, 1, _HS, True),
        ('ec', 336 / 112., 160 / 2, 5, 2, _HS, True),
        ('ec', 480 / 80., 160 / 2, 5, 1, _HS, True),
        ('ec', 480 / 80., 160 / 2, 5, 1, _HS, True),
        ('conv', 960 / 2, 1, 1, _HS),
    ],
    'mobilenet_v3_small_seg': [
        ('conv', 16, 3, 2, _HS),
        ('ec', 1, 16, 3, 2, _RE, True),
        ('ec', 72. / 16, 24, 3, 2, _RE, False),
        ('ec', 88. / 24, 24, 3, 1, _RE, False),
        ('ec', 4, 40, 5, 2, _HS, True),
        ('ec', 6, 40, 5, 1, _HS, True),
        ('ec', 6, 40, 5, 1, _HS, True),
        ('ec', 3, 48, 5, 1, _HS, True),
        ('ec', 3, 48, 5, 1, _HS, True),
        ('ec', 144 / 48., 96 / 2, 5, 2, _HS, True),
        ('ec', 288 / 48., 96 / 2, 5, 1, _HS, True),
        ('ec', 288 / 48., 96 / 2, 5, 1, _HS, True),
        ('conv', 576 / 2, 1, 1, _HS),
    ],
}

# feature_extractor.networks_to_feature_maps for the MobileNets (decoder end points by OS).
_MOBILENET_END_POINTS = {
    'mobilenet_v2': {4: 'layer_4', 8: 'layer_7', 16: 'layer_14'},
    'mobilenet_v3_large_seg': {4: 'layer_4', 8: 'layer_7', 16: 'layer_13'},
    'mobilenet_v3_small_seg': {4: 'layer_2', 8: 'layer_4', 16: 'layer_9'},
}


def squeeze_excite(b, x, scope):
    """conv_blocks.squeeze_excite as mobilenet_v3 fills it in: global mean, 1x1 conv to
    make_divisible(c/4, 8) with biases and ReLU, 1x1 conv back to c with biases and the hard
    sigmoid relu6(x+3)*0.16667, times the input."""
    c = int(x.shape[-1])
    pooled = tf.reduce_mean(x, axis=[1, 2], keepdims=True)
    s = b.conv(pooled, scope + '/squeeze_excite/Conv', make_divisible(c / 4, 8), 1,
               biases=True, act='relu')
    e = b.conv(s, scope + '/squeeze_excite/Conv_1', c, 1, biases=True, act='hard_sigmoid')
    return x * e


def mobilenet_v3(b, x, variant, output_stride, depth_multiplier=1.0):
    """mobilenet.mobilenet_base with the V3 seg / EdgeTPU conv defs; TF 'SAME' padding
    everywhere; the depth multiplier through make_divisible(n * dm, 8)."""
    eps = BN_EPS['mobilenet']
    root = 'MobilenetEdgeTPU' if variant == 'mobilenet_edgetpu' else 'MobilenetV3'
    current_stride, rate = 1, 1
    n_conv = n_ec = 0
    for i, entry in enumerate(_MNV3_SPEC[variant]):
        stride = entry[3] if entry[0] == 'conv' else entry[4]
        if entry[0] == 'fused':
            entry = entry + (_RE, False)
        if output_stride is not None and current_stride == output_stride:
            s, r = 1, rate
            rate *= stride
        else:
            s, r = stride, 1
            current_stride *= stride
        layer = 'layer_%d' % (i + 1)
        if entry[0] == 'conv':
            _, n_out, k, _, act = entry
            scope = root + '/Conv' + ('_%d' % n_conv if n_conv else '')
            n_conv += 1
            x = b.conv(x, scope, make_divisible(n_out * depth_multiplier, 8), k, stride=s,
                       rate=r if k > 1 else 1, padding='SAME', bn_eps=eps, act=act)
            continue
        kind, factor, n_out, k, _, act, se = entry
        scope = root + '/expanded_conv' + ('_%d' % n_ec if n_ec else '')
        n_ec += 1
        n_out = make_divisible(n_out * depth_multiplier, 8)
        d_in = int(x.shape[-1])
        inner = make_divisible(d_in * factor, 8)
        h = x
        if kind == 'fused':
            if inner > d_in:
                h = b.conv(h, scope + '/expand', inner, k, stride=stride, padding='SAME',
                           bn_eps=eps, act=act)
        else:
            if inner > d_in:
                h = b.conv(h, scope + '/expand', inner, 1, bn_eps=eps, act=act)
            h = b.depthwise(h, scope + '/depthwise', k, stride=s, rate=r, padding='SAME',
                            bn_eps=eps, act=act)
            b.endpoints[layer + '/depthwise_output'] = h
        if se:
            h = squeeze_excite(b, h, scope)
        h = b.conv(h, scope + '/project', n_out, 1, bn_eps=eps, act=None)
        residual = not (variant == 'mobilenet_edgetpu' and i in _EDGETPU_NO_RESIDUAL)
        if residual and s == 1 and n_out == d_in:
            h = h + x
        x = h
    if output_stride is not None and current_stride != output_stride:
        raise ValueError('output_stride cannot be reached')
    return x


# NAS backbones (core/nas_network.py, core/nas_cell.py, core/nas_genotypes.py).
_NAS_SCOPE = {'nas_pnasnet': 'pnasnet', 'nas_hnasnet': 'hnasnet'}
# feature_extractor.networks_to_feature_maps: end points of _build_nas_base, keyed by OS.
_NAS_END_POINTS = {'nas_pnasnet': {4: 'Stem', 8: 'Cell_3', 16: 'Cell_7'},
                   'nas_hnasnet': {4: 'Cell_2', 8: 'Cell_5', 16: 'Cell_7'}}
# (operations, hiddenstate_indices); used_hiddenstates is [1, 1, 0, 0, 0, 0, 0] for both.
_NAS_CELLS = {
    'nas_pnasnet': (['separable_5x5_2', 'max_pool_3x3', 'separable_7x7_2', 'max_pool_3x3',
                     'separable_5x5_2', 'separable_3x3_2', 'separable_3x3_2', 'max_pool_3x3',
                     'separable_3x3_2', 'none'],
                    [1, 1, 0, 0, 0, 0, 4, 0, 1, 0]),
    'nas_hnasnet': (['atrous_5x5', 'separable_3x3_2', 'separable_3x3_2', 'atrous_3x3',
                     'separable_3x3_2', 'separable_3x3_2', 'separable_5x5_2',
                     'separable_5x5_2', 'separable_5x5_2', 'atrous_5x5'],
                    [1, 0, 1, 0, 3, 1, 4, 2, 3, 5]),
}
_NAS_USED_HIDDENSTATES = [1, 1, 0, 0, 0, 0, 0]


def nas_backbone_path(variant, output_stride):
    """nas_network.pnasnet / hnasnet `backbone`: the level (0..3 = OS 4..32) of each cell."""
    if variant == 'nas_hnasnet':
        return [0, 0, 0, 1, 2, 1, 2, 2, 3, 3, 2, 1]
    paths = {8: [1] * 12, 16: [1] * 4 + [2] * 8, 32: [1] * 4 + [2] * 4 + [3] * 4}
    if output_stride not in paths:
        raise ValueError('Unsupported output_stride %r' % output_stride)
    return paths[output_stride]


def nas_network(b, x, variant, output_stride, stem_filters, classification_head,
                remove_os32_stride):
    """nas_network._build_nas_base in inference (drop_path_keep_prob set to 1.0, so drop path
    is the identity): the stem, twelve cells along the path, ReLU, and optionally the
    classification head. Returns the features; end points in b.endpoints under '<scope>/<name>'."""
    eps = BN_EPS['nas']
    sc = _NAS_SCOPE[variant]
    # _nas_stem: resnet_utils.conv2d_same (fixed padding when strided), each conv followed by its
    # own slim.batch_norm scope.
    net = b.conv(x, sc + '/conv0', 64, 3, stride=2, padding='EXPLICIT')
    net = b.batch_norm_at(net, sc + '/conv0_bn', eps)
    net = tf.nn.relu(net)
    net = b.conv(net, sc + '/conv1', 64, 3, stride=1, padding='SAME')
    net = b.batch_norm_at(net, sc + '/conv1_bn', eps)
    cell_outputs = [net]
    net = tf.nn.relu(net)
    net = b.conv(net, sc + '/conv2', 128, 3, stride=2, padding='EXPLICIT')
    net = b.batch_norm_at(net, sc + '/conv2_bn', eps)
    cell_outputs.append(net)
    b.endpoints[sc + '/Stem'] = net
    backbone = nas_backbone_path(variant, output_stride)
    operations, indices = _NAS_CELLS[variant]
    filter_scaling = 1.0
    for cell_num in range(len(backbone)):
        stride = 1
        if cell_num == 0:
            if backbone[0] == 1:
                stride = 2
                filter_scaling *= 2.0
        elif backbone[cell_num] == backbone[cell_num - 1] + 1:
            stride = 2
            if backbone[cell_num] == 3 and remove_os32_stride:
                stride = 1
            filter_scaling *= 2.0
        elif backbone[cell_num] == backbone[cell_num - 1] - 1:
            if not (backbone[cell_num - 1] == 3 and remove_os32_stride):
                h, w = b._hw(net)
                net = b.resize_bilinear(net, [scale_dimension(h, 2), scale_dimension(w, 2)])
            filter_scaling /= 2.0
        net = nas_cell(b, net, '%s/cell_%d' % (sc, cell_num), int(stem_filters * filter_scaling),
                       stride, cell_outputs[-2], operations, indices, eps)
        b.endpoints['%s/Cell_%d' % (sc, cell_num)] = net
        cell_outputs.append(net)
    net = tf.nn.relu(net)
    if classification_head:
        expanded = {8: 256, 16: 512, 32: 1024}
        scale = 2 + backbone[-1]
        current = 2 ** scale
        if output_stride % current:
            raise ValueError('output_stride must be a multiple of backbone output stride.')
        remaining = output_stride // current
        rate = 1
        if current != 32:
            for i in range(5 - scale):
                target = 2 ** (scale + 1 + i)
                if remaining != 1:
                    stride, remaining = 2, remaining // 2
                else:
                    stride, rate = 1, rate * 2
                name = '%s/downsample_os%d' % (sc, target)
                net = b.conv(net, name + '_conv', expanded[target], 3, stride=stride, rate=rate,
                             padding='EXPLICIT' if stride > 1 else 'SAME')
                net = tf.nn.relu(b.batch_norm_at(net, name + '_bn', eps))
        net = b.conv(net, sc + '/classification_head_conv', 2048, 1)
        net = tf.nn.relu(b.batch_norm_at(net, sc + '/classification_head_bn', eps))
    return net


def nas_cell(b, net, scope, filters, stride, prev_layer, operations, indices, eps):
    """nas_cell.NASBaseCell.__call__."""
    # _cell_base
    if int(net.shape[2]) != int(prev_layer.shape[2]):
        prev_layer = b.resize_bilinear(prev_layer, list(b._hw(net)))
    if filters != int(prev_layer.shape[3]):
        prev_layer = b.conv(tf.nn.relu(prev_layer), scope + '/prev_1x1', filters, 1)
        prev_layer = b.batch_norm_at(prev_layer, scope + '/prev_bn', eps)
    net = b.conv(tf.nn.relu(net), scope + '/1x1', filters, 1)
    states = [b.batch_norm_at(net, scope + '/beginning_bn', eps), prev_layer]
    for i in range(len(operations) // 2):
        comb = '%s/comb_iter_%d' % (scope, i)
        h1 = nas_operation(b, states[indices[2 * i]], comb + '/left', operations[2 * i],
                           stride, indices[2 * i] < 2, filters, eps)
        h2 = nas_operation(b, states[indices[2 * i + 1]], comb + '/right',
                           operations[2 * i + 1], stride, indices[2 * i + 1] < 2, filters, eps)
        states.append(h1 + h2)
    # _combine_unused_states
    return tf.concat([h for h, used in zip(states, _NAS_USED_HIDDENSTATES) if not used], 3)


def nas_operation(b, net, scope, operation, stride, from_input, filters, eps):
    """nas_cell._apply_conv_operation; drop path is the identity at inference."""
    if stride > 1 and not from_input:
        stride = 1
    input_filters = int(net.shape[3])
    if 'separable' in operation:
        layers = int(operation.split('_')[-1])
        k = int(operation.split('x')[0][-1])
        for layer in range(1, layers + 1):
            name = '%s/separable_%dx%d_%d' % (scope, k, k, layer)
            # separable_conv2d_same: fixed padding when strided; the pointwise conv after it.
            net = b.depthwise(tf.nn.relu(net), name, k, stride=stride,
                              padding='EXPLICIT' if stride > 1 else 'SAME')
            pw = b.var(name + '/pointwise_weights', [1, 1, int(net.shape[3]), filters])
            net = tf.nn.conv2d(net, pw, strides=1, padding='VALID')
            net = b.batch_norm_at(net, '%s/bn_sep_%dx%d_%d' % (scope, k, k, layer), eps)
            stride = 1
    elif 'atrous' in operation:
        k = int(operation.split('x')[0][-1])
        net = tf.nn.relu(net)
        if stride == 2:
            h, w = b._hw(net)
            net = b.resize_bilinear(net, [scale_dimension(h, 0.5), scale_dimension(w, 0.5)])
            net = b.conv(net, '%s/atrous_%dx%d' % (scope, k, k), filters, k, rate=1)
        else:
            net = b.conv(net, '%s/atrous_%dx%d' % (scope, k, k), filters, k, rate=2)
        net = b.batch_norm_at(net, '%s/bn_atr_%dx%d' % (scope, k, k), eps)
    elif operation == 'none':
        if stride > 1 or input_filters != filters:
            net = b.conv(tf.nn.relu(net), scope + '/1x1', filters, 1, stride=stride)
            net = b.batch_norm_at(net, scope + '/bn_1', eps)
    elif operation == 'max_pool_3x3':
        net = b.max_pool_same(net, 3, stride)
        if input_filters != filters:
            net = b.batch_norm_at(b.conv(net, scope + '/1x1', filters, 1), scope + '/bn_1', eps)
    else:
        raise ValueError(operation)
    return net


# ---------------------------------------------------------------------------
# DeepLab head + full network.
# ---------------------------------------------------------------------------

def preprocess(b, images, variant):
    """images: float tensor of pixel values 0..255."""
    images = tf.cast(images, b.dtype)
    if uses_mean_subtraction(variant):
        return images - tf.constant(np.array(MEAN_RGB).reshape(1, 1, 1, 3),
                                    dtype=b.dtype)
    return (2.0 / 255.0) * images - 1.0


def split_separable(b, x, scope, filters, rate, eps, act='relu'):
    """model.split_separable_conv2d: dw(rate)->BN->act->1x1->BN->act (act: the arg scope's)."""
    x = b.depthwise(x, scope + '_depthwise', 3, rate=rate, padding='SAME',
                    bn_eps=eps, act=act)
    return b.conv(x, scope + '_pointwise', filters, 1, bn_eps=eps, act=act)


def head_activation(cfg):
    """model.py: tf.nn.relu6 if use_bounded_activation else tf.nn.relu (ASPP and decoder)."""
    return 'relu6' if cfg.get('use_bounded_activation', False) else 'relu'



def deeplab_logits(b, images, cfg):
    """Logits [1,h',w',num_classes] before upsampling.  `images` 0..255."""
    variant = cfg['variant']
    os_ = cfg['output_stride']
    x = preprocess(b, images, variant)
    fam = backbone_family(variant)
    if fam == 'vgg':
        return deeplab_largefov(b, images, cfg)
    if fam == 'xception':
        feats = xception(b, x, variant, os_, cfg.get('multi_grid'),
                         cfg.get('use_bounded_activation', False))
    elif fam == 'resnet':
        feats = resnet(b, x, variant, os_, cfg.get('multi_grid'))
    elif fam == 'nas':
        feats = nas_network(b, x, variant, os_, cfg.get('nas_stem_output_num_conv_filters', 20),
                            cfg.get('nas_use_classification_head', False),
                            cfg.get('nas_remove_os32_stride', False))
    elif variant.startswith('mobilenet_v3') or variant == 'mobilenet_edgetpu':
        feats = mobilenet_v3(b, x, variant, os_, cfg.get('depth_multiplier', 1.0))
    else:
        feats = mobilenet_v2(b, x, cfg.get('depth_multiplier', 1.0), os_)
    if cfg.get('head') == 'deeplabv2':
        return deeplabv2_aspp_sum(b, feats, cfg)
    # aspp_with_batch_norm=False: no ASPP; the logits layer has one branch per atrous rate.
    with_bn = cfg.get('aspp_with_batch_norm', True)
    x = aspp(b, feats, cfg) if with_bn else feats
    if decoder_strides(cfg):
        x = decoder(b, x, cfg)
        if cfg.get('decoder_output_is_logits', False):
            return x
    return branch_logits(b, x, cfg, with_bn)


def branch_logits(b, x, cfg, with_bn):
    """model.get_branch_logits: under 'logits', a conv with biases per rate ('semantic',
    'semantic_1', ...) of logits_kernel_size, summed; one 1x1 with ASPP or without rates."""
    kernel = cfg.get('logits_kernel_size', 1)
    rates = cfg.get('atrous_rates') or None
    if with_bn or rates is None:
        if kernel != 1:
            raise ValueError('logits_kernel_size must be 1 here')
        rates = [1]
    out = None
    for i, rate in enumerate(rates):
        y = b.conv(x, 'logits/semantic' + ('_%d' % i if i else ''), cfg['num_classes'], kernel,
                   rate=rate, padding='SAME', biases=True)
        out = y if out is None else out + y
    return out


def deeplabv2_aspp_sum(b, feats, cfg):
    """DeepLabv2's ASPP as its ResNet-101 prototxt writes it (Chen et al., TPAMI 2017, Fig. 4 and
    Section 4.1; deeplab-public-ver2 train.prototxt of DeepLab-v2 ResNet-101): on res5c, one
    Convolution layer per rate r in the atrous rates (6, 12, 18, 24: fc1_voc12_c0..c3),
    kernel_size 3, pad r, dilation r, num_output = classes, with a bias term, and an Eltwise
    SUM of their outputs. Computed here in numpy, as Caffe defines its convolution (zero padding
    of r on every side, output (h + 2r - 2r - 1) + 1 = h), not through the network builder; the
    weights are read under the official TF names of the same layers (logits/semantic,
    logits/semantic_1, ...) so that the Java graph can be compared by name."""
    x = np.asarray(feats.numpy() if hasattr(feats, 'numpy') else feats, dtype=np.float64)
    _, h, w, cin = x.shape
    classes = cfg['num_classes']
    total = np.zeros((1, h, w, classes))
    for i, r in enumerate(cfg['atrous_rates']):
        scope = 'logits/semantic' + ('_%d' % i if i else '')
        weights = np.asarray(b.var(scope + '/weights', [3, 3, cin, classes]), dtype=np.float64)
        bias = np.asarray(b.var(scope + '/biases', [classes]), dtype=np.float64)
        padded = np.zeros((1, h + 2 * r, w + 2 * r, cin))
        padded[:, r:r + h, r:r + w, :] = x
        out = np.zeros((1, h, w, classes)) + bias
        for ky in range(3):
            for kx in range(3):
                patch = padded[:, ky * r:ky * r + h, kx * r:kx * r + w, :]
                out += np.einsum('nhwc,ck->nhwk', patch, weights[ky, kx])
        total += out
    return tf.constant(total, dtype=b.dtype)


# DeepLab-LargeFOV in Caffe's terms (numpy, float64). Written from the paper (Chen et al., ICLR
# 2015, Section 3.1, Table 2) and the released DeepLab-LargeFOV prototxt, layer by layer; Caffe's
# own definitions of its Convolution and Pooling layers (conv_layer.cpp, pooling_layer.cpp).

def caffe_conv(x, w, bias, pad, dilation):
    """Convolution: x [1,H,W,C], w [k,k,C,O]; zero padding `pad` on every side, kernel taps
    `dilation` apart, stride 1: out[y,x] = bias + sum_{i,j} in[y + i*d, x + j*d] . w[i,j]."""
    k = w.shape[0]
    _, h, wd, c = x.shape
    padded = np.zeros((1, h + 2 * pad, wd + 2 * pad, c))
    padded[:, pad:pad + h, pad:pad + wd, :] = x
    oh = h + 2 * pad - (dilation * (k - 1) + 1) + 1
    ow = wd + 2 * pad - (dilation * (k - 1) + 1) + 1
    out = np.zeros((1, oh, ow, w.shape[3])) + bias
    for i in range(k):
        for j in range(k):
            patch = padded[:, i * dilation:i * dilation + oh, j * dilation:j * dilation + ow, :]
            out += np.tensordot(patch, w[i, j], axes=([3], [0]))
    return out


def caffe_pool(x, kernel, stride, pad, mode):
    """Pooling: the output size rounds up, ceil((H + 2p - k) / s) + 1, less one when the last
    window would start in the padding; MAX over a window's pixels inside the image; AVE sums them
    and divides by the window's size clipped to the padded image (padding counted)."""
    _, h, w, c = x.shape

    def pooled(n):
        m = int(math.ceil((n + 2 * pad - kernel) / float(stride))) + 1
        return m - 1 if pad and (m - 1) * stride >= n + pad else m

    oh, ow = pooled(h), pooled(w)
    out = np.zeros((1, oh, ow, c))
    for py in range(oh):
        y0 = py * stride - pad
        y1 = min(y0 + kernel, h + pad)
        for px in range(ow):
            x0 = px * stride - pad
            x1 = min(x0 + kernel, w + pad)
            size = (y1 - y0) * (x1 - x0)
            window = x[0, max(y0, 0):min(y1, h), max(x0, 0):min(x1, w), :]
            if mode == 'MAX':
                out[0, py, px] = window.max(axis=(0, 1))
            else:
                out[0, py, px] = window.sum(axis=(0, 1)) / size
    return out


# conv1..conv5: (channels, convs, dilation, pool kernel/stride/pad).
_LARGEFOV_BLOCKS = [(64, 2, 1, 2), (128, 2, 1, 2), (256, 3, 1, 2), (512, 3, 1, 1), (512, 3, 2, 1)]


def deeplab_largefov(b, images, cfg):
    """DeepLab-LargeFOV's train/test prototxt up to fc8: the data layer's mean subtraction;
    conv1_1..conv5_3 (3x3, pad = dilation, ReLU; conv5 at dilation 2); pool1..pool3 MAX 3x3
    stride 2 pad 1, pool4 and pool5 MAX 3x3 stride 1 pad 1; pool5a AVE 3x3 stride 1 pad 1; fc6
    3x3 to 1024 at dilation 12, pad 12, ReLU; fc7 1x1 to 1024, ReLU (drop6/drop7 pass test-time
    activations unchanged); fc8 1x1 to the classes. Caffe's data is BGR and its blobs
    [out, in, kh, kw]: the variables are read in the RGB, [kh, kw, in, out] layout under slim's
    vgg_16 names (conv1/conv1_1, ..., fc6, fc7) and fc8 as logits/semantic."""
    if cfg['output_stride'] != 8:
        raise ValueError('DeepLab-LargeFOV has output stride 8')
    if not tf.executing_eagerly():
        raise ValueError('deeplab_largefov computes in numpy: eager mode only (no frozen graph)')
    x = np.asarray(images.numpy() if hasattr(images, 'numpy') else images, dtype=np.float64)
    x = x - np.array(LARGEFOV_MEAN_RGB).reshape(1, 1, 1, 3)

    def conv(x, scope, out, k, dilation):
        cin = x.shape[3]
        w = np.asarray(b.var(scope + '/weights', [k, k, cin, out]), dtype=np.float64)
        bias = np.asarray(b.var(scope + '/biases', [out]), dtype=np.float64)
        return np.maximum(caffe_conv(x, w, bias, dilation * (k // 2), dilation), 0.0)

    for n, (channels, convs, dilation, pool_stride) in enumerate(_LARGEFOV_BLOCKS, 1):
        for i in range(1, convs + 1):
            x = conv(x, 'vgg_16/conv%d/conv%d_%d' % (n, n, i), channels, 3, dilation)
        x = caffe_pool(x, 3, pool_stride, 1, 'MAX')
    x = caffe_pool(x, 3, 1, 1, 'AVE')
    x = conv(x, 'vgg_16/fc6', 1024, 3, 12)
    x = conv(x, 'vgg_16/fc7', 1024, 1, 1)
    classes = cfg['num_classes']
    w = np.asarray(b.var('logits/semantic/weights', [1, 1, 1024, classes]), dtype=np.float64)
    bias = np.asarray(b.var('logits/semantic/biases', [classes]), dtype=np.float64)
    return tf.constant(caffe_conv(x, w, bias, 0, 1), dtype=b.dtype)


def dense_prediction_cell(b, feats, cfg):
    """core/dense_prediction_cell.py build_cell, scope meta_architecture: each branch reads the
    features (input -1) or an earlier branch; 'conv' is a 1x1 conv or a split separable conv
    with the (possibly asymmetric) rates times 16 // output_stride; 'pyramid_pooling' averages
    windows of the crop over the grid and resizes back. The concatenation (dropout in training)
    goes through concat_projection; 256 channels throughout, BN eps 1e-5, ReLU."""
    os_ = cfg['output_stride']
    crop_h, crop_w = cfg['crop_size']
    multiplier = 16 // os_
    eps, depth = BN_EPS_HEAD, 256
    branches = []
    for i, op in enumerate(cfg['dense_prediction_cell_json']):
        scope = 'meta_architecture/branch%d' % i
        x = feats if op['input'] < 0 else branches[op['input']]
        if op['op'] == 'conv':
            kernel = op['kernel']
            if kernel in (1, [1, 1]):
                branches.append(b.conv(x, scope, depth, 1, bn_eps=eps, act='relu'))
            else:
                rate = [r * multiplier for r in op['rate']]
                y = b.depthwise(x, scope + '_depthwise', kernel, rate=rate, padding='SAME',
                                bn_eps=eps, act='relu')
                branches.append(b.conv(y, scope + '_pointwise', depth, 1, bn_eps=eps,
                                       act='relu'))
        elif op['op'] == 'pyramid_pooling':
            pool_crop = cfg.get('image_pooling_crop_size') or [crop_h, crop_w]
            grid = op['grid_size']
            kh = scale_dimension(pool_crop[0], 1.0 / (os_ * grid[0]))
            kw = scale_dimension(pool_crop[1], 1.0 / (os_ * grid[1]))
            y = tf.nn.avg_pool2d(x, ksize=[kh, kw], strides=[1, 1], padding='VALID')
            y = b.conv(y, scope, depth, 1, bn_eps=eps, act='relu')
            branches.append(b.resize_bilinear(y, [scale_dimension(crop_h, 1.0 / os_),
                                                  scale_dimension(crop_w, 1.0 / os_)]))
        else:
            raise ValueError(op)
    return b.conv(tf.concat(branches, 3), 'meta_architecture/concat_projection', depth, 1,
                  bn_eps=eps, act='relu')


def aspp(b, feats, cfg):
    """model.extract_features after the backbone (aspp_with_batch_norm=True)."""
    if cfg.get('dense_prediction_cell_json'):
        return dense_prediction_cell(b, feats, cfg)
    os_ = cfg['output_stride']
    crop_h, crop_w = cfg['crop_size']
    eps, depth = BN_EPS_HEAD, cfg.get('aspp_convs_filters', 256)
    se = cfg.get('aspp_with_squeeze_and_excitation', False)
    act = head_activation(cfg)
    branches = []
    # Image pooling: an avg_pool with the kernel of image_pooling_crop_size (else crop_size) at
    # the output stride and stride image_pooling_stride, VALID; resized to the crop size at the
    # output stride.
    pool_crop = cfg.get('image_pooling_crop_size') or [crop_h, crop_w]
    pool_h = scale_dimension(pool_crop[0], 1.0 / os_)
    pool_w = scale_dimension(pool_crop[1], 1.0 / os_)
    img = tf.nn.avg_pool2d(feats, ksize=[pool_h, pool_w],
                           strides=list(cfg.get('image_pooling_stride') or [1, 1]),
                           padding='VALID')
    if se:
        # No batch norm (so biases), and a sigmoid (or utils.q_sigmoid) instead of the ReLU.
        img = b.conv(img, 'image_pooling', depth, 1, biases=True,
                     act='hard_sigmoid' if cfg.get('image_se_uses_qsigmoid') else 'sigmoid')
    else:
        # image_feature_activation_fn is tf.nn.relu even with use_bounded_activation.
        img = b.conv(img, 'image_pooling', depth, 1, bn_eps=eps, act='relu')
    img = b.resize_bilinear(img, [scale_dimension(crop_h, 1.0 / os_),
                                  scale_dimension(crop_w, 1.0 / os_)])
    if not se:
        branches.append(img)
    branches.append(b.conv(feats, 'aspp0', depth, 1, bn_eps=eps, act=act))
    for i, rate in enumerate(cfg.get('atrous_rates') or [], 1):
        if cfg.get('aspp_with_separable_conv', True):
            branches.append(split_separable(b, feats, 'aspp%d' % i, depth, rate, eps, act))
        else:
            branches.append(b.conv(feats, 'aspp%d' % i, depth, 3, rate=rate,
                                   bn_eps=eps, act=act))
    x = tf.concat(branches, 3)
    if cfg.get('aspp_with_concat_projection', True):
        x = b.conv(x, 'concat_projection', depth, 1, bn_eps=eps, act=act)
    if se:
        x = x * img
    return x


def decoder_strides(cfg):
    """decoder_output_stride as the official list (one stage per stride, in order); a single
    int is one stage."""
    dec = cfg.get('decoder_output_stride')
    if not dec:
        return []
    return list(dec) if isinstance(dec, (list, tuple)) else [dec]


def decoder(b, x, cfg):
    """model.refine_by_decoder: one stage per decoder output stride, the first unsuffixed, the
    i-th with scope suffix '_i'; concat merge (DeepLabv3+) or sum merge; with
    decoder_output_is_logits its convs are 1x1 with biases, no batch norm, no activation."""
    eps = BN_EPS_HEAD
    crop_h, crop_w = cfg['crop_size']
    filters = cfg.get('decoder_filters', 256)
    sum_merge = cfg.get('decoder_use_sum_merge', False)
    separable = cfg.get('decoder_use_separable_conv', True)
    act = head_activation(cfg)
    if cfg.get('decoder_output_is_logits', False):
        conv_args = dict(biases=True, act=None)
        kernel, separable = 1, False
    else:
        conv_args = dict(bn_eps=eps, act=act)
        kernel = 3
    for stage, dec_os in enumerate(decoder_strides(cfg)):
        suffix = '_%d' % stage if stage else ''
        low = b.endpoints[decoder_end_point(cfg['variant'], dec_os)]
        proj = b.conv(low, 'decoder/feature_projection0' + suffix,
                      filters if sum_merge else 48, 1, **conv_args)
        dh = scale_dimension(crop_h, 1.0 / dec_os)
        dw = scale_dimension(crop_w, 1.0 / dec_os)
        x = b.resize_bilinear(x, [dh, dw])
        proj = b.resize_bilinear(proj, [dh, dw])
        if sum_merge:
            if separable:
                x = split_separable(b, x, 'decoder/decoder_split_sep_conv0' + suffix, filters, 1,
                                    eps, act) + proj
            else:
                x = b.conv(x, 'decoder/decoder_conv0' + suffix, filters, kernel,
                           **conv_args) + proj
            continue
        x = tf.concat([x, proj], 3)
        if separable:
            x = split_separable(b, x, 'decoder/decoder_conv0' + suffix, filters, 1, eps, act)
            x = split_separable(b, x, 'decoder/decoder_conv1' + suffix, filters, 1, eps, act)
        else:
            # _decoder_with_concat_merge: slim.repeat of two 3x3 convs under scope
            # 'decoder_conv' + str(i) + suffix (i = 0, the only low-level feature; the
            # conv2d_kernel is not used), layers '<scope>_1', '<scope>_2'.
            rep = 'decoder/decoder_conv0' + suffix
            name = rep.rsplit('/', 1)[1]
            x = b.conv(x, '%s/%s_1' % (rep, name), filters, 3, **conv_args)
            x = b.conv(x, '%s/%s_2' % (rep, name), filters, 3, **conv_args)
    return x


def model_variables(cfg):
    """{name: shape} of all model variables of a config (shape-only run)."""
    run = dict(cfg)
    size = 33
    run['crop_size'] = [size, size]
    run['image_pooling_crop_size'] = None     # the pooling window makes no variable
    run['image_pooling_stride'] = None
    b = Builder(ZeroParams(), dtype=tf.float32, resize='matrix')
    deeplab_logits(b, tf.zeros([1, size, size, 3], tf.float32), run)
    return dict(b.variables)


def is_trainable(name):
    return name.rsplit('/', 1)[-1] not in ('moving_mean', 'moving_variance')
