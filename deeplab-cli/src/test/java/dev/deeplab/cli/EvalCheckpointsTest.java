package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.data.VocDataset;
import dev.deeplab.model.LabelSet;
import dev.deeplab.testing.EventFiles;
import dev.deeplab.train.TinyModels;
import dev.deeplab.train.TrainConfig;
import dev.deeplab.train.Trainer;
import dev.deeplab.train.VocMini;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/** {@code deeplab eval --model CHECKPOINT_DIR}, once and with {@code --watch}. */
class EvalCheckpointsTest {
  @TempDir static Path tmp;
  static Path run;
  static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void train() throws Exception {
    run = tmp.resolve("run");
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(65)).steps(2).batchSize(2)
        .baseLearningRate(0.01).seed(11).build();
    new Trainer(config, Trainer.Options.defaults(run).withCheckpointEvery(1)
        .withLabels(LabelSet.PASCAL_VOC))
        .train(new VocDataset(VocMini.root(), "train"), null, null);
  }

  private record Result(int exit, String out, String err) {}

  private static Result eval(String... args) {
    picocli.CommandLine cli = DeepLabCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 3];
    all[0] = "eval";
    all[1] = "--data";
    all[2] = VocMini.root().toString();
    System.arraycopy(args, 0, all, 3, args.length);
    return new Result(cli.execute(all), out.toString(), err.toString());
  }

  @Test
  void evaluatesTheNewestOrTheNamedCheckpoint() throws Exception {
    Result newest = eval("--model", run.toString());
    assertEquals(0, newest.exit(), newest.err());
    assertTrue(newest.out().startsWith("checkpoint " + run.toAbsolutePath().resolve("model.ckpt-2")
        + " (step 2)"), newest.out());
    assertTrue(newest.out().contains("aeroplane") && newest.out().contains("mean IoU"),
        "the recorded class names are used: " + newest.out());
    Result named = eval("--model", run.resolve("model.ckpt-1").toString(), "--json");
    assertEquals(0, named.exit(), named.err());
    assertEquals(21, JSON.readTree(named.out()).get("num_classes").asInt());
  }

  @Test
  void watchPrintsEachCheckpointAndWritesItsMiouToTensorBoard() throws Exception {
    Path events = tmp.resolve("events");
    Result r = eval("--model", run.toString(), "--watch", "--interval", "0.01", "--json",
        "--summary-dir", events.toString());
    assertEquals(0, r.exit(), r.err());
    List<JsonNode> lines = r.out().lines().map(l -> {
      try {
        return JSON.readTree(l);
      } catch (Exception e) {
        throw new AssertionError(l, e);
      }
    }).toList();
    assertEquals(List.of(1L, 2L), lines.stream().map(n -> n.get("step").asLong()).toList());
    Map<Long, Float> miou = new TreeMap<>();
    for (Event e : EventFiles.readDirectory(events)) {
      for (Summary.Value v : e.getSummary().getValueList()) {
        if (v.getTag().equals("eval/miou_1.0_overall")) {
          miou.put(e.getStep(), v.getSimpleValue());
        }
      }
    }
    assertEquals(List.of(1L, 2L), List.copyOf(miou.keySet()));
    for (JsonNode line : lines) {
      assertEquals((float) line.get("mean_iou").asDouble(), miou.get(line.get("step").asLong()));
    }
  }

  @Test
  void watchMistakesAreUsageErrors() {
    assertEquals(2, eval("--model", run.resolve("model.ckpt-1").toString(), "--watch").exit());
    assertEquals(2, eval("--model", tmp.toString(), "--watch").exit());
    assertEquals(2, eval("--model", run.toString(), "--interval", "5").exit());
    assertEquals(2, eval("--model", run.toString(), "--watch", "--max-evaluations", "0").exit());
  }
}
