// Internal-consistency checks for compiler bugs (never for user errors, which
// are diagnostics): DLC_ASSERT(cond, "why") and DLC_UNREACHABLE("why").
#pragma once

namespace dlc {
[[noreturn]] void reportInternalError(const char *file, int line, const char *why);
} // namespace dlc

#define DLC_ASSERT(cond, why)                                                                      \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      ::dlc::reportInternalError(__FILE__, __LINE__, why);                                         \
  } while (0)
#define DLC_UNREACHABLE(why) ::dlc::reportInternalError(__FILE__, __LINE__, why)
