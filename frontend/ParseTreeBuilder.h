// The parse-tree → AST builder, private to frontend/: walks a DlParser parse
// tree and creates AST nodes in an ASTContext, decoding literals and checking
// attribute names. Used only by Parser.cpp; ANTLR types stay inside frontend/.
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"

#include "DlParser.h"

#include <string_view>

namespace dlc {

/// Builds the AST of `tree` (the text of file `fileId` is `text`) into `out`.
/// With `cleanItemsOnly`, top-level items whose subtrees hold a syntax error
/// are skipped. Returns false when it reported an error of its own (a bad
/// literal or escape, an unknown attribute, a misplaced `self`, ...).
bool buildAST(grammar::DlParser::SourceFileContext *tree, std::string_view text, uint32_t fileId,
              ast::ASTContext &context, DiagEngine &diags, ast::SourceFile &out,
              bool cleanItemsOnly);

} // namespace dlc
