#!/usr/bin/env python3
"""Reference generator for the Java DeepLab port (see README.md here).

Modes:
  (default)                         write golden cases + variable manifests
  --self-check                      run the cross-checks and print a report
  --checkpoint-dir DIR --case NAME [--format v2|v1] [--with-extras]
                                    write a TF1 checkpoint with formula weights
  --frozen-graph OUT.pb --case NAME write a frozen GraphDef like export_model.py
"""

import argparse
import json
import os
import sys

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
# TF's Eigen kernels: oneDNN 3.7 (Python TF 2.21) dies with SIGFPE on the float32 1x1 convs of
# ResNet's blocks 3 and 4 on CPUs whose cache sizes it misreads (README, "oneDNN").
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deeplab_net as net  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_RESOURCES = os.path.normpath(os.path.join(HERE, '..', '..', 'deeplab-core', 'src', 'test', 'resources'))


def _cfg(variant, output_stride, atrous_rates, num_classes, size,
         multi_grid=None, decoder_output_stride=None,
         aspp_with_separable_conv=True, decoder_use_separable_conv=True,
         depth_multiplier=1.0, **head):
    """A case config; `head` takes further official flags by name (model.py, common.py)."""
    if multi_grid is None and not variant.startswith('mobilenet'):
        multi_grid = [1, 1] if variant.startswith('resnet_v1_18') else [1, 1, 1]
    cfg = {
        'variant': variant,
        'output_stride': output_stride,
        'atrous_rates': list(atrous_rates),
        'multi_grid': multi_grid,
        'decoder_output_stride': decoder_output_stride,
        'aspp_with_separable_conv': aspp_with_separable_conv,
        'decoder_use_separable_conv': decoder_use_separable_conv,
        'num_classes': num_classes,
        'crop_size': [size, size],
        'depth_multiplier': float(depth_multiplier),
        'input_size': [size, size],
    }
    cfg.update(head)
    return cfg


# core/dense_prediction_cell_branch5_top1_cityscapes.json (the Xception-71 DPC checkpoints).
DPC_BRANCH5_TOP1_CITYSCAPES = [
    {'kernel': 3, 'rate': [1, 6], 'op': 'conv', 'input': -1},
    {'kernel': 3, 'rate': [18, 15], 'op': 'conv', 'input': 0},
    {'kernel': 3, 'rate': [6, 3], 'op': 'conv', 'input': 1},
    {'kernel': 3, 'rate': [1, 1], 'op': 'conv', 'input': 0},
    {'kernel': 3, 'rate': [6, 21], 'op': 'conv', 'input': 0},
]


# The head of the MobileNetV3 Cityscapes checkpoints (g3doc/model_zoo.md): no atrous branches,
# image pooling as squeeze-excitation gating, no concat projection, a sum-merge decoder at
# stride 8 whose output is the logits.
def _mnv3_zoo_head(num_classes, image_pooling_crop_size, image_pooling_stride):
    return dict(image_pooling_crop_size=list(image_pooling_crop_size),
                image_pooling_stride=list(image_pooling_stride),
                aspp_convs_filters=128,
                aspp_with_concat_projection=False,
                aspp_with_squeeze_and_excitation=True,
                image_se_uses_qsigmoid=True,
                decoder_use_sum_merge=True,
                decoder_filters=num_classes,
                decoder_output_is_logits=True)


