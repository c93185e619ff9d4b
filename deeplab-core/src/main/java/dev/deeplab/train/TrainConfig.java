package dev.deeplab.train;

import dev.deeplab.image.ResizeToRange;
import dev.deeplab.internal.train.PolyLearningRate;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant.Family;
import java.util.List;

/**
 * What is trained and how: the architecture and every hyper-parameter that changes the numbers.
 * A run resumed from a checkpoint must use the same configuration. Defaults follow the official
 * {@code research/deeplab/train.py} flags (see {@link #builder}).
 *
 * <p>Immutable and thread-safe; its {@link Builder} is not thread-safe.
 *
 * @param model the architecture; its crop size is the training crop ({@code train_crop_size})
 * @param steps total training steps ({@code training_number_of_steps})
 * @param batchSize global batch size, split evenly over the devices ({@code train_batch_size})
 * @param baseLearningRate {@code base_learning_rate} of the poly policy
 * @param learningPower {@code learning_power} (0.9)
 * @param slowStartSteps {@code slow_start_step}
 * @param slowStartLearningRate {@code slow_start_learning_rate}
 * @param momentum {@code momentum} of the momentum optimizer (0.9)
 * @param weightDecay {@code weight_decay}: the loss gains {@code weightDecay * sum(l2_loss(w))}
 *     over the conv {@code weights}
 * @param fineTuneBatchNorm batch norm uses batch statistics and updates its moving averages
 *     ({@code fine_tune_batch_norm}); otherwise it runs in inference mode
 * @param dropout the ASPP dropout (keep 0.9) is active; may only be turned off together with
 *     {@code fineTuneBatchNorm} (the network has one training switch for both)
 * @param loss the loss weighting
 * @param augmentation the random input augmentation
 * @param devices one replica per device, e.g. {@code /device:CPU:0}; empty for one replica with
 *     TensorFlow's default placement
 * @param seed seed of the initialisers, the input pipeline and dropout
 * @param resize the resize applied to each sample before the augmentation ({@code
 *     resize_to_range}; {@link ResizeToRange#none()} by default)
 */
