package dev.deeplab.internal.crf;

import java.util.Arrays;

/**
 * The permutohedral lattice of Adams, Baek and Davis ("Fast High-Dimensional Filtering Using the
 * Permutohedral Lattice", Eurographics 2010), as Krähenbühl and Koltun use it for the messages of
 * their fully connected CRF (NIPS 2011): Gaussian filtering of values attached to points in a
 * {@code d}-dimensional feature space, {@code sum_j exp(-|f_i - f_j|^2 / 2) v_j} up to a constant
 * factor, in time linear in the number of points.
 *
 * <p>Each point is lifted onto the plane {@code x_0 + ... + x_d = 0} of {@code R^(d+1)}, whose
 * tiling by the permutohedral lattice {@code A*_d} puts it in a simplex of {@code d + 1} lattice
 * vertices; filtering <em>splats</em> every value onto those vertices with barycentric weights,
 * <em>blurs</em> the vertex values with the kernel {@code [1 2 1] / 4} along each of the {@code d
 * + 1} lattice directions, and <em>slices</em> the result back at the points with the same
 * weights. The features are scaled by {@code (d + 1) sqrt(2/3)} so that splat, blur and slice
 * together approximate a Gaussian of standard deviation 1 (the paper's Section 4). The constant
 * factor of the approximation cancels when the result is divided by the filtered ones, which is
 * how the CRF uses it.
 *
 * <p>Built once per image ({@link #build}); {@link #filter} is then thread-safe for disjoint
 * output ranges, allocates nothing and may run on several class ranges at once.
 */
public final class PermutohedralLattice {
  private final int dims;
  private final int points;
  private final int vertices;
  /** For point {@code p} and corner {@code k}: the vertex index at {@code p * (dims+1) + k}. */
  private final int[] corner;
  /** The barycentric weight of that corner. */
  private final float[] weight;
  /**
   * For direction {@code j} and vertex {@code v}: the two neighbours along {@code j} at {@code
   * 2 * (j * vertices + v)} and the next index, -1 where the lattice has no vertex.
   */
  private final int[] neighbour;

  private PermutohedralLattice(int dims, int points, int vertices, int[] corner, float[] weight,
      int[] neighbour) {
    this.dims = dims;
    this.points = points;
    this.vertices = vertices;
    this.corner = corner;
    this.weight = weight;
    this.neighbour = neighbour;
  }