CASES = {
    'mobilenet_v2_os16_65': _cfg('mobilenet_v2', 16, [], 21, 65),
    'mobilenet_v2_dm05_os8_dec_64': _cfg('mobilenet_v2', 8, [12, 24, 36], 5, 64,
                                         decoder_output_stride=4,
                                         depth_multiplier=0.5),
    'mobilenet_v2_os32_64': _cfg('mobilenet_v2', 32, [3, 6, 9], 6, 64),
    'resnet_v1_50_beta_os16_dec_64': _cfg('resnet_v1_50_beta', 16, [6, 12, 18], 7, 64,
                                          multi_grid=[1, 2, 4],
                                          decoder_output_stride=4),
    'resnet_v1_101_os8_65': _cfg('resnet_v1_101', 8, [12, 24, 36], 3, 65,
                                 multi_grid=[1, 1, 1],
                                 aspp_with_separable_conv=False),
    'xception_65_os16_dec_64': _cfg('xception_65', 16, [6, 12, 18], 21, 64,
                                    decoder_output_stride=4),
    'xception_41_os8_65': _cfg('xception_41', 8, [12, 24, 36], 4, 65),
    'xception_71_os16_dec_nonsep_64': _cfg('xception_71', 16, [6, 12, 18], 2, 64,
                                           decoder_output_stride=4,
                                           decoder_use_separable_conv=False),
    # The zoo head at output stride 32; pooling window 2x2 at stride (1,2) on the 3x3 features.
    'mobilenet_v3_large_seg_os32_dec8_zoo_65': _cfg(
        'mobilenet_v3_large_seg', 32, [], 19, 65, decoder_output_stride=8,
        **_mnv3_zoo_head(19, [49, 49], [1, 2])),
    # Atrous 5x5 depthwise convs (OS 16), a separable sum-merge decoder followed by the logits
    # layer, sigmoid gating, a 3x4 pooling window on the 4x4 features.
    'mobilenet_v3_small_seg_os16_dec8_sum_64': _cfg(
        'mobilenet_v3_small_seg', 16, [], 6, 64, decoder_output_stride=8,
        image_pooling_crop_size=[33, 49], aspp_convs_filters=64,
        aspp_with_squeeze_and_excitation=True, decoder_use_sum_merge=True,
        decoder_filters=32),
    # The DeepLabv3+ head on MobileNetV3-large at OS 8 (atrous rates 2 and 4 in the backbone),
    # concat decoder at stride 4.
    'mobilenet_v3_large_seg_os8_dec4_65': _cfg(
        'mobilenet_v3_large_seg', 8, [12, 24, 36], 4, 65, decoder_output_stride=4),
    # ResNet-18 with lite bottlenecks: mean subtraction, multi-grid (1, 2) at OS 16, decoder
    # at 8 (block2/unit_1/conv2); the beta root at a quarter width at OS 8, decoder at 4.
    'resnet_v1_18_os16_dec8_65': _cfg('resnet_v1_18', 16, [6, 12, 18], 4, 65,
                                      multi_grid=[1, 2], decoder_output_stride=8),
    'resnet_v1_18_beta_os8_dec_64': _cfg('resnet_v1_18_beta', 8, [12, 24, 36], 5, 64,
                                         decoder_output_stride=4),
    # EdgeTPU-DeepLab-slim (depth multiplier 0.75, 128 ASPP filters) at OS 16: fused
    # expansions, the residual-free layer 15, 5x5 depthwise convs at rate 2.
    'mobilenet_edgetpu_dm075_os16_65': _cfg('mobilenet_edgetpu', 16, [], 19, 65,
                                            depth_multiplier=0.75, aspp_convs_filters=128),
    'mobilenet_edgetpu_os32_64': _cfg('mobilenet_edgetpu', 32, [], 7, 64),
    # The dense prediction cell of the zoo at OS 8 (rates doubled), on an 81x97 input (odd
    # and even sides: 11x13 features, rates up to 42 beyond them).
    'xception_71_dpc_os8_dec_81x96': dict(
        _cfg('xception_71', 8, [], 5, 81, decoder_output_stride=4,
             dense_prediction_cell_json=DPC_BRANCH5_TOP1_CITYSCAPES),
        crop_size=[81, 96], input_size=[81, 96]),
    # aspp_with_batch_norm=False (no ASPP): 3x3 logits at rates 2 and 3 summed, on ResNet-18 at
    # OS 16 with the decoder at 8.
    'resnet_v1_18_nobn_logits3_os16_dec8_64': _cfg(
        'resnet_v1_18', 16, [2, 3], 5, 64, decoder_output_stride=8,
        aspp_with_batch_norm=False, logits_kernel_size=3),
    # DeepLabv2 (TPAMI 2017): ResNet-101 at OS 8, four 3x3 logits convs at rates 6, 12, 18, 24
    # summed, as its prototxt writes them (deeplab_net.deeplabv2_aspp_sum); even and odd inputs
    # (12x12 and 17x17 features: the rates reach inside and beyond the feature map).
    'deeplabv2_resnet_v1_101_os8_96': _cfg(
        'resnet_v1_101', 8, [6, 12, 18, 24], 21, 96, head='deeplabv2',
        aspp_with_batch_norm=False, logits_kernel_size=3),
    'deeplabv2_resnet_v1_101_os8_129': _cfg(
        'resnet_v1_101', 8, [6, 12, 18, 24], 5, 129, head='deeplabv2',
        aspp_with_batch_norm=False, logits_kernel_size=3),
    # DeepLab-LargeFOV (ICLR 2015): VGG-16 with atrous fc6, as its prototxt writes it in Caffe's
    # terms (deeplab_net.deeplab_largefov, numpy). Sides of 8k+1, where Caffe's rounded-up
    # pooling sizes are TF's SAME ones: 13x13 features (fc6's rate-12 taps reach from border to
    # border) and 9x11 features (they fall beyond it).
    'deeplab_largefov_vgg_16_97': _cfg('vgg_16', 8, [], 21, 97, aspp_with_batch_norm=False),
    'deeplab_largefov_vgg_16_65x81': dict(
        _cfg('vgg_16', 8, [], 21, 65, aspp_with_batch_norm=False),
        crop_size=[65, 81], input_size=[65, 81]),
    # The zoo cell on a small backbone, with the decoder (the frozen-graph interop check's DPC).
    'mobilenet_v2_dpc_dm05_os16_dec_65': _cfg(
        'mobilenet_v2', 16, [], 6, 65, decoder_output_stride=4, depth_multiplier=0.5,
        dense_prediction_cell_json=DPC_BRANCH5_TOP1_CITYSCAPES),
    # Every branch kind at OS 16: a 1x1 conv, a pyramid pooling over a 2x1 grid, an asymmetric
    # separable conv reading another branch.
    'xception_41_dpc_ops_os16_64': _cfg(
        'xception_41', 16, [], 3, 64, dense_prediction_cell_json=[
            {'kernel': 1, 'op': 'conv', 'input': -1},
            {'op': 'pyramid_pooling', 'grid_size': [2, 1], 'input': -1},
            {'kernel': 3, 'rate': [2, 1], 'op': 'conv', 'input': 0}]),
    # Kernels as slim's [kh, kw] lists (1x3 and 3x1 depthwise at unequal rates; [1, 1] is the
    # 1x1 conv) on a small backbone at OS 16, odd input (5x5 features).
    'mobilenet_v2_dpc_kernels_dm05_os16_65': _cfg(
        'mobilenet_v2', 16, [], 3, 65, depth_multiplier=0.5, dense_prediction_cell_json=[
            {'kernel': [1, 3], 'rate': [1, 2], 'op': 'conv', 'input': -1},
            {'kernel': [3, 1], 'rate': [3, 1], 'op': 'conv', 'input': 0},
            {'kernel': [1, 1], 'op': 'conv', 'input': -1}]),
    # use_bounded_activation: Xception's bounded form (ReLU6, clipped sums, TF SAME padding in
    # its strided separable convs: an even input shows it) with a ReLU6 head and decoder.
    'xception_41_bounded_os16_dec_64': _cfg('xception_41', 16, [6, 12, 18], 4, 64,
                                            decoder_output_stride=4,
                                            use_bounded_activation=True),
    # A two-stage decoder (decoder_output_stride=8,4; model.refine_by_decoder's stages, the
    # second suffixed _1): separable concat merge on an even input, plain concat merge (the
    # slim.repeat scopes decoder_conv0_1/decoder_conv0_1_{1,2}) and separable sum merge on odd.
    'xception_41_os16_dec84_64': _cfg('xception_41', 16, [6, 12, 18], 4, 64,
                                      decoder_output_stride=[8, 4]),
    'mobilenet_v2_dm05_os16_dec84_nonsep_65': _cfg('mobilenet_v2', 16, [6, 12, 18], 5, 65,
                                                   decoder_output_stride=[8, 4],
                                                   depth_multiplier=0.5,
                                                   decoder_use_separable_conv=False),
    'mobilenet_v3_small_seg_os16_dec84_sum_65': _cfg(
        'mobilenet_v3_small_seg', 16, [], 6, 65, decoder_output_stride=[8, 4],
        aspp_convs_filters=64, decoder_use_sum_merge=True, decoder_filters=32),
    # ... and on a backbone it leaves alone (ReLU6 in the ASPP and the non-separable decoder).
    'mobilenet_v2_bounded_dm05_os8_dec_65': _cfg('mobilenet_v2', 8, [12, 24, 36], 5, 65,
                                                 decoder_output_stride=4, depth_multiplier=0.5,
                                                 decoder_use_separable_conv=False,
                                                 use_bounded_activation=True),
    # NAS backbones (core/nas_network.py), 8 stem filters unless said (the default is 20).
    # PNASNet at OS 16 on an even input (strided separable convs with fixed padding, SAME
    # max-pools) with a two-stage decoder (Cell_3, Stem); at OS 8 with the decoder on the stem;
    # at OS 32 with the classification head (2048 channels into the ASPP).
    'nas_pnasnet_f8_os16_dec84_64': _cfg('nas_pnasnet', 16, [6, 12, 18], 5, 64,
                                         decoder_output_stride=[8, 4],
                                         nas_stem_output_num_conv_filters=8),
    'nas_pnasnet_f8_os8_dec4_65': _cfg('nas_pnasnet', 8, [12, 24, 36], 4, 65,
                                       decoder_output_stride=4,
                                       nas_stem_output_num_conv_filters=8),
    'nas_pnasnet_f8_os32_head_65': _cfg('nas_pnasnet', 32, [3, 6, 9], 3, 65,
                                        nas_stem_output_num_conv_filters=8,
                                        nas_use_classification_head=True),
    # hnasnet (Auto-DeepLab): its up-steps resize d to 2d-1, so the head's sizes hold only for
    # crops of the form 32k+1 (even inputs fail in the official network too). OS 8 at the default
    # 20 filters with the decoder on Cell_2; OS 16 through the classification head (one strided
    # downsample conv, one atrous) with the decoder on Cell_5; nas_remove_os32_stride.
    'nas_hnasnet_os8_dec4_65': _cfg('nas_hnasnet', 8, [12, 24, 36], 4, 65,
                                    decoder_output_stride=4),
    'nas_hnasnet_f8_os16_head_dec8_97': _cfg('nas_hnasnet', 16, [6, 12, 18], 5, 97,
                                             decoder_output_stride=8,
                                             nas_stem_output_num_conv_filters=8,
                                             nas_use_classification_head=True),
    'nas_hnasnet_f8_os8_remove32_65': _cfg('nas_hnasnet', 8, [12, 24, 36], 3, 65,
                                           nas_stem_output_num_conv_filters=8,
                                           nas_remove_os32_stride=True),
}