public record TrainConfig(
    ModelConfig model,
    int steps,
    int batchSize,
    double baseLearningRate,
    double learningPower,
    int slowStartSteps,
    double slowStartLearningRate,
    double momentum,
    double weightDecay,
    boolean fineTuneBatchNorm,
    boolean dropout,
    LossConfig loss,
    Augmentation augmentation,
    List<String> devices,
    long seed,
    ResizeToRange resize) {

  /** Validates the combination; messages name the offending setting. */
  public TrainConfig {
    if (model == null || loss == null || augmentation == null || resize == null) {
      throw new IllegalArgumentException("model, loss, augmentation and resize are required");
    }
    devices = List.copyOf(devices);
    if (steps < 1) {
      throw new IllegalArgumentException("steps must be positive, got " + steps);
    }
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
    }
    if (batchSize % replicas(devices) != 0) {
      throw new IllegalArgumentException("batch size " + batchSize + " does not split evenly over "
          + devices.size() + " devices");
    }
    if (!(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
    }
    if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
      throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
    }
    if (!dropout && fineTuneBatchNorm) {
      throw new IllegalArgumentException(
          "dropout can only be turned off together with batch-norm fine-tuning");
    }
    if (!loss.classWeights().isEmpty() && loss.classWeights().size() != model.numClasses()) {
      throw new IllegalArgumentException("got " + loss.classWeights().size()
          + " class weights for " + model.numClasses() + " classes");
    }
    new PolyLearningRate(baseLearningRate, steps, learningPower, slowStartSteps,
        slowStartLearningRate);
  }

  private static int replicas(List<String> devices) {
    return Math.max(1, devices.size());
  }

  /** Number of model replicas (1 when no devices are named). */
  public int replicas() {
    return replicas(devices);
  }

  /** Images per replica per step. */
  public int replicaBatchSize() {
    return batchSize / replicas();
  }

  /**
   * The learning rate at {@code step}: the official "poly" policy, {@code base * (1 - s / d)^power}
   * with {@code s = max(step - slowStart, 0)} and {@code d = steps - slowStart}, and the slow-start
   * rate before {@code slowStartSteps}.
   */
  public double learningRateAt(long step) {
    return PolyLearningRate.of(this).at(step);
  }

  /**
   * The weight decay the official code recommends for a backbone: 1e-4 for ResNet, 4e-5 for
   * MobileNetV2 and Xception ({@code train.py} flag comment).
   */
  public static double defaultWeightDecay(ModelConfig model) {
    return model.variant().family() == Family.RESNET_V1 ? 1e-4 : 4e-5;
  }

  /**
   * A builder with the official defaults: base rate 0.007 (the VOC {@code train_aug} recipe),
   * power 0.9, no slow start, momentum 0.9, {@link #defaultWeightDecay}, batch-norm fine-tuning
   * and dropout on, {@link LossConfig#defaults()}, {@link Augmentation#official()}, one replica,
   * seed 0, no resize.
   */
  public static Builder builder(ModelConfig model) {
    return new Builder(model);
  }

  /** A builder starting from this configuration. */
  public Builder toBuilder() {
    Builder b = new Builder(model);
    b.steps = steps;
    b.batchSize = batchSize;
    b.baseLearningRate = baseLearningRate;
    b.learningPower = learningPower;
    b.slowStartSteps = slowStartSteps;
    b.slowStartLearningRate = slowStartLearningRate;
    b.momentum = momentum;
    b.weightDecay = weightDecay;
    b.fineTuneBatchNorm = fineTuneBatchNorm;
    b.dropout = dropout;
    b.loss = loss;
    b.augmentation = augmentation;
    b.devices = devices;
    b.seed = seed;
    b.resize = resize;
    return b;
  }

  /** Mutable builder of {@link TrainConfig}; {@link #build} validates. */
  public static final class Builder {
    private ModelConfig model;
    private int steps = 30000;
    private int batchSize = 8;
    private double baseLearningRate = 0.007;
    private double learningPower = 0.9;
    private int slowStartSteps = 0;
    private double slowStartLearningRate = 1e-4;
    private double momentum = 0.9;
    private double weightDecay;
    private boolean fineTuneBatchNorm = true;
    private boolean dropout = true;
    private LossConfig loss = LossConfig.defaults();
    private Augmentation augmentation = Augmentation.official();
    private List<String> devices = List.of();
    private long seed = 0;
    private ResizeToRange resize = ResizeToRange.none();

    private Builder(ModelConfig model) {
      this.model = model;
      this.weightDecay = defaultWeightDecay(model);
    }

    public Builder model(ModelConfig m) {
      model = m;
      return this;
    }

    public Builder steps(int n) {
      steps = n;
      return this;
    }

    public Builder batchSize(int n) {
      batchSize = n;
      return this;
    }

    public Builder baseLearningRate(double r) {
      baseLearningRate = r;
      return this;
    }

    public Builder learningPower(double p) {
      learningPower = p;
      return this;
    }

    public Builder slowStart(int stepsCount, double rate) {
      slowStartSteps = stepsCount;
      slowStartLearningRate = rate;
      return this;
    }

    public Builder momentum(double m) {
      momentum = m;
      return this;
    }

    public Builder weightDecay(double wd) {
      weightDecay = wd;
      return this;
    }

    public Builder fineTuneBatchNorm(boolean on) {
      fineTuneBatchNorm = on;
      return this;
    }

    public Builder dropout(boolean on) {
      dropout = on;
      return this;
    }

    public Builder loss(LossConfig l) {
      loss = l;
      return this;
    }

    public Builder augmentation(Augmentation a) {
      augmentation = a;
      return this;
    }

    public Builder devices(List<String> d) {
      devices = d;
      return this;
    }

    public Builder seed(long s) {
      seed = s;
      return this;
    }

    public Builder resize(ResizeToRange r) {
      resize = r;
      return this;
    }

    public TrainConfig build() {
      return new TrainConfig(model, steps, batchSize, baseLearningRate, learningPower,
          slowStartSteps, slowStartLearningRate, momentum, weightDecay, fineTuneBatchNorm, dropout,
          loss, augmentation, devices, seed, resize);
    }
  }
}
