package dev.deeplab.internal.tflite;

import java.io.IOException;
import java.io.InputStream;

/**
 * The official quantised DeepLabv3 + MobileNetV2 PASCAL VOC TFLite files bundled as classpath
 * resources under {@code /dev/deeplab/models/} (Apache-2.0, from google-coral/test_data; trained by
 * Google for the TensorFlow DeepLab model zoo; see the {@code NOTICE} file next to them).
 */
public enum BundledDeepLabModel {
  /** Depth multiplier 1.0 ({@code mobilenetv2_coco_voc_trainaug}), 2.1 M parameters. */
  MOBILENET_V2_DM10("deeplabv3_mnv2_pascal_quant.tflite"),
  /** Depth multiplier 0.5 ({@code mobilenetv2_dm05_coco_voc_trainaug}), 0.69 M parameters. */
  MOBILENET_V2_DM05("deeplabv3_mnv2_dm05_pascal_quant.tflite");

  /** The classpath directory holding the files and their NOTICE. */
  public static final String RESOURCE_DIR = "/dev/deeplab/models/";

  private final String fileName;

  BundledDeepLabModel(String fileName) {
    this.fileName = fileName;
  }

  /** The file name, e.g. {@code deeplabv3_mnv2_pascal_quant.tflite}. */
  public String fileName() {
    return fileName;
  }

  /** The absolute classpath resource name. */
  public String resourceName() {
    return RESOURCE_DIR + fileName;
  }

  /**
   * The bytes of the bundled file.
   *
   * @throws IOException if the resource is missing from the classpath or cannot be read
   */
  public byte[] readBytes() throws IOException {
    try (InputStream in = BundledDeepLabModel.class.getResourceAsStream(resourceName())) {
      if (in == null) {
        throw new IOException("classpath resource " + resourceName() + " not found");
      }
      return in.readAllBytes();
    }
  }

  /**
   * Imports the bundled file with {@link TfliteDeepLabImporter}.
   *
   * @throws IOException if the resource cannot be read
   * @throws TfliteFormatException if it does not parse (a damaged build)
   */
  public TfliteDeepLabWeights load() throws IOException, TfliteFormatException {
    return TfliteDeepLabImporter.importBytes(readBytes());
  }
}
