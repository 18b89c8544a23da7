// The module loader: parses the main file and, transitively, every file it
// imports with `import "path.dl"` (relative to the importing file), each once.
// Standard-library modules (`import nn`) are resolved from the embedded stdlib.
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"

namespace dlc {

/// The standard-library module of derivative rules that every program loads.
inline constexpr const char *kDerivativeRulesModule = "derivatives";
inline constexpr const char *kDerivativeRulesPath = "<stdlib>/derivatives.dl";

/// Loads `mainPath` and its imports into `program` (dependencies first).
/// Returns false on an unreadable main file (reported as err_cannot_open_file)
/// or any syntax or import error.
bool loadProgram(SourceManager &sources, const std::string &mainPath, DiagEngine &diags,
                 ast::Program &program);

/// As loadProgram, for a buffer already registered in `sources` (the REPL and tests).
bool loadProgramFromBuffer(SourceManager &sources, uint32_t fileId, DiagEngine &diags,
                           ast::Program &program);

/// As loadProgramFromBuffer for several buffers (the REPL's inputs), in
/// order; the last is the main file. Imports shared by two are loaded once.
bool loadProgramFromBuffers(SourceManager &sources, const std::vector<uint32_t> &fileIds,
                            DiagEngine &diags, ast::Program &program);

} // namespace dlc
