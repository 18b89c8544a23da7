// DIR core: the op table's properties and the builders of functions and
// modules declared in ir/IR.h. Consumed by lowering, AD, passes and codegen.
#include "ir/IR.h"

#include <algorithm>

namespace dlc::ir {

const char *mnemonic(Op op) {
  switch (op) {
#define OP(Name, Mnemonic)                                                                         \
  case Op::Name:                                                                                   \
    return Mnemonic;
#include "ir/IROps.def"
  }
  return "<invalid op>";
}

const char *tensorOpName(TensorOp op) {
  switch (op) {
#define TOP(Id, Name, Kind)                                                                        \
  case TensorOp::Id:                                                                               \
    return Name;
#include "ir/TensorOps.def"
  }
  return "<invalid tensor op>";
}

namespace {
enum class TensorKind { Unary, Binary, Other };
TensorKind tensorKind(TensorOp op) {
  switch (op) {
#define TOP(Id, Name, Kind)                                                                        \
  case TensorOp::Id:                                                                               \
    return TensorKind::Kind;
#include "ir/TensorOps.def"
  }
  return TensorKind::Other;
}
} // namespace

bool isTensorUnary(TensorOp op) { return tensorKind(op) == TensorKind::Unary; }
bool isTensorBinary(TensorOp op) { return tensorKind(op) == TensorKind::Binary; }

bool isTerminator(Op op) {
  return op == Op::Br || op == Op::CondBr || op == Op::Ret || op == Op::Unreachable;
}

bool hasNoResult(Op op) {
  return isTerminator(op) || op == Op::Print || op == Op::Assert || op == Op::Exit ||
         op == Op::Seed || op == Op::Retain ||
         op == Op::Release;
}

ValueId Function::addValue(const Type *type, std::string name) {
  values.push_back(ValueInfo{type, std::move(name)});
  return ValueId{uint32_t(values.size() - 1)};
}

BlockId Function::addBlock(std::string name) {
  Block b;
  b.name = std::move(name);
  blocks.push_back(std::move(b));
  return BlockId{uint32_t(blocks.size() - 1)};
}

FuncId Module::addFunction(Function f) {
  functions.push_back(std::move(f));
  return FuncId{uint32_t(functions.size() - 1)};
}

FuncId Module::tensorRule(TensorOp op, const Type *element, bool vjp) const {
  auto it = tensorRules.find({op, element, vjp});
  return it == tensorRules.end() ? FuncId{} : it->second;
}

FuncId Module::lookup(const std::string &name) const {
  for (size_t i = 0; i < functions.size(); ++i)
    if (functions[i].name == name)
      return FuncId{uint32_t(i)};
  return FuncId{};
}

std::vector<unsigned> countUses(const Function &f) {
  std::vector<unsigned> uses(f.values.size(), 0);
  for (const Block &b : f.blocks)
    for (const Instr &in : b.instrs) {
      for (ValueId o : in.operands)
        ++uses[o.index];
      for (const Target &t : in.targets)
        for (ValueId a : t.args)
          ++uses[a.index];
    }
  return uses;
}

void replaceUses(Function &f, const std::function<ValueId(ValueId)> &resolve) {
  for (Block &b : f.blocks)
    for (Instr &in : b.instrs) {
      for (ValueId &o : in.operands)
        o = resolve(o);
      for (Target &t : in.targets)
        for (ValueId &a : t.args)
          a = resolve(a);
    }
}

void eraseUnused(Function &f, const std::function<bool(const Instr &)> &removable) {
  for (bool changed = true; changed;) {
    changed = false;
    std::vector<unsigned> uses = countUses(f);
    for (Block &b : f.blocks) {
      size_t before = b.instrs.size();
      std::erase_if(b.instrs, [&](const Instr &in) {
        return in.result.isValid() && uses[in.result.index] == 0 && removable(in);
      });
      changed |= b.instrs.size() != before;
    }
  }
}

} // namespace dlc::ir