def _preset(variant, num_classes, dm=1.0):
    if variant.startswith('mobilenet'):
        return _cfg(variant, 16, [], num_classes, 65, depth_multiplier=dm)
    return _cfg(variant, 16, [6, 12, 18], num_classes, 65, decoder_output_stride=4)


PRESETS = {
    'mobilenetv2_coco_voc': _preset('mobilenet_v2', 21),
    'mobilenetv2_dm05_coco_voc': _preset('mobilenet_v2', 21, dm=0.5),
    'mobilenetv2_coco_cityscapes': _preset('mobilenet_v2', 19),
    'xception65_coco_voc': _preset('xception_65', 21),
    'xception65_cityscapes': _preset('xception_65', 19),
    'xception65_ade20k': _preset('xception_65', 151),
    'xception41_voc': _preset('xception_41', 21),
    'xception71_voc': _preset('xception_71', 21),
    'resnet_v1_101_beta_voc': _preset('resnet_v1_101_beta', 21),
    'resnet_v1_50_beta_voc': _preset('resnet_v1_50_beta', 21),
    'resnet_v1_101_voc': _preset('resnet_v1_101', 21),
    'resnet_v1_50_voc': _preset('resnet_v1_50', 21),
    'resnet_v1_18_voc': _preset('resnet_v1_18', 21),
    'resnet_v1_18_beta_voc': _preset('resnet_v1_18_beta', 21),
    'mobilenetv3_large_cityscapes': _cfg('mobilenet_v3_large_seg', 32, [], 19, 65,
                                         decoder_output_stride=8,
                                         **_mnv3_zoo_head(19, [769, 769], [4, 5])),
    'mobilenetv3_small_cityscapes': _cfg('mobilenet_v3_small_seg', 32, [], 19, 65,
                                         decoder_output_stride=8,
                                         **_mnv3_zoo_head(19, [769, 769], [4, 5])),
    'edgetpu_deeplab_cityscapes': _cfg('mobilenet_edgetpu', 32, [], 19, 65),
    'edgetpu_deeplab_slim_cityscapes': _cfg('mobilenet_edgetpu', 32, [], 19, 65,
                                            depth_multiplier=0.75, aspp_convs_filters=128),
    'deeplabv2_resnet101': _cfg('resnet_v1_101', 8, [6, 12, 18, 24], 21, 65, head='deeplabv2',
                                aspp_with_batch_norm=False, logits_kernel_size=3),
    'deeplabv1_largefov_vgg16': _cfg('vgg_16', 8, [], 21, 65, aspp_with_batch_norm=False),
    'xception71_dpc_cityscapes': _cfg('xception_71', 16, [], 19, 65, decoder_output_stride=4,
                                      dense_prediction_cell_json=DPC_BRANCH5_TOP1_CITYSCAPES),
}


