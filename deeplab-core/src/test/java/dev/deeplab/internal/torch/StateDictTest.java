package dev.deeplab.internal.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.internal.weights.FloatTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Reads weight files written by PyTorch 2.13 ({@code tools/torch/make_weight_fixtures.py}) and
 * compares every value with the one PyTorch printed to {@code expected.json}; refuses malicious
 * and malformed files with one line.
 */
class StateDictTest {
  private static final Path DIR = Path.of("src/test/resources/torch");

  private static JsonNode expected() throws IOException {
    return new ObjectMapper().readTree(DIR.resolve("expected.json").toFile());
  }

  private static void assertMatches(StateDict sd, boolean floatsOnly) throws IOException {
    JsonNode want = expected();
    int compared = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = want.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String dtype = e.getValue().get("dtype").asText();
      if (floatsOnly && dtype.equals("int64")) {
        continue;
      }
      TorchTensor t = sd.tensors().get(e.getKey());
      long[] shape = new ObjectMapper().convertValue(e.getValue().get("shape"), long[].class);
      assertArrayEquals(shape, t.shape(), e.getKey());
      FloatTensor f = t.toFloats();
      JsonNode values = e.getValue().get("values");
      assertEquals(values.size(), f.size(), e.getKey());
      for (int i = 0; i < f.size(); i++) {
        // float64 tensors round to float32; the others are exact
        assertEquals((float) values.get(i).asDouble(), f.data()[i], 0f, e.getKey() + "[" + i + "]");
      }
      compared++;
    }
    assertTrue(compared >= 7, "compared " + compared);
  }

  @Test
  void readsTorchSaveStateDict() throws IOException {
    StateDict sd = StateDict.read(DIR.resolve("state_dict.pth"));
    assertEquals(List.of("conv.weight", "conv.bias", "bn.weight", "bn.bias",
        "bn.num_batches_tracked", "fc.weight", "shared.a", "shared.b"),
        List.copyOf(sd.tensors().keySet()));
    assertEquals(TorchDtype.FLOAT64, sd.tensors().get("conv.bias").dtype());
    assertEquals(TorchDtype.FLOAT16, sd.tensors().get("bn.weight").dtype());
    assertEquals(TorchDtype.BFLOAT16, sd.tensors().get("bn.bias").dtype());
    assertFalse(sd.tensors().get("bn.num_batches_tracked").dtype().isFloating());
    assertMatches(sd, false);
  }

  @Test
  void unwrapsVainfCheckpoint() throws IOException {
    StateDict sd = StateDict.read(DIR.resolve("vainf_checkpoint.pth"));
    assertEquals("torch.save zip, checkpoint['model_state']", sd.format());
    assertMatches(sd, false);
  }

  @Test
  void readsSafetensors() throws IOException {
    StateDict sd = StateDict.read(DIR.resolve("state_dict.safetensors"));
    assertEquals("safetensors", sd.format());
    assertEquals(TorchDtype.BFLOAT16, sd.tensors().get("bn.bias").dtype());
    assertMatches(sd, true);
  }

  private static String refusal(String file) {
    TorchFormatException e = assertThrows(TorchFormatException.class,
        () -> StateDict.read(DIR.resolve(file)));
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    return e.getMessage();
  }

  @Test
  void refusesPickleAskingForOsSystem() {
    String m = refusal("evil_os_system.pth");
    assertTrue(m.contains("asks for global posix.system") || m.contains("global os.system"), m);
    assertTrue(m.contains("refused"), m);
    assertFalse(Files.exists(Path.of("/tmp/deeplab_pwned")));
  }

  @Test
  void refusesStackGlobalEval() {
    String m = refusal("evil_builtins_eval.pth");
    assertTrue(m.contains("global builtins.eval"), m);
  }

  @Test
  void refusesTensorsOutsideTheirStorage() {
    assertTrue(refusal("past_storage.pth").contains("reaches element 999 of a storage of 4"));
    assertTrue(refusal("huge_shape.pth").contains("elements, more than"));
  }

  @Test
  void refusesMalformedSafetensors() {
    assertTrue(refusal("past_end.safetensors").contains("outside the 16 data bytes"));
    assertTrue(refusal("huge_shape.safetensors").contains("overflows")
        || refusal("huge_shape.safetensors").contains("more than"));
    assertTrue(refusal("wrong_span.safetensors").contains("spans 16 bytes where its shape [2,4]"));
  }

  @Test
  void refusesLegacyFormatAndOtherFiles() throws IOException {
    assertTrue(refusal("legacy.pth").contains("legacy torch.save format"));
    assertTrue(refusal("expected.json").contains("not a safetensors file"));
  }
}
