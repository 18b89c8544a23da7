// Fusion of elementwise tensor operations (Note [Fusion] in ir/Fusion.cpp).
#pragma once

#include "ir/IR.h"

#include <string>

namespace dlc::ir {

/// Replaces chains of elementwise Float/Double tensor operations in every
/// function of `module` with `tensor.fused` instructions. Runs after
/// differentiation and before the ownership pass.
void fuseElementwise(Module &module);

/// A kernel as an expression over its inputs: `relu(add(#0, #1))`; a kernel
/// with several outputs lists each, separated by ` | `.
std::string describeKernel(const FusedKernel &kernel);

} // namespace dlc::ir
