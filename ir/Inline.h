// Inlining of the derivative rules written in DL (Note [Inlining derivative
// rules] in ir/Inline.cpp).
#pragma once

#include "ir/IR.h"

namespace dlc::ir {

/// Inlines every call of a Function::isRule function, drops what the inlined
/// code computes that nobody reads, and removes the rules no longer called.
/// Runs after differentiation and before fusion.
void inlineRules(Module &module);

} // namespace dlc::ir