# ---------------------------------------------------------------------------

def run_case(cfg, params, dtype=tf.float64, resize='matrix', padding_override=None):
    """Returns (logits ndarray in `dtype`, upsampled logits, argmax int32)."""
    h, w = cfg['input_size']
    image = tf.constant(net.formula_image(h, w))
    b = net.Builder(params, dtype=dtype, resize=resize)
    b.padding_override = dict(padding_override or {})
    logits = net.deeplab_logits(b, image, cfg)
    up = b.resize_bilinear(logits, [h, w])
    arg = tf.cast(tf.argmax(up, axis=3), tf.int32)
    return logits.numpy(), up.numpy(), arg.numpy(), b


def top2_margin(up):
    s = np.sort(up, axis=-1)
    return s[..., -1] - s[..., -2]


def write_golden(resources, names=None):
    params = net.FormulaParams()
    total = 0
    for name in (names or CASES):
        cfg = CASES[name]
        logits, up, arg, _ = run_case(cfg, params)
        d = os.path.join(resources, 'golden', name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'config.json'), 'w') as f:
            json.dump(cfg, f, indent=2)
            f.write('\n')
        np.save(os.path.join(d, 'logits.npy'), logits.astype(np.float32))
        np.save(os.path.join(d, 'logits_upsampled_argmax.npy'), arg.astype(np.int32))
        margin = top2_margin(up)
        scale = float(np.abs(logits).max())
        print('golden %-32s logits %s  max|logit| %.4g  min top2 margin %.3g (rel %.2g)  classes used %d'
              % (name, list(logits.shape), scale, margin.min(), margin.min() / scale,
                 len(np.unique(arg))))
        for fn in os.listdir(d):
            total += os.path.getsize(os.path.join(d, fn))
        params._cache.clear()
    return total


def write_case_manifests(resources, names=None):
    """golden/<case>/variables.txt: the case network's variables, one 'name [shape]' a line."""
    total = 0
    for name in (names or CASES):
        variables = net.model_variables(CASES[name])
        path = os.path.join(resources, 'golden', name, 'variables.txt')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('\n'.join('%s [%s]' % (n, ','.join(str(x) for x in variables[n]))
                              for n in sorted(variables)) + '\n')
        total += os.path.getsize(path)
    return total


def write_manifests(resources):
    d = os.path.join(resources, 'manifests')
    os.makedirs(d, exist_ok=True)
    counts = {}
    total = 0
    for preset, cfg in PRESETS.items():
        variables = net.model_variables(cfg)
        lines = ['%s [%s]' % (n, ','.join(str(x) for x in variables[n]))
                 for n in sorted(variables)]
        path = os.path.join(d, preset + '.txt')
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        total += os.path.getsize(path)
        n_all = sum(int(np.prod(s)) for s in variables.values())
        n_train = sum(int(np.prod(s)) for n, s in variables.items() if net.is_trainable(n))
        counts[preset] = (len(variables), n_all, n_train)
        print('manifest %-28s %4d variables  %11d params (%d trainable)'
              % (preset, len(variables), n_all, n_train))
    return counts, total


# ---------------------------------------------------------------------------
# Checkpoint / frozen graph.
# ---------------------------------------------------------------------------

