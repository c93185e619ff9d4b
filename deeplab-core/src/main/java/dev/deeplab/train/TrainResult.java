package dev.deeplab.train;

import dev.deeplab.eval.ConfusionMatrix;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The outcome of {@link Trainer#train}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param startStep the step training started (or resumed) from
 * @param endStep the step reached
 * @param lastLoss the loss of the last step run (NaN if no step ran)
 * @param lastCheckpoint the newest checkpoint written or found
 * @param imagesPerSecond training throughput after the first step (0 if fewer than two steps)
 * @param lastEvaluation the last evaluation, if any ran
 */
public record TrainResult(long startStep, long endStep, float lastLoss,
    Optional<Path> lastCheckpoint, double imagesPerSecond,
    Optional<ConfusionMatrix> lastEvaluation) {}
