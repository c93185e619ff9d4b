"""Writes the tiny .caffemodel files of deeplab-core's LargeFovCaffeImporterTest with protobuf's
own Python serializer, so the Java reader (dev.deeplab.internal.caffe.CaffeNet) is tested on files
a real protobuf encoder wrote, not only on those of the test's hand encoder:

  caffe/tiny_v1.caffemodel     NetParameter.layers (V1LayerParameter, type an enum), legacy blob
                               dims num/channels/height/width (biases 1x1x1xN), as Caffe in 2015
  caffe/tiny_layer.caffemodel  NetParameter.layer (LayerParameter, type a string), BlobShape;
                               fc8_voc12's values as double_data, conv1_1's weights with a diff

Layers: conv1_1 (weights [4,3,3,3], bias [4]), relu1_1 (no blobs), fc8_voc12 (weights [2,4,1,1],
bias [2]). Values: 2u-1 of the shared FNV-1a + splitmix64 formula (deeplab_net.formula_uniform)
for the names '<layer>/weights' and '<layer>/biases', as float32; a diff, where written, is all 7s.

The message types are built at run time from a FileDescriptorProto that declares only the fields
read, with the field numbers, types and packed options of BVLC Caffe's src/caffe/proto/caffe.proto.

    python3 tools/reference/make_caffemodel_fixtures.py [--out deeplab-core/src/test/resources/caffe]
"""
import argparse
import os

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from deeplab_net import formula_uniform

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
F = descriptor_pb2.FieldDescriptorProto


def _caffe_messages():
    fd = descriptor_pb2.FileDescriptorProto(name='caffe_subset.proto', package='caffe',
                                            syntax='proto2')

    def message(name, fields):
        m = fd.message_type.add(name=name)
        for fname, number, ftype, label, type_name, packed in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
            if packed:
                f.options.packed = True
        return m

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message('BlobShape', [('dim', 1, F.TYPE_INT64, rep, None, True)])
    message('BlobProto', [
        ('num', 1, F.TYPE_INT64, opt, None, False),
        ('channels', 2, F.TYPE_INT64, opt, None, False),
        ('height', 3, F.TYPE_INT64, opt, None, False),
        ('width', 4, F.TYPE_INT64, opt, None, False),
        ('data', 5, F.TYPE_FLOAT, rep, None, True),
        ('diff', 6, F.TYPE_FLOAT, rep, None, True),
        ('shape', 7, F.TYPE_MESSAGE, opt, '.caffe.BlobShape', False),
        ('double_data', 8, F.TYPE_DOUBLE, rep, None, True),
    ])
    message('LayerParameter', [
        ('name', 1, F.TYPE_STRING, opt, None, False),
        ('type', 2, F.TYPE_STRING, opt, None, False),
        ('bottom', 3, F.TYPE_STRING, rep, None, False),
        ('top', 4, F.TYPE_STRING, rep, None, False),
        ('blobs', 7, F.TYPE_MESSAGE, rep, '.caffe.BlobProto', False),
    ])
    v1 = message('V1LayerParameter', [
        ('bottom', 2, F.TYPE_STRING, rep, None, False),
        ('top', 3, F.TYPE_STRING, rep, None, False),
        ('name', 4, F.TYPE_STRING, opt, None, False),
        ('type', 5, F.TYPE_ENUM, opt, '.caffe.V1LayerParameter.LayerType', False),
        ('blobs', 6, F.TYPE_MESSAGE, rep, '.caffe.BlobProto', False),
    ])
    enum = v1.enum_type.add(name='LayerType')
    for name, number in (('NONE', 0), ('CONVOLUTION', 4), ('RELU', 18)):
        enum.value.add(name=name, number=number)
    message('NetParameter', [
        ('name', 1, F.TYPE_STRING, opt, None, False),
        ('layers', 2, F.TYPE_MESSAGE, rep, '.caffe.V1LayerParameter', False),
        ('input', 3, F.TYPE_STRING, rep, None, False),
        ('input_dim', 4, F.TYPE_INT64, rep, None, False),
        ('layer', 100, F.TYPE_MESSAGE, rep, '.caffe.LayerParameter', False),
    ])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName('caffe.NetParameter'))


LAYERS = (('conv1_1', (4, 3, 3, 3)), ('relu1_1', None), ('fc8_voc12', (2, 4, 1, 1)))


def values(name, n):
    return (2.0 * formula_uniform(name, n) - 1.0).astype(np.float32)


def fill_blob(blob, shape, vals, legacy, doubles, diff):
    if legacy:
        four = (1,) * (4 - len(shape)) + tuple(shape)
        blob.num, blob.channels, blob.height, blob.width = four
    else:
        blob.shape.dim.extend(shape)
    if doubles:
        blob.double_data.extend(vals.astype(np.float64).tolist())
    else:
        blob.data.extend(vals.tolist())
    if diff:
        blob.diff.extend([7.0] * len(vals))


def build(net_cls, v1):
    net = net_cls(name='DeepLab-LargeFOV', input=['data'], input_dim=[1, 3, 513, 513])
    for name, wshape in LAYERS:
        layer = net.layers.add() if v1 else net.layer.add()
        layer.name = name
        layer.bottom.append('x')
        layer.top.append(name)
        if wshape is None:
            layer.type = 18 if v1 else 'ReLU'
            continue
        layer.type = 4 if v1 else 'Convolution'
        doubles = not v1 and name == 'fc8_voc12'
        w = values(name + '/weights', int(np.prod(wshape)))
        b = values(name + '/biases', wshape[0])
        fill_blob(layer.blobs.add(), wshape, w, v1, doubles, diff=not v1 and name == 'conv1_1')
        fill_blob(layer.blobs.add(), (wshape[0],), b, v1, doubles, diff=False)
    return net


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=os.path.join(ROOT, 'deeplab-core/src/test/resources/caffe'))
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    net_cls = _caffe_messages()
    for v1, file in ((True, 'tiny_v1.caffemodel'), (False, 'tiny_layer.caffemodel')):
        data = build(net_cls, v1).SerializeToString()
        with open(os.path.join(args.out, file), 'wb') as f:
            f.write(data)
        print('%s: %d bytes' % (file, len(data)))


if __name__ == '__main__':
    main()