def write_checkpoint(out_dir, case, fmt='v2', with_extras=False):
    """Writes the case's formula weights (and, with extras, global_step and a <var>/Momentum slot
    per trainable variable) as an official-layout checkpoint. The values are fed to the variables'
    initializers (placeholders), not embedded in the graph as constants: a graph holding a large
    backbone's weights as constants takes minutes to hand to the session."""
    from tensorflow.core.protobuf import saver_pb2
    cfg = CASES[case]
    variables = net.model_variables(cfg)
    os.makedirs(out_dir, exist_ok=True)
    g = tf.Graph()
    feed = {}
    with g.as_default():
        var_list = {}

        def variable(name, value, trainable):
            ph = tf.compat.v1.placeholder(tf.as_dtype(value.dtype), value.shape)
            feed[ph] = value
            var_list[name] = tf.compat.v1.Variable(ph, name=name, trainable=trainable)

        for name in sorted(variables):
            variable(name, net.formula_values(name, variables[name]), net.is_trainable(name))
        if with_extras:
            variable('global_step', np.array(30000, np.int64), False)
            for name in sorted(variables):
                if net.is_trainable(name):
                    slot = name + '/Momentum'
                    # Slot values: 0.01 * s of the generator with the slot name.
                    s = 2.0 * net.formula_uniform(slot, int(np.prod(variables[name]))) - 1.0
                    variable(slot, (0.01 * s).astype(np.float32).reshape(variables[name]), False)
        version = saver_pb2.SaverDef.V1 if fmt == 'v1' else saver_pb2.SaverDef.V2
        saver = tf.compat.v1.train.Saver(var_list=var_list, write_version=version)
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer(), feed_dict=feed)
            prefix = saver.save(sess, os.path.join(out_dir, 'model.ckpt'),
                                write_meta_graph=False)
    return prefix


def build_export_graph(cfg):
    """Graph in the shape of export_model.py; weights as constants."""
    variant = cfg['variant']
    crop_h, crop_w = cfg['crop_size']
    g = tf.Graph()
    with g.as_default():
        image = tf.compat.v1.placeholder(tf.uint8, [1, None, None, 3], name='ImageTensor')
        original_size = tf.shape(image)[1:3]
        x = tf.cast(tf.squeeze(image, axis=0), tf.float32)
        size = tf.shape(x)[:2]
        mean = tf.constant(net.mean_pixel(variant), tf.float32)
        # preprocess_utils.pad_to_bounding_box with the mean pixel (offset 0,0)
        with tf.control_dependencies([
                tf.compat.v1.assert_less_equal(size, tf.constant([crop_h, crop_w]))]):
            pads = tf.stack([[0, crop_h - size[0]], [0, crop_w - size[1]], [0, 0]])
        x = tf.pad(x - mean, pads) + mean
        x.set_shape([crop_h, crop_w, 3])
        x = tf.expand_dims(x, 0)
        b = net.Builder(net.FormulaParams(), dtype=tf.float32, resize='tf')
        logits = net.deeplab_logits(b, x, cfg)
        logits = tf.compat.v1.image.resize_bilinear(logits, [crop_h, crop_w],
                                                    align_corners=True)
        pred = tf.cast(tf.argmax(logits, 3), tf.float32)
        pred = tf.slice(pred, [0, 0, 0], tf.stack([1, size[0], size[1]]))
        pred = tf.compat.v1.image.resize_nearest_neighbor(
            tf.expand_dims(pred, 3), original_size, align_corners=True)
        pred = tf.cast(tf.squeeze(pred, 3), tf.int32)
        tf.identity(pred, name='SemanticPredictions')
    return g


def write_frozen_graph(out_path, case):
    g = build_export_graph(CASES[case])
    gd = g.as_graph_def()
    d = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(d, exist_ok=True)
    with open(out_path, 'wb') as f:
        f.write(gd.SerializeToString())
    return out_path


def run_frozen_graph(path, image_uint8):
    gd = tf.compat.v1.GraphDef()
    with open(path, 'rb') as f:
        gd.ParseFromString(f.read())
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.import_graph_def(gd, name='')
    with tf.compat.v1.Session(graph=g) as sess:
        return sess.run('SemanticPredictions:0', {'ImageTensor:0': image_uint8})


# ---------------------------------------------------------------------------
# Self-checks.
# ---------------------------------------------------------------------------

def _np_conv(x, w, stride, rate, ph, pw, depthwise=False):
    """Direct float64 numpy convolution (reference for the checks)."""
    x = np.pad(x, [(0, 0), ph, pw, (0, 0)])
    k = w.shape[0]
    n, hh, ww, c = x.shape
    ho = (hh - (k - 1) * rate - 1) // stride + 1
    wo = (ww - (k - 1) * rate - 1) // stride + 1
    out = None
    for i in range(k):
        for j in range(k):
            patch = x[:, i * rate:i * rate + (ho - 1) * stride + 1:stride,
                      j * rate:j * rate + (wo - 1) * stride + 1:stride, :]
            t = patch * w[i, j, :, 0] if depthwise else np.einsum('nhwc,co->nhwo', patch, w[i, j])
            out = t if out is None else out + t
    return out