  /**
   * The lattice of {@code points} feature vectors of {@code dims} values each, row-major in
   * {@code features} (already divided by their standard deviations).
   */
  public static PermutohedralLattice build(float[] features, int points, int dims) {
    if (dims < 1 || features.length != (long) points * dims) {
      throw new IllegalArgumentException("expected " + points + " x " + dims + " features, got "
          + features.length);
    }
    int d1 = dims + 1;
    double[] scale = new double[dims];
    for (int i = 0; i < dims; i++) {
      scale[i] = d1 * Math.sqrt(2.0 / 3.0) / Math.sqrt((i + 1.0) * (i + 2.0));
    }
    double[] elevated = new double[d1];
    int[] nearest = new int[d1];
    int[] rank = new int[d1];
    double[] barycentric = new double[d1 + 1];
    int[] key = new int[dims];
    VertexTable table = new VertexTable(dims, Math.max(16, points));
    int[] corner = new int[Math.multiplyExact(points, d1)];
    float[] weight = new float[corner.length];
    for (int p = 0; p < points; p++) {
      // Elevate onto the plane x_0 + ... + x_d = 0 (the basis of the paper's Section 3.1).
      double sum = 0;
      for (int j = dims; j > 0; j--) {
        double cf = features[p * dims + j - 1] * scale[j - 1];
        elevated[j] = sum - j * cf;
        sum += cf;
      }
      elevated[0] = sum;
      // The nearest remainder-0 point: each coordinate rounded to a multiple of d+1.
      int coordinateSum = 0;
      for (int i = 0; i < d1; i++) {
        double v = elevated[i] / d1;
        int up = (int) Math.ceil(v) * d1;
        int down = (int) Math.floor(v) * d1;
        nearest[i] = up - elevated[i] < elevated[i] - down ? up : down;
        coordinateSum += nearest[i];
      }
      coordinateSum /= d1;
      // Rank of each coordinate's offset from that point, largest first.
      Arrays.fill(rank, 0);
      for (int i = 0; i < dims; i++) {
        for (int j = i + 1; j < d1; j++) {
          if (elevated[i] - nearest[i] < elevated[j] - nearest[j]) {
            rank[i]++;
          } else {
            rank[j]++;
          }
        }
      }
      // Back onto the plane if the rounding left it.
      if (coordinateSum > 0) {
        for (int i = 0; i < d1; i++) {
          if (rank[i] >= d1 - coordinateSum) {
            nearest[i] -= d1;
            rank[i] += coordinateSum - d1;
          } else {
            rank[i] += coordinateSum;
          }
        }
      } else if (coordinateSum < 0) {
        for (int i = 0; i < d1; i++) {
          if (rank[i] < -coordinateSum) {
            nearest[i] += d1;
            rank[i] += d1 + coordinateSum;
          } else {
            rank[i] += coordinateSum;
          }
        }
      }
      // Barycentric coordinates within the simplex.
      Arrays.fill(barycentric, 0);
      for (int i = 0; i < d1; i++) {
        double v = (elevated[i] - nearest[i]) / d1;
        barycentric[dims - rank[i]] += v;
        barycentric[d1 - rank[i]] -= v;
      }
      barycentric[0] += 1 + barycentric[d1];
      // The simplex's vertices: the remainder-k vertex adds k to each coordinate and takes d+1
      // from those ranked above d-k (the last coordinate is implied by the zero sum).
      for (int k = 0; k < d1; k++) {
        for (int i = 0; i < dims; i++) {
          key[i] = nearest[i] + k - (rank[i] > dims - k ? d1 : 0);
        }
        corner[p * d1 + k] = table.insert(key);
        weight[p * d1 + k] = (float) barycentric[k];
      }
    }
    int vertices = table.size();
    int[] neighbour = new int[Math.multiplyExact(2 * d1, vertices)];
    int[] down = new int[dims];
    int[] up = new int[dims];
    for (int j = 0; j < d1; j++) {
      for (int v = 0; v < vertices; v++) {
        // Along direction j: +/- (d+1) e_j - (1, ..., 1); for j = d only the implied coordinate
        // moves by d+1.
        int base = v * dims;
        for (int i = 0; i < dims; i++) {
          down[i] = table.keys[base + i] - 1;
          up[i] = table.keys[base + i] + 1;
        }
        if (j < dims) {
          down[j] = table.keys[base + j] + dims;
          up[j] = table.keys[base + j] - dims;
        }
        neighbour[2 * (j * vertices + v)] = table.find(down);
        neighbour[2 * (j * vertices + v) + 1] = table.find(up);
      }
    }
    return new PermutohedralLattice(dims, points, vertices, corner, weight, neighbour);
  }

  /** The number of points filtered. */
  public int points() {
    return points;
  }

  /** The number of lattice vertices (scratch buffers need {@code vertices() * channels}). */
  public int vertices() {
    return vertices;
  }

