package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Inputs with the same stem never share output files, and names that are free stay as they are. */
class OutputNamesTest {
  @Test
  void laterInputsWithATakenStemGetTheFirstFreeSuffix() {
    List<Path> inputs = List.of(Path.of("a/x.jpg"), Path.of("b/x.png"), Path.of("c/x-2.png"),
        Path.of("d/X.jpg"), Path.of("e/y.gif"), Path.of("noextension"), Path.of(".hidden"));
    // x-2 is c's own name, so b takes x-3; X is x on a case-insensitive disk.
    assertEquals(List.of("x", "x-3", "x-2", "X-4", "y", "noextension", ".hidden"),
        OutputNames.stems(inputs));
  }

  @Test
  void distinctStemsAreKept() {
    assertEquals(List.of("pets", "owl"),
        OutputNames.stems(List.of(Path.of("pets.jpg"), Path.of("photos/owl.jpg"))));
  }
}
