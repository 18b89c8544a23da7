// Reports an internal compiler error and aborts.
#include "frontend/Assert.h"

#include <cstdio>
#include <cstdlib>

namespace dlc {
void reportInternalError(const char *file, int line, const char *why) {
  std::fflush(stdout);
  std::fprintf(stderr, "dlc: internal compiler error: %s (%s:%d)\nplease report this bug\n", why,
               file, line);
  std::abort();
}
} // namespace dlc
