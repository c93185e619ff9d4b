package dev.deeplab.internal.backbone;

import dev.deeplab.internal.nn.BatchNormSpec;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.Padding;
import dev.deeplab.internal.nn.Role;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.types.TFloat32;

/**
 * One searched cell of the DeepLab NAS backbones ({@code core/nas_cell.NASBaseCell}, genotypes
 * of {@code core/nas_genotypes.py} and {@code nas_network.hnasnet}; Zoph et al., "Learning
 * Transferable Architectures for Scalable Image Recognition", CVPR 2018): the two inputs brought
 * to the cell's filters ({@code 1x1} / {@code beginning_bn}, {@code prev_1x1} / {@code prev_bn}),
 * five combinations {@code comb_iter_i} that each add two operations ({@code left}, {@code right})
 * on earlier states, and the concatenation of the five sums. A reduction cell (stride 2) strides
 * only the operations that read the two inputs.
 *
 * <p>Drop path ({@code _apply_drop_path}) is the identity here: the official code sets {@code
 * drop_path_keep_prob} to 1 outside training, and training uses it only with batch norm
 * fine-tuning and a keep probability below the flag's default of 1.
 */
public final class NasCell {

  /** An operation of the genotype, by its official name ({@code separable_5x5_2}, ...). */
  record Operation(Kind kind, int kernel, int layers) {
    enum Kind {
      SEPARABLE,
      ATROUS,
      MAX_POOL,
      NONE
    }

    static Operation separable(int kernel) {
      return new Operation(Kind.SEPARABLE, kernel, 2);
    }

    static Operation atrous(int kernel) {
      return new Operation(Kind.ATROUS, kernel, 1);
    }

    static Operation maxPool3x3() {
      return new Operation(Kind.MAX_POOL, 3, 1);
    }

    static Operation none() {
      return new Operation(Kind.NONE, 1, 1);
    }
  }

  /**
   * The cell's wiring: operation {@code 2i} and {@code 2i+1} of combination {@code i} read
   * states {@code inputs[2i]} and {@code inputs[2i+1]} (0: the cell input, 1: the previous cell's
   * input, 2..: earlier combinations). Both genotypes leave states 0 and 1 out of the output.
   */
  record Genotype(List<Operation> operations, List<Integer> inputs) {}

  /** PNASNet-5's cell ({@code nas_genotypes.PNASCell}). */
  static final Genotype PNASNET = new Genotype(
      List.of(Operation.separable(5), Operation.maxPool3x3(), Operation.separable(7),
          Operation.maxPool3x3(), Operation.separable(5), Operation.separable(3),
          Operation.separable(3), Operation.maxPool3x3(), Operation.separable(3),
          Operation.none()),
      List.of(1, 1, 0, 0, 0, 0, 4, 0, 1, 0));

  /** Auto-DeepLab's cell ({@code nas_network.hnasnet}). */
  static final Genotype HNASNET = new Genotype(
      List.of(Operation.atrous(5), Operation.separable(3), Operation.separable(3),
          Operation.atrous(3), Operation.separable(3), Operation.separable(3),
          Operation.separable(5), Operation.separable(5), Operation.separable(5),
          Operation.atrous(5)),
      List.of(1, 0, 1, 0, 3, 1, 4, 2, 3, 5));

  private final Genotype genotype;
  private final BatchNormSpec bn;
  private final Initializer init;

  private NasCell(Genotype genotype, BatchNormSpec bn, Initializer init) {
    this.genotype = genotype;
    this.bn = bn;
    this.init = init;
  }

  /** The cell of {@code variant} ({@code nas_pnasnet} or {@code nas_hnasnet}). */
  public static NasCell of(ModelVariant variant, BatchNormSpec bn, Initializer init) {
    return new NasCell(variant == ModelVariant.NAS_HNASNET ? HNASNET : PNASNET, bn, init);
  }

