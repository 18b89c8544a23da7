// The standard library modules embedded in dlc (stdlib/*.dl, compiled into a
// table by stdlib/Embed.cmake), for `import <name>` (ModuleLoader.cpp).
#pragma once

namespace dlc {

struct EmbeddedModule {
  const char *name; // "nn" for stdlib/nn.dl
  const char *text;
};

extern const EmbeddedModule kStdlibModules[];
extern const unsigned kStdlibModuleCount;

} // namespace dlc
