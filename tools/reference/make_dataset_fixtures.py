#!/usr/bin/env python3
"""Tiny Cityscapes, ADE20K and TFRecord fixture datasets for the Java dataset readers.

Turns the four voc-mini photos (deeplab-core/src/test/resources/voc-mini) into:

  datasets/cityscapes/   leftImg8bit/<split>/<city>/<name>_leftImg8bit.png, 128x64 RGB PNGs, with
                         gtFine/<split>/<city>/<name>_gtFine_labelIds.png (real Cityscapes label
                         ids) for every image and _gtFine_labelTrainIds.png for some of them,
                         mapped with the table of cityscapesScripts labels.py typed in below.
  datasets/ade20k/ADEChallengeData2016/
                         images/{training,validation}/*.jpg (96x72) and
                         annotations/{training,validation}/*.png with ADE20K class ids, 0 =
                         "other" (unlabelled) on the VOC void boundary and a left band.
  datasets/tfrecord/     the Cityscapes fixture as build_cityscapes_data.py would convert it:
                         train_fine-0000{0,1}-of-00002.tfrecord and val_fine-00000-of-00001.tfrecord,
                         tf.train.Examples with the build_data.py keys, written by
                         tf.io.TFRecordWriter (the PNG bytes are the committed files' bytes).

Usage (from the repository root, with Pillow, numpy and TensorFlow 2.x):
  python3 tools/reference/make_dataset_fixtures.py
The output is deterministic; it replaces deeplab-core/src/test/resources/datasets/.
"""
import os
import shutil

import numpy as np
import tensorflow as tf
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VOC = os.path.join(ROOT, 'deeplab-core/src/test/resources/voc-mini')
OUT = os.path.join(ROOT, 'deeplab-core/src/test/resources/datasets')

# cityscapesScripts helpers/labels.py: label id -> train id for the 19 evaluated classes;
# every other id (0..6, 9, 10, 14, 15, 16, 18, 29, 30, license plate -1) -> 255.
EVALUATED = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10,
             24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}


def train_ids(label_ids):
  out = np.full(label_ids.shape, 255, np.uint8)
  for label_id, train_id in EVALUATED.items():
    out[label_ids == label_id] = train_id
  return out


def voc(name, size):
  """A voc-mini photo (bilinear) and label (nearest) resized to size = (width, height)."""
  photo = Image.open(os.path.join(VOC, 'JPEGImages', name + '.jpg')).convert('RGB')
  label = Image.open(os.path.join(VOC, 'SegmentationClass', name + '.png'))
  return (photo.resize(size, Image.BILINEAR),
          np.array(label.resize(size, Image.NEAREST), dtype=np.uint8))


