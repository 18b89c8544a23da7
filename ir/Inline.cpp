// Inlining of the derivative rules written in DL.
//
// Note [Inlining derivative rules]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// AD differentiates a tensor operation with a rule of stdlib/derivatives.dl
// by calling it (Note [Derivative rules in DL] in sema/DerivativeRules.cpp).
// A call is a wall for fusion (ir/Fusion.cpp) and computes every cotangent
// of the rule, so before fusion each call of a rule is replaced by the
// rule's body:
//
//  * A rule is one block ending in `ret` (the rules are written without
//    control flow); its instructions are copied into the caller before the
//    call, with its parameters bound to the call's operands, and the call's
//    result replaced by the returned value. The copies take the call's
//    location, so a runtime error in one names the user's operation.
//  * What the copies compute and nobody reads is dropped: the cotangent of
//    an operand that needs none (`x @ w` with x a constant), the value a
//    @jvp returns beside the tangent. A `tuple.get` of a returned tuple
//    reads the part directly, so the tuple keeps no part alive.
//  * A copy equal to an operation already computed in the same block (the
//    same tensor operation, result type and operands) reads that one instead:
//    forward mode's rules recompute the primal value, which the caller has.
//    Only copies are merged, so the user's own operations stay as written.
//  * Rules nobody calls any more are removed from the module, renumbering
//    the functions.
//
// Note [Inlining small functions]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// After the rules, a call of a function of one block ending in `ret`, of at
// most kSmallFunction instructions, is replaced by the function's body the
// same way, in two rounds (so a small function's small callees come along).
// A call is a wall for fusion: a layer's `x @ w + b` returned to a caller
// that applies relu, or its derivative's forward pass, would make a tensor
// the caller reads once. The copies keep their own locations (a runtime
// error names the line in the callee), equal operations are not merged,
// and of what nobody reads only tuples, structs and reads of them are
// dropped: an unread operation that fails still fails. Functions with
// branches or loops (a pullback's dispatch) stay calls.
#include "ir/Inline.h"

#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

namespace dlc::ir {

namespace {

bool inlinable(const Function &callee) {
  return callee.isRule && callee.blocks.size() == 1 && !callee.blocks[0].instrs.empty() &&
         callee.blocks[0].instrs.back().op == Op::Ret;
}

/// Tensor operations whose result depends on their operands alone.
bool deterministicTensorOp(TensorOp op) {
  switch (op) {
  case TensorOp::Randn:
  case TensorOp::Rand:
  case TensorOp::Glorot:
  case TensorOp::DropoutMask:
  case TensorOp::LoadIdx:
  case TensorOp::LoadNpy:
  case TensorOp::LoadCsv:
  case TensorOp::SaveNpy:
  case TensorOp::SaveModel:
  case TensorOp::LoadModel:
  case TensorOp::Fused:
    return false;
  default:
    return true;
  }
}

/// Note [Inlining small functions]: a function of one block ending in `ret`,
/// of at most this many instructions, is inlined where it is called.
constexpr size_t kSmallFunction = 64;

bool smallFunction(const Function &callee, const Function &caller) {
  return &callee != &caller && !callee.isExtern && !callee.isEntry && !callee.isReplLine &&
         !callee.isRule && callee.blocks.size() == 1 && !callee.blocks[0].instrs.empty() &&
         callee.blocks[0].instrs.size() <= kSmallFunction &&
         callee.blocks[0].instrs.back().op == Op::Ret &&
         callee.blocks[0].instrs.back().operands.size() == 1;
}

class Inliner {
public:
  /// `rules`: inline the derivative rules (Note [Inlining derivative
  /// rules]); else the small functions (Note [Inlining small functions]).
  Inliner(Module &module, Function &f, bool rules) : module(module), f(f), rules(rules) {}

  void run() {
    bool any = false;
    for (size_t bi = 0; bi < f.blocks.size(); ++bi) {
      std::vector<Instr> out;
      computed.clear(); // only values of this block are merged into
      for (Instr &in : f.blocks[bi].instrs) {
        for (ValueId &o : in.operands)
          o = resolve(o);
        for (Target &t : in.targets)
          for (ValueId &a : t.args)
            a = resolve(a);
        if (in.op == Op::Call && in.result.isValid() &&
            (rules ? inlinable(module.function(in.callee))
                   : smallFunction(module.function(in.callee), f))) {
          inlineCall(in, out);
          any = true;
          continue;
        }
        if (rules && in.op == Op::Tensor && in.result.isValid() &&
            deterministicTensorOp(tensorOpOf(in.imm)))
          computed.emplace(std::make_tuple(in.imm, f.typeOf(in.result), in.operands), in.result);
        out.push_back(std::move(in));
      }
      f.blocks[bi].instrs = std::move(out);
    }
    if (!any)
      return;
    forwardTupleParts();
    replaceUses(f, [&](ValueId v) { return resolve(v); });
    // What the copies compute and nobody reads: anything of a rule's; of a
    // function's, only the tuples, structs and reads of them, which cannot
    // fail (an unread operation that fails must still fail).
    eraseUnused(f, [&](const Instr &in) {
      if (!copies.count(in.result.index) || in.op == Op::Call || in.op == Op::CallClosure)
        return false;
      return rules || in.op == Op::Tuple || in.op == Op::TupleGet || in.op == Op::StructMake ||
             in.op == Op::StructGet;
    });
  }

private:
  ValueId resolve(ValueId v) const {
    for (auto it = replace.find(v.index); it != replace.end(); it = replace.find(v.index))
      v = it->second;
    return v;
  }

