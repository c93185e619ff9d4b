package dev.deeplab.train;

import dev.deeplab.data.VocDataset;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.MaskWriter;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.model.LabelSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The voc-mini test dataset (4 images 513×513 with labels; train and val list the same ids). */
public final class VocMini {
  private VocMini() {}

  public static Path root() {
    return dev.deeplab.testing.TestData.vocMini();
  }

  /**
   * A copy of voc-mini downscaled to {@code size x size} (image bilinear with align corners, label
   * nearest), photos as PNG, in {@code dir}.
   */
  public static Path downscaled(Path dir, int size) throws Exception {
    Path src = root();
    VocDataset ds = new VocDataset(src, "train");
    Files.createDirectories(dir.resolve("JPEGImages"));
    Files.createDirectories(dir.resolve("SegmentationClass"));
    Files.createDirectories(dir.resolve("ImageSets/Segmentation"));
    ImageReader images = new ImageReader();
    LabelReader labels = new LabelReader();
    List<VocDataset.Sample> samples = ds.samples();
    StringBuilder ids = new StringBuilder();
    for (VocDataset.Sample s : samples) {
      RgbImage img = images.read(s.image());
      LabelMap lab = labels.read(s.label());
      MaskWriter.writePng(dir.resolve("JPEGImages/" + s.id() + ".png"), resize(img, size));
      MaskWriter.writeMask(dir.resolve("SegmentationClass/" + s.id() + ".png"),
          resizeNearest(lab, size), LabelSet.PASCAL_VOC.palette());
      ids.append(s.id()).append('\n');
    }
    Files.writeString(dir.resolve("ImageSets/Segmentation/train.txt"), ids);
    Files.writeString(dir.resolve("ImageSets/Segmentation/val.txt"), ids);
    return dir;
  }

  static RgbImage resize(RgbImage img, int size) {
    byte[] out = new byte[size * size * 3];
    float sy = (float) (img.height() - 1) / (size - 1);
    float sx = (float) (img.width() - 1) / (size - 1);
    byte[] in = img.rgb();
    int w = img.width();
    for (int y = 0; y < size; y++) {
      float fy = y * sy;
      int y0 = (int) fy;
      int y1 = Math.min(y0 + 1, img.height() - 1);
      float dy = fy - y0;
      for (int x = 0; x < size; x++) {
        float fx = x * sx;
        int x0 = (int) fx;
        int x1 = Math.min(x0 + 1, w - 1);
        float dx = fx - x0;
        for (int c = 0; c < 3; c++) {
          float v = (1 - dy) * ((1 - dx) * (in[(y0 * w + x0) * 3 + c] & 0xFF)
              + dx * (in[(y0 * w + x1) * 3 + c] & 0xFF))
              + dy * ((1 - dx) * (in[(y1 * w + x0) * 3 + c] & 0xFF)
              + dx * (in[(y1 * w + x1) * 3 + c] & 0xFF));
          out[(y * size + x) * 3 + c] = (byte) Math.round(v);
        }
      }
    }
    return new RgbImage(size, size, out);
  }

  static LabelMap resizeNearest(LabelMap lab, int size) {
    byte[] out = new byte[size * size];
    float sy = (float) (lab.height() - 1) / (size - 1);
    float sx = (float) (lab.width() - 1) / (size - 1);
    for (int y = 0; y < size; y++) {
      int yy = Math.min(Math.round(y * sy), lab.height() - 1);
      for (int x = 0; x < size; x++) {
        int xx = Math.min(Math.round(x * sx), lab.width() - 1);
        out[y * size + x] = lab.ids()[yy * lab.width() + xx];
      }
    }
    return new LabelMap(size, size, out);
  }
}
