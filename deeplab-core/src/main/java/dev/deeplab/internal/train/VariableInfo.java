package dev.deeplab.internal.train;

import dev.deeplab.internal.nn.Role;

/**
 * A model variable of the training graph, described without its graph: official name, shape,
 * role (which decides trainability, weight decay and the bias gradient multiplier).
 *
 * @param name official name, e.g. {@code logits/semantic/weights}
 * @param shape static shape
 * @param role what it is for
 */
public record VariableInfo(String name, long[] shape, Role role) {}
