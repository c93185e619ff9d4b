package dev.deeplab.train;

import dev.deeplab.image.ResizeToRange;
import dev.deeplab.internal.torch.TorchNetworks;
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
 * @param learningRate the learning-rate policy ({@code learning_policy} and its flags)
 * @param optimizer momentum (the official default) or Adam
 * @param weightDecay {@code weight_decay}: the loss gains {@code weightDecay * sum(l2_loss(w))}
 *     over the conv {@code weights}
 * @param lastLayerGradientMultiplier {@code last_layer_gradient_multiplier}: the gradients of
 *     the last layers are multiplied by it (their biases by twice it)
 * @param lastLayersContainLogitsOnly {@code last_layers_contain_logits_only}: the last layers are
 *     {@code logits} only, not the whole head ({@code image_pooling}, {@code aspp}, {@code
 *     concat_projection}, {@code decoder}, {@code meta_architecture}); also what {@code
 *     initialize_last_layer=false} re-initialises
 * @param fineTuneBatchNorm batch norm uses batch statistics and updates its moving averages
 *     ({@code fine_tune_batch_norm}); otherwise it runs in inference mode
 * @param dropout the ASPP dropout (keep 0.9) is active; the official code always has it in
 *     training, turning it off makes a step deterministic (as the parity tests need)
 * @param loss the loss weighting
 * @param augmentation the random input augmentation
 * @param devices one replica per device, e.g. {@code /device:CPU:0}, or on a cluster {@code
 *     /job:worker/replica:0/task:1/device:CPU:0} ({@link ClusterSpec#replicaDevices}); empty for
 *     one replica with TensorFlow's default placement
 * @param seed seed of the initialisers, the input pipeline and dropout
 * @param resize the resize applied to each sample before the augmentation ({@code
 *     resize_to_range}; {@link ResizeToRange#none()} by default)
 */
public record TrainConfig(
    ModelConfig model,
    int steps,
    int batchSize,
    LearningRateSchedule learningRate,
    Optimizer optimizer,
    double weightDecay,
    double lastLayerGradientMultiplier,
    boolean lastLayersContainLogitsOnly,
    boolean fineTuneBatchNorm,
    boolean dropout,
    LossConfig loss,
    Augmentation augmentation,
    List<String> devices,
    long seed,
    ResizeToRange resize) {

  /** Validates the combination; messages name the offending setting. */
  public TrainConfig {
    if (model == null || loss == null || augmentation == null || learningRate == null
        || optimizer == null || resize == null) {
      throw new IllegalArgumentException(
          "model, learning rate, optimizer, loss, augmentation and resize are required");
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
    if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
      throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
    }
    if (!(lastLayerGradientMultiplier >= 0) || Double.isInfinite(lastLayerGradientMultiplier)) {
      throw new IllegalArgumentException("last layer gradient multiplier must be >= 0, got "
          + lastLayerGradientMultiplier);
    }
    if (!loss.classWeights().isEmpty() && loss.classWeights().size() != model.numClasses()) {
      throw new IllegalArgumentException("got " + loss.classWeights().size()
          + " class weights for " + model.numClasses() + " classes");
    }
    learningRate.checkFor(steps);
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
   * The learning rate at {@code step}: the {@link #learningRate} schedule over this run's steps,
   * or Adam's constant rate.
   */
  public double learningRateAt(long step) {
    return optimizer.kind() == Optimizer.Kind.ADAM ? optimizer.adamLearningRate()
        : learningRate.at(step, steps);
  }

  /** The base rate of the schedule ({@code base_learning_rate}). */
  public double baseLearningRate() {
    return learningRate.baseRate();
  }

  /**
   * The scopes the official {@code model.get_extra_layer_scopes} calls the last layers: those
   * the gradient multiplier applies to and {@code initialize_last_layer=false} re-initialises;
   * for the PyTorch networks the classifier conv(s), or the whole {@code classifier} head.
   */
  public List<String> lastLayers() {
    if (model.variant().family() == Family.PYTORCH) {
      return TorchNetworks.lastLayers(model.variant(), lastLayersContainLogitsOnly);
    }
    return lastLayersContainLogitsOnly ? List.of("logits")
        : List.of("logits", "image_pooling", "aspp", "concat_projection", "decoder",
            "meta_architecture");
  }

  /**
   * The weight decay the official code recommends for a backbone: 1e-4 for ResNet, 4e-5 for
   * MobileNetV2 and Xception ({@code train.py} flag comment); 5e-4 for VGG-16, DeepLab-LargeFOV's
   * solver {@code weight_decay}.
   */
  public static double defaultWeightDecay(ModelConfig model) {
    return switch (model.variant().family()) {
      case RESNET_V1 -> 1e-4;
      case VGG -> 5e-4;
      default -> 4e-5;
    };
  }

  /**
   * A builder with the official defaults: poly, base rate 0.007 (the VOC {@code train_aug}
   * recipe), power 0.9, no slow start, momentum 0.9, {@link #defaultWeightDecay}, last-layer
   * multiplier 1, batch-norm fine-tuning and dropout on, {@link LossConfig#defaults()}, {@link
   * Augmentation#official()}, one replica, seed 0, no resize.
   */
  public static Builder builder(ModelConfig model) {
    return new Builder(model);
  }

  /** A builder starting from this configuration. */
  public Builder toBuilder() {
    Builder b = new Builder(model);
    b.steps = steps;
    b.batchSize = batchSize;
    b.learningRate = learningRate;
    b.optimizer = optimizer;
    b.weightDecay = weightDecay;
    b.lastLayerGradientMultiplier = lastLayerGradientMultiplier;
    b.lastLayersContainLogitsOnly = lastLayersContainLogitsOnly;
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
    private LearningRateSchedule learningRate = LearningRateSchedule.poly(0.007);
    private Optimizer optimizer = Optimizer.momentum(0.9);
    private double weightDecay;
    private double lastLayerGradientMultiplier = 1.0;
    private boolean lastLayersContainLogitsOnly;
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

    public Builder learningRate(LearningRateSchedule s) {
      learningRate = s;
      return this;
    }

    public Builder baseLearningRate(double r) {
      learningRate = learningRate.withBaseRate(r);
      return this;
    }

    public Builder learningPower(double p) {
      learningRate = learningRate.withPoly(p, learningRate.endRate());
      return this;
    }

    public Builder slowStart(int stepsCount, double rate) {
      learningRate = learningRate.withSlowStart(stepsCount, rate, learningRate.linearBurnIn());
      return this;
    }

    public Builder optimizer(Optimizer o) {
      optimizer = o;
      return this;
    }

    public Builder momentum(double m) {
      optimizer = new Optimizer(optimizer.kind(), m, optimizer.adamLearningRate(),
          optimizer.adamEpsilon());
      return this;
    }

    public Builder lastLayerGradientMultiplier(double m) {
      lastLayerGradientMultiplier = m;
      return this;
    }

    public Builder lastLayersContainLogitsOnly(boolean on) {
      lastLayersContainLogitsOnly = on;
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
      return new TrainConfig(model, steps, batchSize, learningRate, optimizer, weightDecay,
          lastLayerGradientMultiplier, lastLayersContainLogitsOnly, fineTuneBatchNorm, dropout,
          loss, augmentation, devices, seed, resize);
    }
  }
}
