package dev.deeplab.internal.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tensorflow.DeviceSpec;
import org.tensorflow.proto.ConfigProto;

/**
 * Device lists for data-parallel training: parsing {@code cpu:0,cpu:1} or {@code gpu:0,gpu:1} into
 * TF device names, and the session configuration that makes them exist (virtual CPU devices via
 * {@code device_count}, soft placement for ops without a kernel on the device).
 */
public final class Devices {
  /** The device that holds variables and the optimizer with several replicas (slim's choice). */
  public static final String VARIABLE_DEVICE = "/device:CPU:0";

  private Devices() {}

  /**
   * Parses a comma-separated list such as {@code cpu:0,cpu:1}, {@code gpu:0,gpu:1} or {@code
   * /device:GPU:0}.
   *
   * @return TF device names such as {@code /device:CPU:0}; empty for a blank list
   * @throws IllegalArgumentException naming a malformed or repeated entry
   */
  public static List<String> parse(String list) {
    List<String> out = new ArrayList<>();
    if (list == null || list.isBlank()) {
      return out;
    }
    for (String raw : list.split(",")) {
      String s = raw.strip().toUpperCase(Locale.ROOT);
      if (s.startsWith("/DEVICE:")) {
        s = s.substring("/DEVICE:".length());
      }
      String[] parts = s.split(":");
      int index;
      try {
        index = parts.length == 2 ? Integer.parseInt(parts[1]) : -1;
      } catch (NumberFormatException e) {
        index = -1;
      }
      if (index < 0 || !(parts[0].equals("CPU") || parts[0].equals("GPU"))) {
        throw new IllegalArgumentException(
            "bad device '" + raw.strip() + "': expected cpu:N or gpu:N, e.g. cpu:0,cpu:1");
      }
      DeviceSpec spec = DeviceSpec.newBuilder()
          .deviceType(parts[0].equals("CPU") ? DeviceSpec.DeviceType.CPU : DeviceSpec.DeviceType.GPU)
          .deviceIndex(index).build();
      String name = spec.toString();
      if (out.contains(name)) {
        throw new IllegalArgumentException("device " + raw.strip() + " is listed twice");
      }
      out.add(name);
    }
    return out;
  }

  /**
   * A session configuration for {@code devices}: as many virtual CPU devices as the highest CPU
   * index needs, soft placement on.
   */
  public static ConfigProto sessionConfig(List<String> devices) {
    int cpus = 1;
    for (String d : devices) {
      if (d.toUpperCase(Locale.ROOT).contains("CPU:")) {
        cpus = Math.max(cpus, Integer.parseInt(d.substring(d.lastIndexOf(':') + 1)) + 1);
      }
    }
    return ConfigProto.newBuilder().setAllowSoftPlacement(true).putDeviceCount("CPU", cpus)
        .build();
  }
}
