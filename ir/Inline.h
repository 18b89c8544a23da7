// Inlining of the derivative rules written in DL (Note [Inlining derivative
// rules] in ir/Inline.cpp).
#pragma once

#include "ir/IR.h"

namespace dlc::ir {

/// Inlines every call of a Function::isRule function, drops what the inlined
/// code computes that nobody reads, and removes the rules no longer called.
/// Runs after differentiation and before fusion.
void inlineRules(Module &module);

/// Inlines calls of small one-block functions (Note [Inlining small
/// functions] in ir/Inline.cpp). Runs after inlineRules, before fusion.
void inlineSmallFunctions(Module &module);

} // namespace dlc::ir
