package dev.deeplab.internal.crf;

import java.util.Arrays;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

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
 * <p>Built once per image ({@link #build}); {@link #filter} runs on the common fork-join
 * pool and allocates nothing but its tasks.
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
   * 2 * (j * vertices + v)} and the next index; {@code vertices} (a vertex whose value is always
   * 0) where the lattice has none.
   */
  private final int[] neighbour;
  /**
   * The splat's work in parts of the vertices, one per core: part {@code s} owns the vertices
   * from {@code vertices * s / parts} and its corners are {@code splatStart[s]} to {@code
   * splatStart[s + 1]} of {@code splatPoint}, {@code splatVertex} and {@code splatWeight}, in
   * point order (so that each vertex sums its points in the same order whatever the parts).
   */
  private final int[] splatStart;
  private final int[] splatPoint;
  private final int[] splatVertex;
  private final float[] splatWeight;

  private PermutohedralLattice(int dims, int points, int vertices, int[] corner, float[] weight,
      int[] neighbour) {
    this.dims = dims;
    this.points = points;
    this.vertices = vertices;
    this.corner = corner;
    this.weight = weight;
    this.neighbour = neighbour;
    int n = corner.length;
    int parts = Math.max(1, Math.min(ForkJoinPool.getCommonPoolParallelism() + 1,
        vertices / 4096));
    this.splatStart = new int[parts + 1];
    this.splatPoint = new int[n];
    this.splatVertex = new int[n];
    this.splatWeight = new float[n];
    int[] count = new int[parts];
    IntStream.range(0, parts).parallel().forEach(s -> {
      int v0 = (int) ((long) vertices * s / parts);
      int v1 = (int) ((long) vertices * (s + 1) / parts);
      int c = 0;
      for (int e = 0; e < n; e++) {
        if (corner[e] >= v0 && corner[e] < v1) {
          c++;
        }
      }
      count[s] = c;
    });
    for (int s = 0; s < parts; s++) {
      splatStart[s + 1] = splatStart[s] + count[s];
    }
    int d1 = dims + 1;
    IntStream.range(0, parts).parallel().forEach(s -> {
      int v0 = (int) ((long) vertices * s / parts);
      int v1 = (int) ((long) vertices * (s + 1) / parts);
      int i = splatStart[s];
      for (int e = 0; e < n; e++) {
        int v = corner[e];
        if (v >= v0 && v < v1) {
          splatPoint[i] = e / d1;
          splatVertex[i] = v;
          splatWeight[i] = weight[e];
          i++;
        }
      }
    });
  }

  /**
   * The lattice of {@code points} feature vectors of {@code dims} values each, row-major in
   * {@code features} (already divided by their standard deviations).
   */
  public static PermutohedralLattice build(float[] features, int points, int dims) {
    // A parallel stream runs on the calling thread and the common pool's workers: one part more
    // than the pool's parallelism (which is the number of cores less one).
    return build(features, points, dims, Math.max(1,
        Math.min(ForkJoinPool.getCommonPoolParallelism() + 1, points / 16384)), true);
  }

  /**
   * {@link #build(float[], int, int)} with the points split into {@code parts} (at least 1),
   * their corners' keys sorted if {@code packKeys} and 63 bits hold them, else numbered by hash
   * tables; the lattice is the same either way.
   */
  static PermutohedralLattice build(float[] features, int points, int dims, int parts,
      boolean packKeys) {
    if (dims < 1 || features.length != (long) points * dims) {
      throw new IllegalArgumentException("expected " + points + " x " + dims + " features, got "
          + features.length);
    }
    int d1 = dims + 1;
    int[] corner = new int[Math.multiplyExact(points, d1)];
    float[] weight = new float[corner.length];
    int[] keys = vertices(features, dims, corner, weight, 0, points, parts, packKeys);
    int vertices = keys.length / dims;
    // Neighbours along each lattice direction j: +/- ((d+1) e_j - (1, ..., 1)); for j = d only
    // the implied last coordinate moves by d+1. An absent neighbour is the extra vertex
    // {@code vertices}, whose value stays 0. Translating every key by the same vector keeps
    // their order, so the lower neighbours of the vertices in order are found in order, by one
    // merge over the sorted keys per direction (a hash lookup per vertex is a cache miss each);
    // with the keys packed into longs (room left for the step), a step is one addition and a
    // comparison one instruction.
    int[] neighbour = new int[Math.multiplyExact(2 * d1, vertices)];
    Arrays.fill(neighbour, vertices);
    KeyPacking packing = packKeys ? KeyPacking.ofVertices(keys, vertices, dims) : null;
    long[] packed = new long[packing == null ? 0 : vertices];
    for (int v = 0; v < packed.length; v++) {
      packed[v] = packing.pack(keys, v * dims);
    }
    IntStream.range(0, d1).parallel().forEach(j -> {
      int[] down = new int[dims];
      long step = packing == null ? 0 : packing.step(j);
      int u = 0;
      for (int v = 0; v < vertices; v++) {
        int c = -1;
        if (packing != null) {
          long target = packed[v] + step;
          while (u < vertices && packed[u] < target) {
            u++;
          }
          c = u < vertices && packed[u] == target ? 0 : 1;
        } else {
          int base = v * dims;
          for (int i = 0; i < dims; i++) {
            down[i] = keys[base + i] - 1;
          }
          if (j < dims) {
            down[j] = keys[base + j] + dims;
          }
          while (u < vertices && (c = compare(keys, u * dims, down, 0, dims)) < 0) {
            u++;
          }
        }
        if (u < vertices && c == 0) {
          // The relation is symmetric: v is u's neighbour on the other side.
          neighbour[2 * (j * vertices + v)] = u;
          neighbour[2 * (j * vertices + u) + 1] = v;
        }
      }
    });
    return new PermutohedralLattice(dims, points, vertices, corner, weight, neighbour);
  }

  /**
   * The lattice vertices of the simplices enclosing points {@code [p0, p1)}: their keys ({@code
   * dims} ints each) without repeats, in lexicographic order. Sets those points' corners to
   * indices into this list and their barycentric weights. Numbered in key order, a vertex's
   * neighbours, whose first coordinate differs from its own by at most d+1, are a few hundred
   * vertices away rather than anywhere, so that the blur reads them from cache. Splits the
   * points into {@code parts} ranges built in parallel, each sorting its corners' packed keys
   * ({@link #sortedVertices}) or, if {@code packKeys} is false or the keys do not fit in a
   * {@code long}, numbering them in a hash table, and merges their sorted lists; the result
   * depends neither on {@code parts} nor on the way.
   */
  private static int[] vertices(float[] features, int dims, int[] corner, float[] weight,
      int p0, int p1, int parts, boolean packKeys) {
    int d1 = dims + 1;
    if (parts <= 1) {
      KeyPacking packing = packKeys ? KeyPacking.of(features, dims, p0, p1) : null;
      if (packing != null) {
        long[] packed = new long[(p1 - p0) * d1];
        simplices(features, dims, corner, weight, p0, p1, packing, packed);
        return sortedVertices(packed, packing, corner, p0 * d1);
      }
      VertexTable table = simplices(features, dims, corner, weight, p0, p1, null, null);
      int count = table.size();
      int[] order = lexicographicOrder(table.keys, count, dims);
      int[] keys = new int[count * dims];
      int[] renumber = new int[count];
      for (int v = 0; v < count; v++) {
        System.arraycopy(table.keys, order[v] * dims, keys, v * dims, dims);
        renumber[order[v]] = v;
      }
      for (int e = p0 * d1; e < p1 * d1; e++) {
        corner[e] = renumber[corner[e]];
      }
      return keys;
    }
    int left = parts / 2;
    int mid = (int) (p0 + (long) (p1 - p0) * left / parts);
    int[][] halves = new int[2][];
    IntStream.range(0, 2).parallel().forEach(h -> halves[h] = h == 0
        ? vertices(features, dims, corner, weight, p0, mid, left, packKeys)
        : vertices(features, dims, corner, weight, mid, p1, parts - left, packKeys));
    int[] a = halves[0];
    int[] b = halves[1];
    int na = a.length / dims;
    int nb = b.length / dims;
    int[] mapA = new int[na];
    int[] mapB = new int[nb];
    int[] merged = new int[a.length + b.length];
    int count = 0;
    for (int i = 0, j = 0; i < na || j < nb; count++) {
      int c = i == na ? 1 : j == nb ? -1 : compare(a, i * dims, b, j * dims, dims);
      if (c <= 0) {
        System.arraycopy(a, i * dims, merged, count * dims, dims);
        mapA[i++] = count;
        if (c == 0) {
          mapB[j++] = count;
        }
      } else {
        System.arraycopy(b, j * dims, merged, count * dims, dims);
        mapB[j++] = count;
      }
    }
    IntStream.range(0, 2).parallel().forEach(h -> {
      int[] map = h == 0 ? mapA : mapB;
      for (int e = (h == 0 ? p0 : mid) * d1; e < (h == 0 ? mid : p1) * d1; e++) {
        corner[e] = map[corner[e]];
      }
    });
    return Arrays.copyOf(merged, count * dims);
  }

  /**
   * The vertices of the corners {@code packed} (the corners of points {@code [p0, p1)}, from
   * {@code corner[first]} on): sorts the packed keys with their corner numbers (a
   * least-significant-digit radix sort, 11 bits a pass), numbers the runs of equal keys in that
   * order, which is the keys' lexicographic order, and sets each corner to its run's number.
   * Sorting the 1.6 million corners of a 513×513 photo this way takes a few sequential passes
   * where a hash table takes a cache miss per corner. Returns the keys of the runs.
   */
  private static int[] sortedVertices(long[] packed, KeyPacking packing, int[] corner,
      int first) {
    int m = packed.length;
    int[] index = new int[m];
    for (int i = 0; i < m; i++) {
      index[i] = i;
    }
    long[] packedNext = new long[m];
    int[] indexNext = new int[m];
    int[] start = new int[(1 << 11) + 1];
    for (int shift = 0; shift < packing.bits; shift += 11) {
      Arrays.fill(start, 0);
      for (int i = 0; i < m; i++) {
        start[(int) (packed[i] >>> shift & 0x7FF) + 1]++;
      }
      for (int b = 0; b < 1 << 11; b++) {
        start[b + 1] += start[b];
      }
      for (int i = 0; i < m; i++) {
        int to = start[(int) (packed[i] >>> shift & 0x7FF)]++;
        packedNext[to] = packed[i];
        indexNext[to] = index[i];
      }
      long[] t = packed;
      packed = packedNext;
      packedNext = t;
      int[] u = index;
      index = indexNext;
      indexNext = u;
    }
    int count = 0;
    for (int i = 0; i < m; i++) {
      if (i == 0 || packed[i] != packed[i - 1]) {
        count++;
      }
    }
    int dims = packing.dims();
    int[] keys = new int[count * dims];
    int v = -1;
    for (int i = 0; i < m; i++) {
      if (i == 0 || packed[i] != packed[i - 1]) {
        packing.unpack(packed[i], keys, ++v * dims);
      }
      corner[first + index[i]] = v;
    }
    return keys;
  }

  /** The scale of each feature before elevation (the paper's Section 4). */
  private static double[] elevationScale(int dims) {
    int d1 = dims + 1;
    double[] scale = new double[dims];
    for (int i = 0; i < dims; i++) {
      scale[i] = d1 * Math.sqrt(2.0 / 3.0) / Math.sqrt((i + 1.0) * (i + 2.0));
    }
    return scale;
  }

  /**
   * Point {@code p}'s features, scaled, elevated onto the plane {@code x_0 + ... + x_d = 0} of
   * {@code R^(d+1)} (the basis of the paper's Section 3.1), into {@code elevated}.
   */
  private static void elevate(float[] features, int p, int dims, double[] scale,
      double[] elevated) {
    double sum = 0;
    for (int j = dims; j > 0; j--) {
      double cf = features[p * dims + j - 1] * scale[j - 1];
      elevated[j] = sum - j * cf;
      sum += cf;
    }
    elevated[0] = sum;
  }

  /**
   * Vertex keys packed into one {@code long} each, coordinate 0 in the highest bits, each
   * coordinate less its smallest possible value at the width its range needs, so that the
   * packed keys order as the keys do lexicographically. A simplex corner's coordinate lies within
   * {@code 2 (d+1)} of the point's elevated coordinate (rounding to a multiple of {@code d+1},
   * the move back onto the plane, the corner's offset), which bounds the ranges.
   */
  private record KeyPacking(int dims, int[] low, int[] shift, int bits) {
    /** The packing for the corners of points {@code [p0, p1)}; null if 63 bits do not hold it. */
    static KeyPacking of(float[] features, int dims, int p0, int p1) {
      int d1 = dims + 1;
      double[] scale = elevationScale(dims);
      double[] elevated = new double[d1];
      double[] min = new double[dims];
      double[] max = new double[dims];
      Arrays.fill(min, Double.POSITIVE_INFINITY);
      Arrays.fill(max, Double.NEGATIVE_INFINITY);
      for (int p = p0; p < p1; p++) {
        elevate(features, p, dims, scale, elevated);
        for (int i = 0; i < dims; i++) {
          min[i] = Math.min(min[i], elevated[i]);
          max[i] = Math.max(max[i], elevated[i]);
        }
      }
      int[] low = new int[dims];
      long[] range = new long[dims];
      for (int i = 0; i < dims; i++) {
        double lo = Math.floor(min[i]) - 3 * d1;
        double r = Math.ceil(max[i]) + 3 * d1 - lo;
        if (!(r < 1 << 30) || !(lo > Integer.MIN_VALUE / 2)) {
          return null;
        }
        low[i] = (int) lo;
        range[i] = (long) r;
      }
      return of(low, range);
    }

    /**
     * The packing for {@code count} vertex keys and their lower neighbours (each coordinate
     * less 1, one of them plus {@code d+1}); null if 63 bits do not hold it.
     */
    static KeyPacking ofVertices(int[] keys, int count, int dims) {
      int[] low = new int[dims];
      long[] range = new long[dims];
      for (int i = 0; i < dims; i++) {
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int v = 0; v < count; v++) {
          min = Math.min(min, keys[v * dims + i]);
          max = Math.max(max, keys[v * dims + i]);
        }
        low[i] = min - 1;
        range[i] = (long) max + dims + 1 - low[i];
      }
      return of(low, range);
    }

    /** Coordinates from {@code low} over {@code range} (both per coordinate) packed. */
    private static KeyPacking of(int[] low, long[] range) {
      int dims = low.length;
      int[] shift = new int[dims];
      int bits = 0;
      for (int i = dims - 1; i >= 0; i--) {
        if (range[i] >= 1 << 30) {
          return null;
        }
        shift[i] = bits;
        bits += 64 - Long.numberOfLeadingZeros(range[i]);
      }
      return bits <= 63 ? new KeyPacking(dims, low, shift, bits) : null;
    }

    long pack(int[] key) {
      return pack(key, 0);
    }

    long pack(int[] keys, int at) {
      long packed = 0;
      for (int i = 0; i < dims; i++) {
        packed |= (long) (keys[at + i] - low[i]) << shift[i];
      }
      return packed;
    }

    /**
     * What to add to a packed key for its lower neighbour along direction {@code j} (exact if
     * no coordinate leaves its range).
     */
    long step(int j) {
      long step = 0;
      for (int i = 0; i < dims; i++) {
        step -= 1L << shift[i];
      }
      return j < dims ? step + ((long) (dims + 1) << shift[j]) : step;
    }

    void unpack(long packed, int[] keys, int at) {
      for (int i = 0; i < dims; i++) {
        int width = (i == 0 ? bits : shift[i - 1]) - shift[i];
        keys[at + i] = (int) (packed >>> shift[i] & ((1L << width) - 1)) + low[i];
      }
    }
  }

  /**
   * Finds the simplex enclosing each of the points {@code [p0, p1)}: sets their barycentric
   * weights, and either their corners' keys packed by {@code packing} into {@code packed} (from
   * index 0; null table returned) or their corners to vertex numbers in the table returned.
   */
  private static VertexTable simplices(float[] features, int dims, int[] corner, float[] weight,
      int p0, int p1, KeyPacking packing, long[] packed) {
    int d1 = dims + 1;
    double[] scale = elevationScale(dims);
    double[] elevated = new double[d1];
    int[] nearest = new int[d1];
    int[] rank = new int[d1];
    double[] barycentric = new double[d1 + 1];
    int[] key = new int[dims];
    int[] lastKey = new int[d1 * dims];
    int[] lastVertex = new int[d1];
    Arrays.fill(lastVertex, -1);
    VertexTable table = packing == null ? new VertexTable(dims, Math.max(16, p1 - p0)) : null;
    for (int p = p0; p < p1; p++) {
      elevate(features, p, dims, scale, elevated);
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
      // Neighbouring pixels mostly share their simplex: each corner's last key is remembered
      // and its number reused without a hash lookup.
      for (int k = 0; k < d1; k++) {
        weight[p * d1 + k] = (float) barycentric[k];
        if (packing != null) {
          for (int i = 0; i < dims; i++) {
            key[i] = nearest[i] + k - (rank[i] > dims - k ? d1 : 0);
          }
          packed[(p - p0) * d1 + k] = packing.pack(key);
          continue;
        }
        boolean same = lastVertex[k] >= 0;
        for (int i = 0; i < dims; i++) {
          key[i] = nearest[i] + k - (rank[i] > dims - k ? d1 : 0);
          same &= key[i] == lastKey[k * dims + i];
        }
        if (!same) {
          lastVertex[k] = table.insert(key);
          System.arraycopy(key, 0, lastKey, k * dims, dims);
        }
        corner[p * d1 + k] = lastVertex[k];
      }
    }
    return table;
  }

  /** The number of points filtered. */
  public int points() {
    return points;
  }

  /** The number of lattice vertices. */
  public int vertices() {
    return vertices;
  }

  /**
   * Filters {@code in} ({@code [points, channels]} row-major) and sets {@code out} (same layout)
   * to {@code scale[p] * factor} times the result. The splat runs in parts of the vertices in
   * parallel, each blur direction and the slice in parallel over vertices or points.
   *
   * @param a scratch of at least {@code (vertices() + 1) * channels} floats
   * @param b scratch of the same size
   */
  public void filter(float[] in, float[] out, int channels, float[] scale, float factor,
      float[] a, float[] b) {
    int rows = vertices + 1;
    if (a.length < rows * channels || b.length < rows * channels) {
      throw new IllegalArgumentException("scratch too small: " + a.length + " and " + b.length);
    }
    int d1 = dims + 1;
    // Splat: each part of the vertices, in parallel, zeroes its rows and adds its corners in
    // point order, where neighbouring points share vertices and the writes hit cache.
    int parts = splatStart.length - 1;
    IntStream.range(0, parts).parallel().forEach(s -> {
      int v0 = (int) ((long) vertices * s / parts);
      int v1 = (int) ((long) vertices * (s + 1) / parts);
      Arrays.fill(a, v0 * channels, v1 * channels, 0f);
      for (int i = splatStart[s]; i < splatStart[s + 1]; i++) {
        int src = splatPoint[i] * channels;
        int v = splatVertex[i] * channels;
        float w = splatWeight[i];
        for (int c = 0; c < channels; c++) {
          a[v + c] += w * in[src + c];
        }
      }
    });
    Arrays.fill(a, vertices * channels, rows * channels, 0f);
    Arrays.fill(b, vertices * channels, rows * channels, 0f);
    float[][] buffers = {a, b};
    for (int j = 0; j < d1; j++) {
      float[] cur = buffers[j & 1];
      float[] next = buffers[(j + 1) & 1];
      int nb = 2 * j * vertices;
      blocks(vertices, (v0, v1) -> {
        for (int v = v0; v < v1; v++) {
          int self = v * channels;
          int o1 = neighbour[nb + 2 * v] * channels;
          int o2 = neighbour[nb + 2 * v + 1] * channels;
          for (int c = 0; c < channels; c++) {
            next[self + c] = 0.5f * cur[self + c] + 0.25f * (cur[o1 + c] + cur[o2 + c]);
          }
        }
      });
    }
    float[] blurred = buffers[d1 & 1];
    blocks(points, (p0, p1) -> {
      for (int p = p0; p < p1; p++) {
        int dst = p * channels;
        float s = scale[p] * factor;
        int first = corner[p * d1] * channels;
        float w0 = weight[p * d1] * s;
        for (int c = 0; c < channels; c++) {
          out[dst + c] = w0 * blurred[first + c];
        }
        for (int k = 1; k < d1; k++) {
          int src = corner[p * d1 + k] * channels;
          float w = weight[p * d1 + k] * s;
          for (int c = 0; c < channels; c++) {
            out[dst + c] += w * blurred[src + c];
          }
        }
      }
    });
  }

  /** Compares the keys at {@code a[i ..]} and {@code b[j ..]} lexicographically. */
  private static int compare(int[] a, int i, int[] b, int j, int dims) {
    for (int k = 0; k < dims; k++) {
      int c = Integer.compare(a[i + k], b[j + k]);
      if (c != 0) {
        return c;
      }
    }
    return 0;
  }

  /**
   * The numbers {@code 0 .. count-1} of the keys ({@code dims} ints each) in lexicographic order
   * of the keys: a least-significant-digit radix sort, one stable counting pass per 16 bits of
   * each coordinate's range, last coordinate first.
   */
  private static int[] lexicographicOrder(int[] keys, int count, int dims) {
    int[] order = new int[count];
    for (int v = 0; v < count; v++) {
      order[v] = v;
    }
    int[] next = new int[count];
    int[] start = new int[(1 << 16) + 1];
    for (int i = dims - 1; i >= 0; i--) {
      int min = Integer.MAX_VALUE;
      int max = Integer.MIN_VALUE;
      for (int v = 0; v < count; v++) {
        min = Math.min(min, keys[v * dims + i]);
        max = Math.max(max, keys[v * dims + i]);
      }
      long range = (long) max - min;
      for (int shift = 0; shift < 64 && range >>> shift != 0; shift += 16) {
        Arrays.fill(start, 0);
        for (int v = 0; v < count; v++) {
          start[digit(keys[v * dims + i], min, shift) + 1]++;
        }
        for (int b = 0; b < 1 << 16; b++) {
          start[b + 1] += start[b];
        }
        for (int v : order) {
          next[start[digit(keys[v * dims + i], min, shift)]++] = v;
        }
        int[] t = order;
        order = next;
        next = t;
      }
    }
    return order;
  }

  /** The 16 bits at {@code shift} of {@code value - min}. */
  private static int digit(int value, int min, int shift) {
    return (int) (((long) value - min) >>> shift) & 0xFFFF;
  }

  /** A loop body over {@code [from, to)}. */
  private interface Range {
    void run(int from, int to);
  }

  /** Runs {@code body} over {@code [0, n)} in blocks, in parallel. */
  private static void blocks(int n, Range body) {
    int parts = Math.max(1, Math.min(64, n / 8192));
    IntStream.range(0, parts).parallel().forEach(t -> body.run(
        (int) ((long) n * t / parts), (int) ((long) n * (t + 1) / parts)));
  }

  /**
   * Open-addressing hash table of vertex keys ({@code dims} ints each), numbered in order of
   * insertion. Each slot holds the key and its number side by side, so that a probe touches one
   * cache line; {@link #keys} lists the keys by number.
   */
  private static final class VertexTable {
    private final int dims;
    private final int slotInts;
    private int[] keys;
    /** Per slot: the key, then its number + 1 (0: empty). */
    private int[] slots;
    private int capacity;
    private int size;

    VertexTable(int dims, int expected) {
      this.dims = dims;
      this.slotInts = dims + 1;
      this.keys = new int[expected * dims];
      this.capacity = Integer.highestOneBit(Math.max(16, expected) * 2) * 2;
      this.slots = new int[capacity * slotInts];
    }

    int size() {
      return size;
    }

    private static int hash(int[] key, int from, int dims) {
      int h = 0;
      for (int i = 0; i < dims; i++) {
        h = h * 2531011 + key[from + i];
      }
      h ^= h >>> 16;
      h *= 0x85ebca6b;
      return h ^ h >>> 13;
    }

    private boolean matches(int slot, int[] key) {
      int base = slot * slotInts;
      for (int i = 0; i < dims; i++) {
        if (slots[base + i] != key[i]) {
          return false;
        }
      }
      return true;
    }

    /** The number of {@code key}, added if absent. */
    int insert(int[] key) {
      int mask = capacity - 1;
      int s = hash(key, 0, dims) & mask;
      for (; slots[s * slotInts + dims] != 0; s = (s + 1) & mask) {
        if (matches(s, key)) {
          return slots[s * slotInts + dims] - 1;
        }
      }
      if ((size + 1) * dims > keys.length) {
        keys = Arrays.copyOf(keys, keys.length * 2);
      }
      System.arraycopy(key, 0, keys, size * dims, dims);
      System.arraycopy(key, 0, slots, s * slotInts, dims);
      slots[s * slotInts + dims] = ++size;
      if (size * 2 > capacity) {
        rehash();
      }
      return size - 1;
    }

    private void rehash() {
      capacity *= 2;
      slots = new int[capacity * slotInts];
      int mask = capacity - 1;
      for (int e = 0; e < size; e++) {
        int s = hash(keys, e * dims, dims) & mask;
        while (slots[s * slotInts + dims] != 0) {
          s = (s + 1) & mask;
        }
        System.arraycopy(keys, e * dims, slots, s * slotInts, dims);
        slots[s * slotInts + dims] = e + 1;
      }
    }
  }
}