  /**
   * Filters channels {@code [from, to)} of {@code in} (row-major {@code [points, stride]}) and
   * adds {@code scale[p] * factor} times the result to the same channels of {@code out}.
   *
   * @param a scratch of at least {@code vertices() * (to - from)} floats
   * @param b scratch of the same size
   */
  public void filterAdd(float[] in, float[] out, int stride, int from, int to, float[] scale,
      float factor, float[] a, float[] b) {
    int width = to - from;
    int d1 = dims + 1;
    Arrays.fill(a, 0, vertices * width, 0f);
    for (int p = 0; p < points; p++) {
      int src = p * stride + from;
      for (int k = 0; k < d1; k++) {
        int dst = corner[p * d1 + k] * width;
        float w = weight[p * d1 + k];
        for (int c = 0; c < width; c++) {
          a[dst + c] += w * in[src + c];
        }
      }
    }
    float[] cur = a;
    float[] next = b;
    for (int j = 0; j < d1; j++) {
      int nb = 2 * j * vertices;
      for (int v = 0; v < vertices; v++) {
        int self = v * width;
        int n1 = neighbour[nb + 2 * v];
        int n2 = neighbour[nb + 2 * v + 1];
        if (n1 >= 0 && n2 >= 0) {
          int o1 = n1 * width;
          int o2 = n2 * width;
          for (int c = 0; c < width; c++) {
            next[self + c] = 0.5f * cur[self + c] + 0.25f * (cur[o1 + c] + cur[o2 + c]);
          }
        } else {
          int o = n1 >= 0 ? n1 * width : n2 >= 0 ? n2 * width : -1;
          for (int c = 0; c < width; c++) {
            next[self + c] = 0.5f * cur[self + c] + (o >= 0 ? 0.25f * cur[o + c] : 0f);
          }
        }
      }
      float[] t = cur;
      cur = next;
      next = t;
    }
    for (int p = 0; p < points; p++) {
      int dst = p * stride + from;
      float s = scale[p] * factor;
      for (int k = 0; k < d1; k++) {
        int src = corner[p * d1 + k] * width;
        float w = weight[p * d1 + k] * s;
        for (int c = 0; c < width; c++) {
          out[dst + c] += w * cur[src + c];
        }
      }
    }
  }

  /** Open-addressing hash table of vertex keys ({@code dims} ints each), numbered in order. */
  private static final class VertexTable {
    private final int dims;
    private int[] keys;
    private int[] slots;
    private int size;

    VertexTable(int dims, int expected) {
      this.dims = dims;
      this.keys = new int[expected * dims];
      this.slots = new int[Integer.highestOneBit(Math.max(16, expected) * 2) * 2];
      Arrays.fill(slots, -1);
    }

    int size() {
      return size;
    }

    private static int hash(int[] key, int dims) {
      int h = 0;
      for (int i = 0; i < dims; i++) {
        h = h * 2531011 + key[i];
      }
      h ^= h >>> 16;
      h *= 0x85ebca6b;
      return h ^ h >>> 13;
    }

    private boolean matches(int entry, int[] key) {
      int base = entry * dims;
      for (int i = 0; i < dims; i++) {
        if (keys[base + i] != key[i]) {
          return false;
        }
      }
      return true;
    }

    /** The index of {@code key}, -1 if absent. */
    int find(int[] key) {
      int mask = slots.length - 1;
      for (int s = hash(key, dims) & mask; ; s = (s + 1) & mask) {
        int e = slots[s];
        if (e < 0 || matches(e, key)) {
          return e;
        }
      }
    }

    /** The index of {@code key}, added if absent. */
    int insert(int[] key) {
      int mask = slots.length - 1;
      int s = hash(key, dims) & mask;
      for (; slots[s] >= 0; s = (s + 1) & mask) {
        if (matches(slots[s], key)) {
          return slots[s];
        }
      }
      if ((size + 1) * dims > keys.length) {
        keys = Arrays.copyOf(keys, keys.length * 2);
      }
      System.arraycopy(key, 0, keys, size * dims, dims);
      slots[s] = size++;
      if (size * 2 > slots.length) {
        rehash();
      }
      return size - 1;
    }

    private void rehash() {
      slots = new int[slots.length * 2];
      Arrays.fill(slots, -1);
      int mask = slots.length - 1;
      int[] key = new int[dims];
      for (int e = 0; e < size; e++) {
        System.arraycopy(keys, e * dims, key, 0, dims);
        int s = hash(key, dims) & mask;
        while (slots[s] >= 0) {
          s = (s + 1) & mask;
        }
        slots[s] = e;
      }
    }
  }
}
