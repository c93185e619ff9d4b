package dev.deeplab.internal.train;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.internal.c_api.TF_Graph;
import org.tensorflow.internal.c_api.TF_Session;
import org.tensorflow.internal.c_api.TF_SessionOptions;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.internal.c_api.global.tensorflow;
import org.tensorflow.proto.ConfigProto;

/**
 * Sessions on a graph, local or through a TensorFlow server ({@code grpc://host:port}). TF Java
 * 1.1.0 has no public way to set a session's target: this does what its {@code Session} does to
 * allocate a session, plus {@code TF_SetTarget}, and wraps the handle with TF Java's
 * package-private {@code Session(Graph, TF_Session)} constructor, reached as {@code
 * nn.GraphOps} reaches the one of {@code Ops}.
 */
public final class Sessions {
  private static final Constructor<Session> WRAP;
  private static final Method REF;
  private static final Method HANDLE;

  static {
    try {
      WRAP = Session.class.getDeclaredConstructor(Graph.class, TF_Session.class);
      WRAP.setAccessible(true);
      REF = Graph.class.getDeclaredMethod("ref");
      REF.setAccessible(true);
      HANDLE = Class.forName("org.tensorflow.Graph$Reference").getDeclaredMethod("nativeHandle");
      HANDLE.setAccessible(true);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private Sessions() {}

  /**
   * A session on {@code graph}: local for an empty {@code target}, else through the server at
   * {@code target} (the master of a cluster, e.g. {@code grpc://localhost:2222}).
   */
  public static Session open(Graph graph, String target, ConfigProto config) {
    if (target.isEmpty()) {
      return new Session(graph, config);
    }
    try (AutoCloseable ref = (AutoCloseable) REF.invoke(graph);
        PointerScope scope = new PointerScope()) {
      TF_Graph handle = (TF_Graph) HANDLE.invoke(ref);
      TF_Status status = TF_Status.newStatus();
      TF_SessionOptions options = TF_SessionOptions.newSessionOptions();
      tensorflow.TF_SetTarget(options, target);
      BytePointer bytes = new BytePointer(config.toByteArray());
      tensorflow.TF_SetConfig(options, bytes, bytes.capacity(), status);
      status.throwExceptionIfNotOK();
      TF_Session session = TF_Session.newSession(handle, options, status);
      status.throwExceptionIfNotOK();
      return WRAP.newInstance(graph, (TF_Session) session.retainReference());
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("cannot open a TF Java session on " + target, e);
    }
  }
}
