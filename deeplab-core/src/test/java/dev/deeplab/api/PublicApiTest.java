package dev.deeplab.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library's public API: the public types outside {@code dev.deeplab.internal}, and nothing of
 * {@code dev.deeplab.internal} reachable through them, so users never need an internal type.
 */
class PublicApiTest {
  private static final Path CLASSES = Path.of("target", "classes");

  /** Every public top-level type of the API, by package; a change here is an API change. */
  private static final List<String> API = List.of(
      "dev.deeplab.data.Ade20kDataset",
      "dev.deeplab.data.CityscapesDataset",
      "dev.deeplab.data.DatasetException",
      "dev.deeplab.data.SegmentationDataset",
      "dev.deeplab.data.TfRecordDataset",
      "dev.deeplab.data.VocDataset",
      "dev.deeplab.eval.CheckpointWatcher",
      "dev.deeplab.eval.ConfusionMatrix",
      "dev.deeplab.eval.EvalReport",
      "dev.deeplab.eval.Evaluator",
      "dev.deeplab.eval.TrimapAccuracy",
      "dev.deeplab.export.ModelExporter",
      "dev.deeplab.export.ModelImporter",
      "dev.deeplab.export.OnnxExporter",
      "dev.deeplab.image.ImageFormatException",
      "dev.deeplab.image.ImageReader",
      "dev.deeplab.image.LabelMap",
      "dev.deeplab.image.MaskWriter",
      "dev.deeplab.image.ResizeToRange",
      "dev.deeplab.image.RgbImage",
      "dev.deeplab.infer.DenseCrf",
      "dev.deeplab.infer.Engine",
      "dev.deeplab.infer.PretrainedModel",
      "dev.deeplab.infer.Segmentation",
      "dev.deeplab.infer.SegmentationException",
      "dev.deeplab.infer.Segmenter",
      "dev.deeplab.model.DenseCellBranch",
      "dev.deeplab.model.LabelSet",
      "dev.deeplab.model.ModelConfig",
      "dev.deeplab.model.ModelInfo",
      "dev.deeplab.model.ModelVariant",
      "dev.deeplab.model.ServingOptions",
      "dev.deeplab.train.Augmentation",
      "dev.deeplab.train.ClusterException",
      "dev.deeplab.train.ClusterServer",
      "dev.deeplab.train.ClusterSpec",
      "dev.deeplab.train.LearningRateSchedule",
      "dev.deeplab.train.LossConfig",
      "dev.deeplab.train.Optimizer",
      "dev.deeplab.train.TrainConfig",
      "dev.deeplab.train.TrainResult",
      "dev.deeplab.train.Trainer",
      "dev.deeplab.train.TrainingDivergedException",
      "dev.deeplab.train.TrainingProgress",
      "dev.deeplab.train.TrainingRun");

  @Test
  void publicTypesOutsideInternalAreTheDocumentedApi() throws Exception {
    assertEquals(API, apiTypes().stream().map(Class::getName).toList());
  }

  @Test
  void noInternalTypeIsReachableFromTheApi() throws Exception {
    TreeSet<String> leaks = new TreeSet<>();
    for (Class<?> c : apiTypes()) {
      check(c, leaks);
    }
    assertEquals(new TreeSet<String>(), leaks);
  }

  private static void check(Class<?> c, TreeSet<String> leaks) {
    if (c.getSuperclass() != null) {
      type(c.getName() + " extends", c.getGenericSuperclass(), leaks);
    }
    for (Type i : c.getGenericInterfaces()) {
      type(c.getName() + " implements", i, leaks);
    }
    for (Field f : c.getDeclaredFields()) {
      if (visible(f.getModifiers())) {
        type(c.getName() + "." + f.getName(), f.getGenericType(), leaks);
      }
    }
    List<Executable> members = new ArrayList<>(List.of(c.getDeclaredMethods()));
    for (Constructor<?> k : c.getDeclaredConstructors()) {
      members.add(k);
    }
    for (Executable m : members) {
      if (!visible(m.getModifiers()) || m.isSynthetic()) {
        continue;
      }
      String where = c.getName() + "." + m.getName() + "()";
      for (Type p : m.getGenericParameterTypes()) {
        type(where, p, leaks);
      }
      for (Type e : m.getGenericExceptionTypes()) {
        type(where, e, leaks);
      }
      if (m instanceof Method method) {
        type(where, method.getGenericReturnType(), leaks);
      }
    }
    if (c.isRecord()) {
      for (RecordComponent r : c.getRecordComponents()) {
        type(c.getName() + "." + r.getName(), r.getGenericType(), leaks);
      }
    }
    for (Class<?> nested : c.getDeclaredClasses()) {
      if (visible(nested.getModifiers())) {
        check(nested, leaks);
      }
    }
  }

  private static boolean visible(int modifiers) {
    return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  private static void type(String where, Type t, TreeSet<String> leaks) {
    if (t instanceof Class<?> k) {
      while (k.isArray()) {
        k = k.getComponentType();
      }
      if (k.getName().startsWith("dev.deeplab.internal.")) {
        leaks.add(where + " uses " + k.getName());
      }
    } else if (t instanceof ParameterizedType p) {
      type(where, p.getRawType(), leaks);
      for (Type a : p.getActualTypeArguments()) {
        type(where, a, leaks);
      }
    } else if (t instanceof WildcardType w) {
      for (Type b : w.getUpperBounds()) {
        type(where, b, leaks);
      }
    }
  }

  private static List<Class<?>> apiTypes() throws IOException, ClassNotFoundException {
    List<Class<?>> out = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(CLASSES)) {
      for (Path p : walk.filter(f -> f.toString().endsWith(".class")).sorted().toList()) {
        String name = CLASSES.relativize(p).toString().replace('/', '.').replace(".class", "");
        if (name.contains("$") || name.startsWith("dev.deeplab.internal.")
            || name.endsWith("package-info")) {
          continue;
        }
        Class<?> c = Class.forName(name, false, PublicApiTest.class.getClassLoader());
        if (Modifier.isPublic(c.getModifiers())) {
          out.add(c);
        }
      }
    }
    out.sort(java.util.Comparator.comparing(Class::getName));
    return out;
  }
}
