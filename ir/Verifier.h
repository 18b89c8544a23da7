// The DIR verifier: checks structural and type invariants of a module after
// lowering and after every pass (in tests and with --verify-each).
#pragma once

#include "ir/IR.h"

#include <string>
#include <vector>

namespace dlc::ir {

/// Returns one message per violated invariant (empty when the module is
/// well formed). Each message names the function, block and instruction.
std::vector<std::string> verify(const Module &module);

} // namespace dlc::ir
