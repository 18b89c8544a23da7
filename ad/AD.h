// Compile-time automatic differentiation on DIR (LANGUAGE.md §5).
//
// ad::differentiate replaces every `derivative` instruction that lowering
// emitted for grad / valueAndGrad / vjp / jvp with a closure over a generated
// DIR function, reports what cannot be differentiated (§5.5), and leaves an
// ordinary module behind: the generated functions can be differentiated again
// (higher order) and compiled like any other.
#pragma once

#include "frontend/Diagnostics.h"
#include "ir/IR.h"

namespace dlc::ad {

/// The kinds of `derivative` instructions (Instr::imm), in IROps.def's order.
enum class DerivKind { JVP = 0, VJP = 1, Grad = 2, ValueAndGrad = 3 };

/// Differentiates every request in `module`. Returns false when an error was
/// reported (the module must then not be compiled).
bool differentiate(ir::Module &module, DiagEngine &diags);

} // namespace dlc::ad