def self_check(frozen_cases, tmp_dir):
    ok = True

    def report(label, good, detail=''):
        nonlocal ok
        ok &= bool(good)
        print('[%s] %s %s' % ('ok' if good else 'FAIL', label, detail))

    # 1. Formula: vectorised uint64 vs arbitrary-precision Python.
    worst = 0
    for name in ('input', 'xception_65/entry_flow/conv1_1/weights', 'logits/semantic/biases',
                 'MobilenetV2/expanded_conv_3/depthwise/depthwise_weights'):
        vec = net.formula_uniform(name, 5000)
        for i in (0, 1, 2, 999, 4999):
            worst = max(worst, abs(vec[i] - net.formula_uniform_scalar(name, i)))
    report('formula vectorised == bigint reference', worst == 0.0)
    v = net.formula_values('a/weights', [3, 3, 4, 8])
    s0 = 2.0 * net.formula_uniform_scalar('a/weights', 0) - 1.0
    report('formula value rule (weights)', v.flat[0] == np.float32(s0 * np.sqrt(6.0 / 36)))
    print('      fnv1a64("input") = 0x%016x, first pixels %s' % (
        net.fnv1a64('input'), net.formula_image(2, 2).ravel()[:6].tolist()))

    rng = np.random.RandomState(0)
    b = net.Builder(net.ZeroParams(), dtype=tf.float64)
    conv_ok = True
    # 2. Own padded-VALID (atrous) conv vs numpy and vs TF SAME/atrous ops.
    for size in (9, 10):
        for k, stride, rate in ((3, 1, 1), (3, 1, 2), (3, 1, 5), (3, 2, 1), (7, 2, 1), (1, 2, 1)):
            x = rng.randn(1, size, size, 3)
            w = rng.randn(k, k, 3, 4)
            for padding in ('SAME', 'EXPLICIT'):
                ph, pw = b._pad_for(tf.constant(x), k, stride, rate, padding)
                xt = b.pad(tf.constant(x), ph, pw)
                mine = tf.nn.conv2d(xt, w, [1, stride, stride, 1], 'VALID',
                                    dilations=[1, rate, rate, 1]).numpy()
                ref = _np_conv(x, w, stride, rate, ph, pw)
                good = mine.shape == ref.shape and np.allclose(mine, ref, atol=1e-10)
                if padding == 'SAME':
                    tfs = tf.nn.conv2d(x, w, [1, stride, stride, 1], 'SAME',
                                       dilations=[1, rate, rate, 1]).numpy()
                    good &= np.allclose(mine, tfs, atol=1e-10)
                    if stride == 1:
                        atr = tf.nn.atrous_conv2d(x, w, rate, 'SAME').numpy()
                        good &= np.allclose(mine, atr, atol=1e-10)
                        wd = w[:, :, :, :1]
                        dmine = tf.nn.depthwise_conv2d(xt, wd, [1, 1, 1, 1], 'VALID',
                                                       dilations=[rate, rate]).numpy()
                        dref = _np_conv(x, wd, 1, rate, ph, pw, depthwise=True)
                        dtf = tf.nn.depthwise_conv2d(x, wd, [1, 1, 1, 1], 'SAME',
                                                     dilations=[rate, rate]).numpy()
                        good &= np.allclose(dmine, dref, atol=1e-10) and \
                            np.allclose(dmine, dtf, atol=1e-10)
                if not good:
                    conv_ok = False
                    report('conv n=%d k=%d s=%d r=%d %s' % (size, k, stride, rate, padding), False)
    report('own padded/atrous conv + depthwise == numpy direct == tf SAME/atrous_conv2d', conv_ok)

    # 3. Explicit (fixed) padding vs TF SAME for stride-2 3x3 conv.
    for size in (64, 65):
        x = rng.randn(1, size, size, 2)
        w = rng.randn(3, 3, 2, 2)
        pe = b._pad_for(tf.constant(x), 3, 2, 1, 'EXPLICIT')
        ps = b._pad_for(tf.constant(x), 3, 2, 1, 'SAME')
        ye = tf.nn.conv2d(b.pad(tf.constant(x), *pe), w, 2, 'VALID').numpy()
        ys = tf.nn.conv2d(x, w, 2, 'SAME').numpy()
        same = ye.shape == ys.shape and np.allclose(ye, ys)
        expect_same = size % 2 == 1
        report('stride-2 explicit pad %s vs TF SAME %s at %d: %s' % (
            pe[0], ps[0], size, 'equal' if same else 'differ (max |d|=%.3g)' % np.abs(ye - ys).max()),
            same == expect_same)
    # Max-pool SAME via -inf padding vs tf SAME.
    x = rng.randn(1, 10, 10, 3)
    report('max_pool SAME via -inf padding', np.allclose(
        b.max_pool_same(tf.constant(x), 3, 2).numpy(),
        tf.nn.max_pool2d(x, 3, 2, 'SAME').numpy()))

    # 3b. DeepLabv2's ASPP-sum as its prototxt writes it (numpy, pad = dilation) against the
    # official code's get_branch_logits (aspp_with_batch_norm=False, logits_kernel_size=3) on the
    # same random features and weights.
    feats = rng.randn(1, 13, 10, 6)
    v2cfg = {'num_classes': 4, 'atrous_rates': [6, 12, 18, 24], 'logits_kernel_size': 3}
    proto = net.deeplabv2_aspp_sum(net.Builder(net.FormulaParams(), dtype=tf.float64),
                                   tf.constant(feats), v2cfg).numpy()
    official = net.branch_logits(net.Builder(net.FormulaParams(), dtype=tf.float64),
                                 tf.constant(feats), v2cfg, False).numpy()
    report('DeepLabv2 ASPP-sum (prototxt, numpy) == get_branch_logits (3x3, rates 6..24)',
           np.allclose(proto, official, rtol=1e-12, atol=1e-12),
           'max |d| %.3g' % np.abs(proto - official).max())

    # 3c. DeepLab-LargeFOV's Caffe layers (numpy) against PyTorch's definitions of the same
    # layers: MaxPool2d / AvgPool2d with ceil_mode (and count_include_pad) and a dilated Conv2d,
    # on odd and even sizes (even ones show the rounded-up pooling size).
    try:
        import torch
    except ImportError:
        torch = None
        print('[skip] Caffe pooling and dilated conv against PyTorch: no torch here')
    worst = 0.0
    shapes_ok = True
    for h, w in (((9, 9), (10, 7), (12, 12)) if torch is not None else ()):
        x = rng.randn(1, h, w, 4)
        xt = torch.from_numpy(x.transpose(0, 3, 1, 2))
        for k, stride, mode in ((3, 2, 'MAX'), (3, 1, 'MAX'), (3, 1, 'AVE'), (3, 2, 'AVE')):
            ours = net.caffe_pool(x, k, stride, 1, mode)
            pool = (torch.nn.MaxPool2d(k, stride, 1, ceil_mode=True) if mode == 'MAX' else
                    torch.nn.AvgPool2d(k, stride, 1, ceil_mode=True, count_include_pad=True))
            theirs = pool(xt).numpy().transpose(0, 2, 3, 1)
            shapes_ok &= ours.shape == theirs.shape
            if ours.shape == theirs.shape:
                worst = max(worst, np.abs(ours - theirs).max())
        for k, dilation in ((3, 1), (3, 2), (3, 12), (1, 1)):
            wk = rng.randn(k, k, 4, 5)
            bias = rng.randn(5)
            ours = net.caffe_conv(x, wk, bias, dilation * (k // 2), dilation)
            conv = torch.nn.functional.conv2d(
                xt, torch.from_numpy(wk.transpose(3, 2, 0, 1)), torch.from_numpy(bias),
                padding=dilation * (k // 2), dilation=dilation)
            theirs = conv.numpy().transpose(0, 2, 3, 1)
            shapes_ok &= ours.shape == theirs.shape
            if ours.shape == theirs.shape:
                worst = max(worst, np.abs(ours - theirs).max())
    if torch is not None:
        report('Caffe pooling (ceil, AVE counts padding) and dilated conv (numpy) == PyTorch\'s',
               shapes_ok and worst < 1e-12, 'max |d| %.3g' % worst)

    # 4. Own align_corners bilinear (matrices) vs tf.compat.v1 resize_bilinear.
    worst = 0.0
    for (hi, wi), (ho, wo) in (((5, 5), (65, 65)), ((4, 4), (64, 64)), ((16, 16), (16, 16)),
                               ((1, 1), (5, 5)), ((8, 8), (16, 16)), ((3, 7), (11, 5))):
        x = rng.randn(1, hi, wi, 3).astype(np.float32)
        mine = net.Builder(None, tf.float64).resize_bilinear(tf.constant(x, tf.float64), [ho, wo])
        tfr = tf.compat.v1.image.resize_bilinear(x, [ho, wo], align_corners=True).numpy()
        worst = max(worst, np.abs(mine.numpy() - tfr).max())
    report('own bilinear(align_corners) == tf.compat.v1.image.resize_bilinear', worst < 1e-5,
           '(max |d| %.2g)' % worst)

    # 5. Golden cases: float64 (golden) vs float32 with TF resize ops.
    params = net.FormulaParams()
    for name, cfg in CASES.items():
        l64, u64, a64, b64 = run_case(cfg, params, tf.float64, 'matrix')
        l32, u32, a32, _ = run_case(cfg, params, tf.float32, 'tf')
        scale = np.abs(l64).max()
        rel = np.abs(l32 - l64).max() / scale
        agree = (a32 == a64).mean()
        margin = top2_margin(u64)
        low = int((margin < 1e-4 * scale).sum())
        # mobilenet_edgetpu has no decoder end points in the official map, vgg_16 none at all.
        end_point = (None if cfg['variant'] in ('mobilenet_edgetpu', 'vgg_16')
                     else net.decoder_end_point(cfg['variant'], 4))
        feats = {k: list(v.shape) for k, v in b64.endpoints.items() if k == end_point}
        report('%-32s f32 vs f64: max|d|/max|logit| %.2g, argmax agree %.4f, '
               'pixels with top2 margin < 1e-4*scale: %d, low-level %s'
               % (name, rel, agree, low, feats), rel < 1e-3)
        params._cache.clear()

    # 5b. Network level: swapping the padding rule changes even-size goldens only.
    for name, swap in (('xception_65_os16_dec_64', {'EXPLICIT': 'SAME'}),
                       ('resnet_v1_50_beta_os16_dec_64', {'EXPLICIT': 'SAME'}),
                       ('mobilenet_v2_os32_64', {'SAME': 'EXPLICIT'}),
                       ('xception_41_os8_65', {'EXPLICIT': 'SAME'}),
                       ('nas_pnasnet_f8_os16_dec84_64', {'EXPLICIT': 'SAME'})):
        cfg = CASES[name]
        l0, _, a0, _ = run_case(cfg, params)
        l1, _, a1, _ = run_case(cfg, params, padding_override=swap)
        rel = np.abs(l1 - l0).max() / np.abs(l0).max()
        even = cfg['input_size'][0] % 2 == 0
        report('%-32s padding %s: max|d|/max|logit| %.3g, argmax agree %.3f'
               % (name, swap, rel, (a0 == a1).mean()), (rel > 1e-2) if even else (rel < 1e-12))
        params._cache.clear()

    # 6. Frozen graph (export shape) vs golden argmax, incl. padding path.
    for name in frozen_cases:
        cfg = CASES[name]
        path = write_frozen_graph(os.path.join(tmp_dir, name + '.pb'), name)
        h, w = cfg['input_size']
        img = net.formula_image(h, w)
        _, _, gold, _ = run_case(cfg, net.FormulaParams())
        pred = run_frozen_graph(path, img.astype(np.uint8))
        agree = (pred == gold).mean()
        # Smaller image: frozen graph pads with the mean pixel then crops.
        sub = img[:, :h - 7, :w - 3, :]
        pred_small = run_frozen_graph(path, sub.astype(np.uint8))
        padded = np.concatenate([sub, np.broadcast_to(
            np.array(net.mean_pixel(cfg['variant']), np.float32), (1, 7, w - 3, 3))], 1)
        padded = np.concatenate([padded, np.broadcast_to(
            np.array(net.mean_pixel(cfg['variant']), np.float32), (1, h, 3, 3))], 2)
        bb = net.Builder(net.FormulaParams(), tf.float64)
        lg = net.deeplab_logits(bb, tf.constant(padded), cfg)
        ref_small = tf.argmax(bb.resize_bilinear(lg, [h, w]), 3).numpy()[:, :h - 7, :w - 3]
        agree_small = (pred_small == ref_small).mean()
        gd = tf.compat.v1.GraphDef()
        with open(path, 'rb') as f:
            gd.ParseFromString(f.read())
        nodes = {n.name: n for n in gd.node}
        variables = net.model_variables(cfg)
        named = all(n in nodes and nodes[n].op == 'Const' and
                    [d.size for d in nodes[n].attr['value'].tensor.tensor_shape.dim] == list(s)
                    and nodes[n + '/read'].op == 'Identity' for n, s in variables.items())
        ph = nodes['ImageTensor']
        report('frozen graph %s: %d nodes, every model variable is a Const under its name '
               '(+/read), ImageTensor %s %s' % (
                   name, len(nodes), tf.dtypes.as_dtype(ph.attr['dtype'].type).name,
                   [d.size for d in ph.attr['shape'].shape.dim]), named)
        report('frozen graph %s: %.1f MB, SemanticPredictions %s agree %.4f; padded %s agree %.4f'
               % (name, os.path.getsize(path) / 1e6, pred.dtype, agree, list(pred_small.shape),
                  agree_small), agree > 0.999 and agree_small > 0.999)

    # 7. Checkpoint round trip (v2 with extras, v1).
    for fmt, extras in (('v2', True), ('v1', False)):
        case = 'mobilenet_v2_os16_65'
        prefix = write_checkpoint(os.path.join(tmp_dir, 'ckpt_' + fmt), case, fmt, extras)
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
        variables = net.model_variables(CASES[case])
        good = all(np.array_equal(reader.get_tensor(n), net.formula_values(n, s))
                   for n, s in variables.items())
        extra = sorted(set(shapes) - set(variables))
        report('checkpoint %s%s: %d entries, %d extra (%s...), values exact'
               % (fmt, ' +extras' if extras else '', len(shapes), len(extra), extra[:2]), good)
    print('SELF-CHECK', 'PASSED' if ok else 'FAILED')
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--resources', default=DEFAULT_RESOURCES,
                   help='deeplab-core/src/test/resources directory to write into')
    p.add_argument('--case', choices=sorted(CASES))
    p.add_argument('--checkpoint-dir')
    p.add_argument('--format', choices=('v2', 'v1'), default='v2')
    p.add_argument('--with-extras', action='store_true')
    p.add_argument('--frozen-graph')
    p.add_argument('--self-check', action='store_true')
    p.add_argument('--case-manifests', action='store_true',
                   help="write only each golden case's variables.txt")
    p.add_argument('--frozen-check-cases', default='mobilenet_v2_dm05_os8_dec_64,resnet_v1_101_os8_65',
                   help='cases whose frozen graph the self-check builds and runs')
    p.add_argument('--tmp-dir', default='/tmp/deeplab_reference_check')
    args = p.parse_args()

    if args.checkpoint_dir or args.frozen_graph:
        if not args.case:
            p.error('--case is required')
        if args.checkpoint_dir:
            print(write_checkpoint(args.checkpoint_dir, args.case, args.format, args.with_extras))
        if args.frozen_graph:
            print(write_frozen_graph(args.frozen_graph, args.case))
        return 0
    if args.self_check:
        cases = [c for c in args.frozen_check_cases.split(',') if c]
        return 0 if self_check(cases, args.tmp_dir) else 1
    if args.case_manifests:
        print('bytes written: %d' % write_case_manifests(args.resources))
        return 0
    total = write_golden(args.resources, [args.case] if args.case else None)
    total += write_case_manifests(args.resources, [args.case] if args.case else None)
    if not args.case:
        _, mtotal = write_manifests(args.resources)
        total += mtotal
    print('bytes written: %d' % total)
    return 0


if __name__ == '__main__':
    sys.exit(main())
