package dev.deeplab.infer;

/**
 * Class ids and class probabilities of one image from a single run of the network ({@link
 * Segmenter#segmentWithProbabilities}); the official export's {@code semantic} and {@code
 * probabilities} outputs at the image's size.
 *
 * @param segmentation the class ids
 * @param probabilities {@code [height, width, classes]} row-major softmax probabilities
 */
public record SegmentationWithProbabilities(Segmentation segmentation, float[] probabilities) {}