  /**
   * Builds the cell in {@code cell} ({@code cell_i}).
   *
   * @param x the cell input
   * @param previous the input of the cell before (resized to {@code x} if its size differs)
   * @param filters the filters of every operation
   * @param stride 2 for a reduction cell
   */
  public Operand<TFloat32> build(NetScope cell, Operand<TFloat32> x, Operand<TFloat32> previous,
      int filters, int stride) {
    Ops tf = cell.tf();
    if (previous.shape().size(2) != x.shape().size(2)) {
      previous = resize(tf, previous, x.shape().size(1), x.shape().size(2));
    }
    if (previous.shape().size(3) != filters) {
      previous = Conv.conv(filters, 1).init(init).apply(cell, "prev_1x1", tf.nn.relu(previous));
      previous = bn.applyIn(cell.child("prev_bn"), previous);
    }
    Operand<TFloat32> h = Conv.conv(filters, 1).init(init).apply(cell, "1x1", tf.nn.relu(x));
    List<Operand<TFloat32>> states = new ArrayList<>();
    states.add(bn.applyIn(cell.child("beginning_bn"), h));
    states.add(previous);
    List<Operation> ops = genotype.operations();
    for (int i = 0; i < ops.size() / 2; i++) {
      NetScope comb = cell.child("comb_iter_" + i);
      Operand<TFloat32> left = operation(comb.child("left"), states, 2 * i, filters, stride);
      Operand<TFloat32> right = operation(comb.child("right"), states, 2 * i + 1, filters,
          stride);
      states.add(comb.child("combine").tf().math.add(left, right));
    }
    return cell.child("cell_output").tf().concat(states.subList(2, states.size()),
        tf.constant(3));
  }

  /** Operation {@code index} on its input state; only the cell's two inputs are strided. */
  private Operand<TFloat32> operation(NetScope s, List<Operand<TFloat32>> states, int index,
      int filters, int cellStride) {
    int input = genotype.inputs().get(index);
    Operation op = genotype.operations().get(index);
    Operand<TFloat32> x = states.get(input);
    int stride = input < 2 ? cellStride : 1;
    Ops tf = s.tf();
    String k = op.kernel() + "x" + op.kernel();
    switch (op.kind()) {
      case SEPARABLE -> {
        for (int layer = 1; layer <= op.layers(); layer++) {
          x = separable(s.child("separable_" + k + "_" + layer), tf.nn.relu(x), filters,
              op.kernel(), layer == 1 ? stride : 1);
          x = bn.applyIn(s.child("bn_sep_" + k + "_" + layer), x);
        }
      }
      case ATROUS -> {
        x = tf.nn.relu(x);
        Conv conv = Conv.conv(filters, op.kernel()).init(init);
        if (stride == 2) {
          x = resize(tf, x, ModelConfig.scaleDimension((int) x.shape().size(1), 0.5),
              ModelConfig.scaleDimension((int) x.shape().size(2), 0.5));
        } else {
          conv = conv.rate(2);
        }
        x = bn.applyIn(s.child("bn_atr_" + k), conv.apply(s, "atrous_" + k, x));
      }
      case MAX_POOL -> {
        x = tf.nn.maxPool(x, tf.constant(new int[] {1, 3, 3, 1}),
            tf.constant(new int[] {1, stride, stride, 1}), "SAME");
        if (x.shape().size(3) != filters) {
          x = bn.applyIn(s.child("bn_1"), Conv.conv(filters, 1).init(init).apply(s, "1x1", x));
        }
      }
      case NONE -> {
        if (stride > 1 || x.shape().size(3) != filters) {
          x = Conv.conv(filters, 1).stride(stride).init(init).apply(s, "1x1", tf.nn.relu(x));
          x = bn.applyIn(s.child("bn_1"), x);
        }
      }
    }
    return x;
  }

  /**
   * {@code slim.separable_conv2d} with {@code num_outputs}: a depthwise conv ({@code
   * depthwise_weights}) then a 1×1 conv ({@code pointwise_weights}) in one scope, no bias; a
   * strided one pads as {@code separable_conv2d_same} does (the official fixed padding).
   */
  private Operand<TFloat32> separable(NetScope s, Operand<TFloat32> x, int filters, int kernel,
      int stride) {
    Operand<TFloat32> d = Conv.depthwise(kernel).stride(stride).padding(Padding.EXPLICIT)
        .init(init).applyIn(s, x);
    Operand<TFloat32> w = s.value("pointwise_weights",
        new long[] {1, 1, d.shape().size(3), filters}, init, Role.WEIGHTS);
    return s.tf().nn.conv2d(d, w, List.of(1L, 1L, 1L, 1L), "VALID");
  }

  /** {@code utils.resize_bilinear}: align-corners bilinear to {@code h × w}. */
  public static Operand<TFloat32> resize(Ops tf, Operand<TFloat32> x, long h, long w) {
    return tf.image.resizeBilinear(x, tf.constant(new int[] {(int) h, (int) w}),
        ResizeBilinear.alignCorners(true));
  }
}