def cityscapes_label_ids(voc_label, plate):
  """Real Cityscapes label ids: sky/building/road bands behind the VOC objects, void stripes."""
  h, w = voc_label.shape
  ids = np.zeros((h, w), np.uint8)
  ids[:h // 3] = 23                  # sky
  ids[h // 3:2 * h // 3] = 11        # building
  ids[2 * h // 3:] = 7               # road
  ids[2 * h // 3:, :w // 4] = 8      # sidewalk
  for k, void in enumerate([1, 2, 3, 4, 5, 6, 9, 10, 14, 15, 16, 18, 29, 30]):
    ids[h - 1, k * 4:(k + 1) * 4] = void   # ignored classes along the bottom row
  ids[voc_label == 1] = 26           # aeroplane -> car
  ids[voc_label == 17] = 24          # sheep -> person
  ids[voc_label == 255] = 0          # void boundary -> unlabeled
  if plate:
    ids[h - 2, w - 8:] = 255         # license plate, id -1 as an unsigned byte
  return ids


CITYSCAPES = [  # split, city, name, voc image, also write labelTrainIds
    ('train', 'aachen', 'aachen_000000_000019', 'voc_val_0000', True),
    ('train', 'aachen', 'aachen_000001_000019', 'voc_val_0001', False),
    ('train', 'bremen', 'bremen_000000_000019', 'voc_val_0020', True),
    ('val', 'frankfurt', 'frankfurt_000000_000294', 'voc_val_0020', False),
    ('val', 'frankfurt', 'frankfurt_000001_000538', 'voc_val_0023', True),
]


def make_cityscapes():
  root = os.path.join(OUT, 'cityscapes')
  for split, city, name, source, with_train_ids in CITYSCAPES:
    photo, label = voc(source, (128, 64))
    ids = cityscapes_label_ids(label, plate=name.startswith('aachen_000001'))
    image_dir = os.path.join(root, 'leftImg8bit', split, city)
    label_dir = os.path.join(root, 'gtFine', split, city)
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(label_dir, exist_ok=True)
    photo.save(os.path.join(image_dir, name + '_leftImg8bit.png'))
    Image.fromarray(ids, 'L').save(os.path.join(label_dir, name + '_gtFine_labelIds.png'))
    if with_train_ids:
      Image.fromarray(train_ids(ids), 'L').save(
          os.path.join(label_dir, name + '_gtFine_labelTrainIds.png'))


ADE20K = [  # folder, name, voc image
    ('training', 'ADE_train_00000001', 'voc_val_0000'),
    ('training', 'ADE_train_00000002', 'voc_val_0001'),
    ('training', 'ADE_train_00000003', 'voc_val_0020'),
    ('validation', 'ADE_val_00000001', 'voc_val_0023'),
    ('validation', 'ADE_val_00000002', 'voc_val_0001'),
]


def make_ade20k():
  root = os.path.join(OUT, 'ade20k', 'ADEChallengeData2016')
  for folder, name, source in ADE20K:
    photo, label = voc(source, (96, 72))
    h, w = label.shape
    ids = np.full((h, w), 3, np.uint8)   # sky
    ids[h // 2:] = 10                    # grass
    ids[label == 1] = 91                 # aeroplane -> airplane
    ids[label == 17] = 127               # sheep -> animal
    ids[label == 255] = 0                # void boundary -> other (unlabelled)
    ids[:, :6] = 0                       # an unlabelled band
    for sub in ('images', 'annotations'):
      os.makedirs(os.path.join(root, sub, folder), exist_ok=True)
    photo.save(os.path.join(root, 'images', folder, name + '.jpg'), quality=90)
    Image.fromarray(ids, 'L').save(os.path.join(root, 'annotations', folder, name + '.png'))


def feature_bytes(value):
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def feature_int(value):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))


def make_tfrecords():
  """The Cityscapes fixture in the schema of build_data.image_seg_to_tfexample."""
  root = os.path.join(OUT, 'cityscapes')
  out = os.path.join(OUT, 'tfrecord')
  os.makedirs(out, exist_ok=True)
  for split, shards in (('train', 2), ('val', 1)):
    items = [c for c in CITYSCAPES if c[0] == split]
    per_shard = -(-len(items) // shards)
    for shard in range(shards):
      path = os.path.join(out, '%s_fine-%05d-of-%05d.tfrecord' % (split, shard, shards))
      with tf.io.TFRecordWriter(path) as writer:
        for _, city, name, _, _ in items[shard * per_shard:(shard + 1) * per_shard]:
          image_file = os.path.join(root, 'leftImg8bit', split, city, name + '_leftImg8bit.png')
          label_ids = np.array(Image.open(
              os.path.join(root, 'gtFine', split, city, name + '_gtFine_labelIds.png')))
          label_file = os.path.join(out, 'labels', name + '_gtFine_labelTrainIds.png')
          os.makedirs(os.path.dirname(label_file), exist_ok=True)
          Image.fromarray(train_ids(label_ids), 'L').save(label_file)
          image = open(image_file, 'rb').read()
          width, height = Image.open(image_file).size
          example = tf.train.Example(features=tf.train.Features(feature={
              'image/encoded': feature_bytes(image),
              'image/filename': feature_bytes(name.encode()),
              'image/format': feature_bytes(b'png'),
              'image/height': feature_int(height),
              'image/width': feature_int(width),
              'image/channels': feature_int(3),
              'image/segmentation/class/encoded': feature_bytes(open(label_file, 'rb').read()),
              'image/segmentation/class/format': feature_bytes(b'png'),
          }))
          writer.write(example.SerializeToString())


def main():
  if os.path.isdir(OUT):
    shutil.rmtree(OUT)
  make_cityscapes()
  make_ade20k()
  make_tfrecords()
  total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
  print('wrote %s (%d bytes)' % (OUT, total))


if __name__ == '__main__':
  main()
