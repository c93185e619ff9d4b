package dev.deeplab.internal.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The huge-page state from the kernel's THP mode file and glibc's tunables. */
class HugePagesTest {

  @Test
  void hugePagesFollowTheKernelModeAndGlibcTunable() {
    assertEquals("on (THP always, glibc hugetlb=unset)",
        HugePages.describe("[always] madvise never\n", null));
    assertEquals("off (THP madvise, glibc hugetlb=unset)",
        HugePages.describe("always [madvise] never\n", null));
    assertEquals("on (THP madvise, glibc hugetlb=1)",
        HugePages.describe("always [madvise] never\n", "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"));
    assertEquals("off (THP madvise, glibc hugetlb=0)",
        HugePages.describe("always [madvise] never\n", "glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0"));
    assertEquals("off (THP never, glibc hugetlb=1)",
        HugePages.describe("always madvise [never]\n", "glibc.malloc.hugetlb=1"));
    assertEquals("off (THP unavailable, glibc hugetlb=1)", HugePages.describe(null, "glibc.malloc.hugetlb=1"));
  }

  @Test
  void hintOnlyWhenTheKernelWouldGiveHugePagesAndNobodyChose() {
    assertTrue(HugePages.worthHinting("always [madvise] never\n", null));
    assertTrue(HugePages.worthHinting("always [madvise] never\n", "glibc.malloc.arena_max=2"));
    assertFalse(HugePages.worthHinting("always [madvise] never\n", "glibc.malloc.hugetlb=0"));
    assertFalse(HugePages.worthHinting("always [madvise] never\n", "glibc.malloc.hugetlb=1"));
    assertFalse(HugePages.worthHinting("[always] madvise never\n", null));
    assertFalse(HugePages.worthHinting("always madvise [never]\n", null));
    assertFalse(HugePages.worthHinting(null, null));
  }
}
