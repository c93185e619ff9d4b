package dev.deeplab.model;

/** The backbone families of the official DeepLab feature extractor ({@code core/feature_extractor.py}). */
public enum Family {
  MOBILENET_V2,
  RESNET_V1,
  XCEPTION
}
