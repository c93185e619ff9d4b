package dev.deeplab.cli;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress of long work: a progress bar on an interactive terminal (on stderr), plain log lines
 * otherwise (pipes, files, CI).
 */
final class Progress implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("deeplab");
  private final ProgressBar bar;

  private Progress(ProgressBar bar) {
    this.bar = bar;
  }

  static Progress start(String task, long total) {
    ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total);
    boolean terminal = System.console() != null && System.getenv("CI") == null;
    if (!terminal) {
      b.setConsumer(new DelegatingProgressBarConsumer(LOG::info)).setStyle(ProgressBarStyle.ASCII)
          .setUpdateIntervalMillis(10_000).continuousUpdate();
    }
    return new Progress(b.build());
  }

  void step() {
    bar.step();
  }

  void extra(String message) {
    bar.setExtraMessage(message);
  }

  @Override
  public void close() {
    bar.close();
  }
}
