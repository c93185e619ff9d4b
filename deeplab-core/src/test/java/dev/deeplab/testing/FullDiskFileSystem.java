package dev.deeplab.testing;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.spi.FileSystemProvider;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A file system over the default one that runs out of space: once {@code freeBytes} bytes have
 * been written (through any channel or stream, all files together), every further write writes
 * what still fits and fails with {@code IOException("No space left on device")}, the message the
 * JDK gives for {@code ENOSPC}. Everything else (directories, renames, deletes, attributes) passes
 * through to the real files under the wrapped paths.
 *
 * <p>It lets the full-disk behaviour of code that writes through {@link java.nio.file.Files} be
 * tested without root (no tmpfs mount): pass {@link #path} results instead of real paths.
 */
public final class FullDiskFileSystem extends FileSystem {
  /** What the JDK reports for ENOSPC. */
  public static final String ENOSPC = "No space left on device";

  private final FileSystem real = java.nio.file.FileSystems.getDefault();
  private final Provider provider = new Provider();
  private final AtomicLong free;
  private final AtomicLong written = new AtomicLong();

  /** A file system with {@code freeBytes} bytes of room over the default file system. */
  public FullDiskFileSystem(long freeBytes) {
    this.free = new AtomicLong(freeBytes);
  }

  /** The wrapped path for a real one. */
  public Path path(Path realPath) {
    return new WrappedPath(realPath);
  }

  /** Bytes written so far (at most the free space given). */
  public long written() {
    return written.get();
  }

  private static Path unwrap(Path p) {
    if (p instanceof WrappedPath w) {
      return w.real;
    }
    throw new java.nio.file.ProviderMismatchException(String.valueOf(p));
  }

  /** Takes up to {@code n} bytes of the free space; returns how many were granted. */
  private int take(int n) {
    while (true) {
      long f = free.get();
      int granted = (int) Math.min(n, f);
      if (free.compareAndSet(f, f - granted)) {
        written.addAndGet(granted);
        return granted;
      }
    }
  }

  /** Writes {@code src} to {@code sink} as far as the space lasts, then fails with ENOSPC. */
  private int write(ByteBuffer src, WritableByteChannel sink) throws IOException {
    int want = src.remaining();
    int granted = take(want);
    ByteBuffer part = src.slice().limit(granted);
    int done = 0;
    while (part.hasRemaining()) {
      done += sink.write(part);
    }
    src.position(src.position() + done);
    if (granted < want) {
      throw new IOException(ENOSPC);
    }
    return done;
  }

  @Override
  public FileSystemProvider provider() {
    return provider;
  }

  @Override
  public void close() {}

  @Override
  public boolean isOpen() {
    return true;
  }

  @Override
  public boolean isReadOnly() {
    return false;
  }

  @Override
  public String getSeparator() {
    return real.getSeparator();
  }

  @Override
  public Iterable<Path> getRootDirectories() {
    return () -> java.util.stream.StreamSupport.stream(real.getRootDirectories().spliterator(),
        false).map(p -> (Path) new WrappedPath(p)).iterator();
  }

  @Override
  public Iterable<FileStore> getFileStores() {
    return real.getFileStores();
  }

  @Override
  public Set<String> supportedFileAttributeViews() {
    return real.supportedFileAttributeViews();
  }

  @Override
  public Path getPath(String first, String... more) {
    return new WrappedPath(real.getPath(first, more));
  }

  @Override
  public PathMatcher getPathMatcher(String syntaxAndPattern) {
    PathMatcher m = real.getPathMatcher(syntaxAndPattern);
    return p -> m.matches(unwrap(p));
  }

  @Override
  public UserPrincipalLookupService getUserPrincipalLookupService() {
    return real.getUserPrincipalLookupService();
  }

  @Override
  public WatchService newWatchService() {
    throw new UnsupportedOperationException("no watch service");
  }

  private final class WrappedPath implements Path {
    final Path real;

    WrappedPath(Path real) {
      this.real = real;
    }

    private Path wrap(Path p) {
      return p == null ? null : new WrappedPath(p);
    }

    @Override
    public FileSystem getFileSystem() {
      return FullDiskFileSystem.this;
    }

    @Override
    public boolean isAbsolute() {
      return real.isAbsolute();
    }

    @Override
    public Path getRoot() {
      return wrap(real.getRoot());
    }

    @Override
    public Path getFileName() {
      return wrap(real.getFileName());
    }

    @Override
    public Path getParent() {
      return wrap(real.getParent());
    }

    @Override
    public int getNameCount() {
      return real.getNameCount();
    }

    @Override
    public Path getName(int index) {
      return wrap(real.getName(index));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
      return wrap(real.subpath(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
      return other instanceof WrappedPath w && real.startsWith(w.real);
    }

    @Override
    public boolean endsWith(Path other) {
      return other instanceof WrappedPath w && real.endsWith(w.real);
    }

    @Override
    public Path normalize() {
      return wrap(real.normalize());
    }

    @Override
    public Path resolve(Path other) {
      return wrap(real.resolve(unwrap(other)));
    }

    @Override
    public Path relativize(Path other) {
      return wrap(real.relativize(unwrap(other)));
    }

    @Override
    public URI toUri() {
      return real.toUri();
    }

    @Override
    public Path toAbsolutePath() {
      return wrap(real.toAbsolutePath());
    }

    @Override
    public Path toRealPath(LinkOption... options) throws IOException {
      return wrap(real.toRealPath(options));
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events,
        WatchEvent.Modifier... modifiers) {
      throw new UnsupportedOperationException("no watch service");
    }

    @Override
    public int compareTo(Path other) {
      return real.compareTo(unwrap(other));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof WrappedPath w && w.getFileSystem() == getFileSystem()
          && real.equals(w.real);
    }

    @Override
    public int hashCode() {
      return real.hashCode();
    }

    @Override
    public String toString() {
      return real.toString();
    }

    @Override
    public Iterator<Path> iterator() {
      return java.util.stream.StreamSupport.stream(real.spliterator(), false).map(this::wrap)
          .iterator();
    }
  }

  /** A file channel whose writes draw on the free space. */
  private final class LimitedChannel extends FileChannel {
    private final FileChannel ch;

    LimitedChannel(FileChannel ch) {
      this.ch = ch;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      return ch.read(dst);
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
      return ch.read(dsts, offset, length);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      return FullDiskFileSystem.this.write(src, ch);
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
      long n = 0;
      for (int i = offset; i < offset + length; i++) {
        n += write(srcs[i]);
      }
      return n;
    }

    @Override
    public long position() throws IOException {
      return ch.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
      ch.position(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      return ch.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
      ch.truncate(size);
      return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
      ch.force(metaData);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target)
        throws IOException {
      return ch.transferTo(position, count, target);
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count)
        throws IOException {
      ByteBuffer buf = ByteBuffer.allocate((int) Math.min(count, 1 << 16));
      long done = 0;
      while (done < count) {
        buf.clear().limit((int) Math.min(buf.capacity(), count - done));
        int n = src.read(buf);
        if (n <= 0) {
          break;
        }
        buf.flip();
        done += write(buf, position + done);
      }
      return done;
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return ch.read(dst, position);
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
      long before = ch.position();
      ch.position(position);
      try {
        return write(src);
      } finally {
        ch.position(before);
      }
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
      throw new UnsupportedOperationException("no memory mapping on a full disk");
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
      return ch.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
      return ch.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
      ch.close();
    }
  }

  private final class Provider extends FileSystemProvider {
    private final FileSystemProvider fs = real.provider();

    @Override
    public String getScheme() {
      return "fulldisk";
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
      throw new UnsupportedOperationException();
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
      return FullDiskFileSystem.this;
    }

    @Override
    public Path getPath(URI uri) {
      return new WrappedPath(fs.getPath(uri));
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options,
        FileAttribute<?>... attrs) throws IOException {
      return new LimitedChannel(fs.newFileChannel(unwrap(path), options, attrs));
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
        FileAttribute<?>... attrs) throws IOException {
      return newFileChannel(path, options, attrs);
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir,
        DirectoryStream.Filter<? super Path> filter) throws IOException {
      DirectoryStream<Path> s = fs.newDirectoryStream(unwrap(dir), p -> true);
      return new DirectoryStream<>() {
        @Override
        public Iterator<Path> iterator() {
          return java.util.stream.StreamSupport.stream(s.spliterator(), false)
              .map(p -> (Path) new WrappedPath(p)).filter(p -> {
                try {
                  return filter.accept(p);
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              }).iterator();
        }

        @Override
        public void close() throws IOException {
          s.close();
        }
      };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
      fs.createDirectory(unwrap(dir), attrs);
    }

    @Override
    public void delete(Path path) throws IOException {
      fs.delete(unwrap(path));
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
      throw new UnsupportedOperationException("copy on a full disk");
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
      fs.move(unwrap(source), unwrap(target), options);
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
      return fs.isSameFile(unwrap(path), unwrap(path2));
    }

    @Override
    public boolean isHidden(Path path) throws IOException {
      return fs.isHidden(unwrap(path));
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
      return fs.getFileStore(unwrap(path));
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
      fs.checkAccess(unwrap(path), modes);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type,
        LinkOption... options) {
      return fs.getFileAttributeView(unwrap(path), type, options);
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type,
        LinkOption... options) throws IOException {
      return fs.readAttributes(unwrap(path), type, options);
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes,
        LinkOption... options) throws IOException {
      return fs.readAttributes(unwrap(path), attributes, options);
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options)
        throws IOException {
      fs.setAttribute(unwrap(path), attribute, value, options);
    }
  }
}
