// Lowering: the typed AST (after sema) -> DIR. Builds SSA directly from the
// structured control flow: mutable variables flow through block arguments,
// aggregates and arrays are updated functionally, and inout parameters are
// returned out (Note [Inout lowering] in IR.h).
#pragma once

#include "ir/IR.h"
#include "sema/Sema.h"

namespace dlc::ir {

/// Lowers every function of `program` into `module` (whose `types` and
/// `sources` must be set). Sema must have succeeded.
void lower(const sema::CheckedProgram &program, Module &module);

/// Removes block arguments that always receive the same value and blocks
/// that cannot be reached. Lowering runs it on every function it produces.
void simplifyBlockArgs(Function &function);

} // namespace dlc::ir
