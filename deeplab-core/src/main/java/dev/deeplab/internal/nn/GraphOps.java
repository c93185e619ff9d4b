package dev.deeplab.internal.nn;

import java.lang.reflect.Constructor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.DeviceSpec;
import org.tensorflow.ExecutionEnvironment;
import org.tensorflow.Graph;
import org.tensorflow.Operation;
import org.tensorflow.OperationBuilder;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;

/**
 * {@link Ops} for building large graphs quickly. TF Java's own scopes rescan every operation of
 * the graph (through JNI) each time a sub-scope is entered, so a network with thousands of scopes
 * takes quadratic time to build: 7–11 s for Xception-65. This {@link Scope} keeps the used names
 * of each prefix in a map shared by all scopes of the graph instead, with the same naming rules
 * (a name used twice gets {@code _1}, {@code _2}, ...), so building is linear.
 *
 * <p>Every op of a graph built this way must be named through these scopes (ops that TF Java adds
 * itself, the saver's {@code save/...} and the {@code gradients/...}, live under their own
 * prefixes).
 */
public final class GraphOps {
  private static final Constructor<Ops> OPS;

  static {
    try {
      OPS = Ops.class.getDeclaredConstructor(Scope.class);
      OPS.setAccessible(true);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private GraphOps() {}

  /** Root {@link Ops} of {@code graph} with linear-time scoping. */
  public static Ops create(Graph graph) {
    try {
      return OPS.newInstance(new FastScope(graph, new HashMap<>(), null, null, List.of(),
          DeviceSpec.newBuilder().build(), false));
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot create TF Java Ops", e);
    }
  }

  /** A name scope that remembers used names instead of rescanning the graph. */
  private static final class FastScope implements Scope {
    private final ExecutionEnvironment env;
    private final Map<String, Map<String, Integer>> used;
    private final String prefix;
    private final String opName;
    private final List<Operation> controls;
    private final DeviceSpec device;
    private final boolean init;

    FastScope(ExecutionEnvironment env, Map<String, Map<String, Integer>> used, String prefix,
        String opName, List<Operation> controls, DeviceSpec device, boolean init) {
      this.env = env;
      this.used = used;
      this.prefix = prefix;
      this.opName = opName;
      this.controls = controls;
      this.device = device;
      this.init = init;
    }

    private FastScope with(String newPrefix, String newOpName) {
      return new FastScope(env, used, newPrefix, newOpName, controls, device, init);
    }

    @Override
    public ExecutionEnvironment env() {
      return env;
    }

    @Override
    public Scope withSubScope(String childScopeName) {
      check(childScopeName);
      return with(qualify(makeUnique(opName != null ? opName : childScopeName)), null);
    }

    @Override
    public Scope withName(String name) {
      check(name);
      return with(prefix, name);
    }

    @Override
    public Scope withNameAsSubScope(String defaultName) {
      return withSubScope(defaultName);
    }

    @Override
    public Scope withDevice(DeviceSpec newDevice) {
      return new FastScope(env, used, prefix, opName, controls, newDevice, init);
    }

    @Override
    public Scope withInitScope() {
      return new FastScope(env, used, prefix, opName, List.of(), device, true);
    }

    @Override
    public String makeOpName(String defaultName) {
      String name = opName != null ? opName : defaultName;
      check(name);
      return qualify(makeUnique(name));
    }

    @Override
    public synchronized String makeUnique(String id) {
      Map<String, Integer> ids = used.computeIfAbsent(prefix == null ? "" : prefix,
          k -> new HashMap<>());
      Integer n = ids.get(id);
      ids.put(id, n == null ? 1 : n + 1);
      return n == null ? id : id + "_" + n;
    }

    @Override
    public void refreshNames() {
      // Names are tracked as they are made; nothing to import.
    }

    @Override
    public Scope withControlDependencyOps(Iterable<Operation> ops) {
      List<Operation> toAdd = new ArrayList<>();
      for (Operation control : ops) {
        env.checkInput(control);
        if (init && !env.isInitializer(control)) {
          throw new IllegalArgumentException("Init scope can not have non-init control dependency.");
        }
        if (init || !env.isInitializer(control)) {
          toAdd.add(control);
        }
      }
      return new FastScope(env, used, prefix, opName, toAdd, device, init);
    }

    @Override
    public OperationBuilder apply(OperationBuilder builder) {
      builder.setDevice(device.toString());
      for (Operation control : controls) {
        if (init || !env.isInitializer(control)) {
          builder.addControlInput(control);
        }
      }
      return builder;
    }

    @Override
    public String getDeviceString() {
      return device.toString();
    }

    @Override
    public boolean isInit() {
      return init;
    }

    private String qualify(String name) {
      return prefix == null ? name : prefix + "/" + name;
    }

    private static void check(String name) {
      if (!Scope.isValidOpName(name)) {
        throw new IllegalArgumentException("invalid name '" + name + "'");
      }
    }
  }
}
