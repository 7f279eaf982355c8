/* The floor under "open + close of a 4 KiB file" on this machine, in C with no JavaScript:
 * open, fstat, mmap, close, touch one byte, munmap (what the native backend must do) against
 * open, fstat, read, close (what readFileSync does). bench/run.mjs compiles and runs it. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double microseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  const int rounds = 20000;
  char buffer[4096];
  struct stat st;

  double start = microseconds();
  for (int i = 0; i < rounds; i++) {
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) return 1;
    volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return 1;
    (void) p[0];
    munmap((void *) p, 4096);
  }
  double mapped = microseconds();
  for (int i = 0; i < rounds; i++) {
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || read(fd, buffer, sizeof buffer) < 0) return 1;
    close(fd);
  }
  double read_ = microseconds();
  printf("%.2f %.2f\n", (mapped - start) / rounds, (read_ - mapped) / rounds);
  return 0;
}
