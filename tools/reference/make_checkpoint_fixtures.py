"""Writes the tiny checkpoints of deeplab-core's CheckpointIndexTest with Python TensorFlow's own
savers, so the Java checks of checkpoint metadata are tested on files TensorFlow wrote:

  checkpoints/v1/model.ckpt            a V1 checkpoint (tf.compat.v1.train.Saver, write_version V1)
  checkpoints/v2/model.ckpt.{index,data-00000-of-00001}   the same variables as V2

Variables: conv/weights float32 [3,3,2,4] = arange/10, conv/biases float32 [4] = [1,2,3,4],
global_step int64 [] = 7.

    python3 tools/reference/make_checkpoint_fixtures.py [--out deeplab-core/src/test/resources/checkpoints]
"""
import argparse
import os
import shutil

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=os.path.join(ROOT, 'deeplab-core/src/test/resources/checkpoints'))
    args = p.parse_args()
    tf.compat.v1.disable_eager_execution()
    for version, fmt in (('v1', tf.compat.v1.train.SaverDef.V1),
                         ('v2', tf.compat.v1.train.SaverDef.V2)):
        out = os.path.join(args.out, version)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        with tf.Graph().as_default():
            tf.compat.v1.get_variable('conv/weights', initializer=(
                np.arange(72, dtype=np.float32).reshape(3, 3, 2, 4) / 10))
            tf.compat.v1.get_variable('conv/biases', initializer=np.array(
                [1, 2, 3, 4], np.float32))
            tf.compat.v1.get_variable('global_step', initializer=np.int64(7))
            saver = tf.compat.v1.train.Saver(write_version=fmt)
            with tf.compat.v1.Session() as s:
                s.run(tf.compat.v1.global_variables_initializer())
                saver.save(s, os.path.join(out, 'model.ckpt'), write_meta_graph=False,
                           write_state=False)
        print(version, sorted(os.listdir(out)))


if __name__ == '__main__':
    main()
