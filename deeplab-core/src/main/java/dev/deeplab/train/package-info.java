/**
 * Training DeepLab in Java, following the official recipe of {@code research/deeplab/train.py}
 * and {@code utils/train_utils.py} (tensorflow/models): random scale / pad / crop / flip input
 * pipeline, per-pixel softmax cross-entropy on upsampled logits with the ignore label masked out
 * and optional hard-pixel mining, {@code wd * l2_loss} weight decay, poly learning rate with
 * momentum 0.9, biases with a ×2 gradient multiplier, data-parallel replicas sharing one set of
 * variables, atomic resumable checkpoints, TensorBoard event files.
 *
 * <p>The whole training graph (replicas, loss, gradients, optimizer, checkpoint ops, evaluation
 * network) is built once by {@link dev.deeplab.internal.train.TrainingGraph} before the loop of {@link
 * dev.deeplab.train.Trainer}; the loop only feeds and runs it. It is designed around the traps
 * of TensorFlow Java 1.1.0: no sparse cross-entropy (its gradient is missing), no custom
 * gradients, no {@code Optimizer.minimize}, atrous convs through space-to-batch.
 */
package dev.deeplab.train;

