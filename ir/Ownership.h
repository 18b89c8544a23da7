// Reference counting of tensors (Note [Tensor ownership] in ir/Ownership.cpp).
#pragma once

#include "ir/IR.h"

namespace dlc::ir {

/// Inserts `retain` / `release` for every value of `module` that holds
/// tensors, so each tensor buffer is freed after its last use.
void insertRetainRelease(Module &module);

} // namespace dlc::ir
