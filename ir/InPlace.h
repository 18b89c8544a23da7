// In-place array writes (Note [In-place array writes] in ir/InPlace.cpp).
#pragma once

#include "ir/IR.h"

namespace dlc::ir {

/// Marks the `array.set` instructions of `module` that may write into their
/// operand (Instr::imm = 1) because no other live value sees its buffer, and
/// the `array.accum` ones whose accumulator needs no padding (Note
/// [Accumulations in range]).
void markInPlaceUpdates(Module &module);

} // namespace dlc::ir
