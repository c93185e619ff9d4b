package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The architecture options of the official flags that the zoo's variants need. */
class ZooOptionsTest {

  private static JsonNode inspectJson(String... options) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(out))
        .setErr(new PrintWriter(err));
    String[] args = new String[options.length + 2];
    args[0] = "inspect";
    args[1] = "--json";
    System.arraycopy(options, 0, args, 2, options.length);
    int code = cli.execute(args);
    assertEquals(0, code, err.toString());
    return new ObjectMapper().readTree(out.toString());
  }

  @Test
  void boundedActivationIsRecordedInTheConfig() throws Exception {
    JsonNode on = inspectJson("--variant", "xception_41", "--crop-size", "65",
        "--bounded-activation");
    assertTrue(on.path("config").path("use_bounded_activation").asBoolean(), on.toString());
    JsonNode off = inspectJson("--variant", "xception_41", "--crop-size", "65");
    assertTrue(off.path("config").path("use_bounded_activation").isMissingNode(), off.toString());
    // The variables are the same: only the activations change.
    assertEquals(off.path("variables"), on.path("variables"));
  }
}
