package dev.deeplab.internal.weights;

/** Shape formatting shared by everything that prints tensors for users. */
public final class Shapes {
  private Shapes() {}

  /** The shape as {@code [d0,d1,...]} (no spaces), the form {@code deeplab inspect} prints. */
  public static String format(long[] shape) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < shape.length; i++) {
      sb.append(i == 0 ? "" : ",").append(shape[i]);
    }
    return sb.append(']').toString();
  }
}
