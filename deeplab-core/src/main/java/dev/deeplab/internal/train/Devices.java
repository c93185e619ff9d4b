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

  private static final java.util.regex.Pattern TASK =
      java.util.regex.Pattern.compile("/job:([^/]+)/replica:(\\d+)/task:(\\d+)");

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
   * The device of the variables and the optimizer for replicas on {@code devices}: the CPU of the
   * first replica's task in a cluster (the chief, which also saves the checkpoints), else {@link
   * #VARIABLE_DEVICE}; "" (default placement) for one unplaced replica.
   */
  public static String variableDevice(List<String> devices) {
    if (devices.isEmpty()) {
      return "";
    }
    java.util.regex.Matcher m = TASK.matcher(devices.get(0));
    return m.lookingAt() ? m.group() + VARIABLE_DEVICE : VARIABLE_DEVICE;
  }

  /** {@code device}, a name such as {@code /job:chief/replica:0/task:0/device:CPU:0}, for Ops. */
  public static DeviceSpec spec(String device) {
    DeviceSpec.Builder b = DeviceSpec.newBuilder();
    java.util.regex.Matcher m = TASK.matcher(device);
    String rest = device;
    if (m.lookingAt()) {
      b.job(m.group(1)).replica(Integer.parseInt(m.group(2))).task(Integer.parseInt(m.group(3)));
      rest = device.substring(m.end());
    }
    String[] parts = rest.replace("/device:", "").split(":");
    return b.deviceType(DeviceSpec.DeviceType.valueOf(parts[0].toUpperCase(Locale.ROOT)))
        .deviceIndex(Integer.parseInt(parts[1])).build();
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
