package dev.deeplab.internal.crf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The lattice's construction in parallel parts, each numbering its vertices by sorting packed
 * keys or in a hash table, merged into one list of vertices in key order: the lattice, and so the
 * filtering, must depend neither on the number of parts nor on the way (the filtering itself is
 * checked against exact Gaussian sums through {@code DenseCrfReferenceTest}).
 */
class PermutohedralLatticeTest {
  @Test
  void partsDoNotChangeTheFiltering() {
    // Image-like points: position on a 150x100 grid at a wide deviation, colour in a few flat
    // regions plus noise at a narrow one, so that parts share many vertices and own others.
    int w = 150;
    int h = 100;
    int n = w * h;
    Random random = new Random(7);
    float[] features = new float[n * 5];
    for (int y = 0, i = 0; y < h; y++) {
      for (int x = 0; x < w; x++, i++) {
        int region = (x / 40 + y / 30) % 3;
        features[5 * i] = x / 20f;
        features[5 * i + 1] = y / 20f;
        for (int c = 0; c < 3; c++) {
          features[5 * i + 2 + c] = (60 * region + 30 * c + 4 * (float) random.nextGaussian()) / 3;
        }
      }
    }
    int channels = 3;
    float[] in = new float[n * channels];
    for (int i = 0; i < in.length; i++) {
      in[i] = random.nextFloat();
    }
    float[] scale = new float[n];
    Arrays.fill(scale, 1f);
    PermutohedralLattice hashed = PermutohedralLattice.build(features, n, 5, 1, false);
    float[] expected = filter(hashed, in, channels, scale);
    for (boolean packKeys : new boolean[] {false, true}) {
      for (int parts : new int[] {1, 2, 3, 7}) {
        String how = parts + " parts, keys " + (packKeys ? "sorted" : "hashed");
        PermutohedralLattice lattice = PermutohedralLattice.build(features, n, 5, parts, packKeys);
        assertEquals(hashed.vertices(), lattice.vertices(), how);
        assertArrayEquals(expected, filter(lattice, in, channels, scale), how);
      }
    }
  }

  @Test
  void keysTooWideToPackAreHashed() {
    // Five features spread over +-30,000 standard deviations: about 17 bits per key coordinate,
    // 85 in all, more than a long holds; the construction must fall back to hashing.
    int n = 2000;
    Random random = new Random(11);
    float[] features = new float[n * 5];
    for (int i = 0; i < features.length; i++) {
      features[i] = (i / 5 % 2 == 0 ? 30000f : -30000f) + 3 * (float) random.nextGaussian();
    }
    float[] in = new float[n];
    for (int i = 0; i < n; i++) {
      in[i] = random.nextFloat();
    }
    float[] scale = new float[n];
    Arrays.fill(scale, 1f);
    PermutohedralLattice hashed = PermutohedralLattice.build(features, n, 5, 1, false);
    PermutohedralLattice lattice = PermutohedralLattice.build(features, n, 5, 1, true);
    assertEquals(hashed.vertices(), lattice.vertices());
    assertArrayEquals(filter(hashed, in, 1, scale), filter(lattice, in, 1, scale));
  }

  private static float[] filter(PermutohedralLattice lattice, float[] in, int channels,
      float[] scale) {
    float[] out = new float[in.length];
    float[] a = new float[(lattice.vertices() + 1) * channels];
    lattice.filter(in, out, channels, scale, 1f, a, new float[a.length]);
    return out;
  }
}
