// The parser: runs the ANTLR-generated lexer and parser over one source file,
// reports syntax errors as diagnostics (with recovery, so one run reports
// several), and builds the AST. ANTLR types never appear outside Parser.cpp.
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"

namespace dlc {

/// Parses file `fileId` into `out` (whose fileId and path are set). Returns
/// false when there were syntax errors; `out` then holds whatever could be built.
bool parseSourceFile(const SourceManager &sources, uint32_t fileId, ast::ASTContext &context,
                     DiagEngine &diags, ast::SourceFile &out);

} // namespace dlc
