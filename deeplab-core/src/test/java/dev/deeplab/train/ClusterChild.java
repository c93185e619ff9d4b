package dev.deeplab.train;

/**
 * A task of a test cluster in its own JVM. {@code worker SPEC}: starts the server of the spec's
 * task, prints {@code SERVING <address>} and serves until killed.
 */
public final class ClusterChild {
  private ClusterChild() {}

  public static void main(String[] args) throws Exception {
    ClusterSpec spec = ClusterSpec.read(args[1]);
    switch (args[0]) {
      case "worker" -> {
        ClusterServer server = ClusterServer.start(spec);
        System.out.println("SERVING " + spec.address());
        System.out.flush();
        server.join();
      }
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }
}
