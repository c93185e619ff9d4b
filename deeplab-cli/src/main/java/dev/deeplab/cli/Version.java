package dev.deeplab.cli;

import org.tensorflow.TensorFlow;
import picocli.CommandLine;

/** Prints our version and the TensorFlow runtime's. */
final class Version implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = Version.class.getPackage().getImplementationVersion();
    return new String[] {
      "deeplab " + (v == null ? "(development build)" : v),
      "TensorFlow " + TensorFlow.version()
    };
  }
}
