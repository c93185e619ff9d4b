/**
 * A small, hand-written TFLite reader and an importer for the official quantised DeepLabv3 +
 * MobileNetV2 PASCAL VOC models.
 *
 * <p>{@link dev.deeplab.internal.tflite.TfliteModel} decodes a {@code .tflite} flatbuffer (TFLite schema
 * {@code tensorflow/compiler/mlir/lite/schema/schema.fbs}, identifier {@code TFL3}) over {@link
 * com.google.flatbuffers.Table} with every offset bounds-checked, listing tensors, operators and
 * buffers; {@link dev.deeplab.internal.tflite.TfliteDequantizer} turns quantised buffers into floats.
 * {@link dev.deeplab.internal.tflite.TfliteDeepLabImporter} maps the DeepLab graph onto the official
 * TensorFlow DeepLab variable names ({@code research/deeplab/model.py} and TF-slim's {@code
 * mobilenet_v2.py}) and TF layouts. Malformed input raises the checked {@link
 * dev.deeplab.internal.tflite.TfliteFormatException}.
 *
 * <p>Facts about the bundled files worth knowing when running the weights elsewhere: filters are
 * uint8 with one scale per tensor, biases int32 with scale = input scale × filter scale; the input
 * is uint8 with scale 1/128 and zero point 128 ({@code q/128 − 1}, within one step of the official
 * {@code x/127.5 − 1}); the backbone convs use TF SAME padding (stride-2 layers included); {@code
 * expanded_conv_13} runs at stride 1 and {@code expanded_conv_14..16} depthwise at dilation 2
 * (output stride 16); activations are fused (ReLU6 in the backbone except the linear {@code
 * project} layers, ReLU in the head); image pooling is a 33×33 VALID AVERAGE_POOL_2D, not a global
 * mean; the logits pass through an identity 33→33 RESIZE_BILINEAR before the 513×513 one, all with
 * {@code align_corners=true}.
 */
package dev.deeplab.internal.tflite;