  void inlineCall(const Instr &call, std::vector<Instr> &out) {
    const Function &callee = module.function(call.callee);
    const Block &body = callee.blocks[0];
    std::map<uint32_t, ValueId> map;
    for (size_t i = 0; i < body.args.size(); ++i)
      map[body.args[i].index] = call.operands[i];
    auto mapped = [&](ValueId v) { return map.at(v.index); };
    for (size_t k = 0; k + 1 < body.instrs.size(); ++k) {
      Instr copy = body.instrs[k];
      for (ValueId &o : copy.operands)
        o = mapped(o);
      // A rule's operations are the user's operation; a function's keep
      // their own locations.
      if (rules)
        copy.loc = call.loc.isValid() ? call.loc : copy.loc;
      if (copy.result.isValid()) {
        const ValueInfo &info = callee.values[copy.result.index];
        ValueId r = f.addValue(info.type, info.name);
        map[copy.result.index] = r;
        copy.result = r;
        copies.insert(r.index);
        // The same tensor operation of the same operands earlier in the block.
        if (rules && copy.op == Op::Tensor && deterministicTensorOp(tensorOpOf(copy.imm))) {
          auto key = std::make_tuple(copy.imm, info.type, copy.operands);
          auto [it, fresh] = computed.emplace(key, r);
          if (!fresh) {
            map[body.instrs[k].result.index] = it->second;
            continue;
          }
        }
      }
      out.push_back(std::move(copy));
    }
    replace[call.result.index] = mapped(body.instrs.back().operands[0]);
  }

  /// `tuple.get` of a tuple an inlined body made reads the part itself, so
  /// the parts nobody reads (an operand's unneeded cotangent) can go.
  void forwardTupleParts() {
    std::map<uint32_t, const std::vector<ValueId> *> parts;
    for (Block &b : f.blocks)
      for (Instr &in : b.instrs)
        if (in.op == Op::Tuple && copies.count(in.result.index))
          parts[in.result.index] = &in.operands;
    for (Block &b : f.blocks)
      for (Instr &in : b.instrs) {
        if (in.op != Op::TupleGet)
          continue;
        auto it = parts.find(resolve(in.operands[0]).index);
        if (it == parts.end())
          continue;
        replace[in.result.index] = (*it->second)[size_t(in.imm)];
        copies.insert(in.result.index); // now unread, and removable
      }
  }

  Module &module;
  Function &f;
  bool rules;
  std::map<uint32_t, ValueId> replace; // call results -> what the inlined body returned
  std::set<uint32_t> copies;           // values the inlined bodies define
  // Tensor operations of the current block by (op, result type, operands);
  // a copy equal to one reads it instead (`convert` differs by its type).
  std::map<std::tuple<int64_t, const Type *, std::vector<ValueId>>, ValueId> computed;
};

/// Removes the rules no call or closure names any more, renumbering the
/// remaining functions in every reference.
void removeUncalledRules(Module &module) {
  size_t n = module.functions.size();
  std::vector<bool> referenced(n, false);
  for (const Function &f : module.functions) {
    if (f.customVJP.isValid())
      referenced[f.customVJP.index] = true;
    if (f.customJVP.isValid())
      referenced[f.customJVP.index] = true;
    for (const Block &b : f.blocks)
      for (const Instr &in : b.instrs)
        if (in.op == Op::Call || in.op == Op::MakeClosure)
          referenced[in.callee.index] = true;
  }
  std::vector<uint32_t> newIndex(n, UINT32_MAX);
  std::vector<Function> kept;
  for (size_t i = 0; i < n; ++i)
    if (!module.functions[i].isRule || referenced[i]) {
      newIndex[i] = uint32_t(kept.size());
      kept.push_back(std::move(module.functions[i]));
    }
  auto renumber = [&](FuncId &id) {
    if (id.isValid())
      id.index = newIndex[id.index];
  };
  for (Function &f : kept) {
    renumber(f.customVJP);
    renumber(f.customJVP);
    for (Block &b : f.blocks)
      for (Instr &in : b.instrs)
        if (in.op == Op::Call || in.op == Op::MakeClosure)
          renumber(in.callee);
  }
  module.functions = std::move(kept);
  module.tensorRules.clear(); // differentiation is over
}

} // namespace

void inlineRules(Module &module) {
  if (module.tensorRules.empty())
    return;
  for (size_t i = 0; i < module.functions.size(); ++i) {
    Function &f = module.functions[i];
    if (!f.isExtern && !f.isRule)
      Inliner(module, f, true).run();
  }
  removeUncalledRules(module);
}

void inlineSmallFunctions(Module &module) {
  // DLC_NO_INLINE=1 keeps every call, for comparisons and bisecting.
  if (getenv("DLC_NO_INLINE"))
    return;
  // Two rounds: a function's small callees, then what they called.
  for (int round = 0; round < 2; ++round)
    for (Function &f : module.functions)
      if (!f.isExtern && !f.blocks.empty())
        Inliner(module, f, false).run();
}

} // namespace dlc::ir
