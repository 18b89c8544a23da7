// Fusion of elementwise tensor operations (Note [Fusion]).
//
// Note [Fusion]
// A chain of elementwise operations on Float or Double tensors, such as
// `relu(x @ w + b)` or `v * 0.9 + g`, would make one tensor per operation.
// After differentiation (so derivative code is fused too), this pass groups
// them: an elementwise operation absorbs an operand made by another
// elementwise operation of the same type in the same block when that value
// has no other use. A group of two or more becomes one `tensor.fused`
// instruction whose operands are the group's inputs and whose kernel
// (Function::kernels) lists the operations. Codegen compiles each kernel into
// one loop nest over the broadcast result (codegen/EmitFused.cpp); the
// runtime (dlrt_t_fused) runs it, split across threads for large tensors,
// and falls back to the operations one by one, which keeps their exact
// semantics and error messages, when an input is a zero tangent (NULL) or
// broadcasts in a way the loop does not cover. The operations are pure, so
// computing an absorbed one at the group's root instead of where it was
// changes nothing but the memory traffic.
//
// Note [Fused reductions]
// A `sum`, `mean`, `max`, `min` or `logSumExp` (of all elements or over one
// axis) of a Float or Double
// tensor made by an elementwise operation that nothing else uses, such as
// `sum(g * x)` in a derivative or `mean((p - y) * (p - y))` in a loss,
// absorbs that operation's group: the instruction becomes a `tensor.fused`
// whose kernel is marked as reduced, whose result is the reduction's, and
// which keeps an axis reduction's axis and keepDims as its last operands.
// The runtime (dlrt_t_fused_reduce, dlrt_t_fused_reduce_axis) adds the
// kernel's values in the order the plain reduction adds the tensor's: the
// pairwise summation of a contiguous run, evaluating the kernel into a stack
// buffer for each block of at most 128 elements, or row by row into the
// output across an inner axis; max and min keep the plain run's interleaved
// lanes, and logSumExp evaluates the kernel twice (the maximum, then the
// shifted exponentials in the plain run's four sums). So the result is bit
// for bit that of the separate operations, and the tensor is never written
// to memory.
#include "ir/Fusion.h"

#include <cstdlib>
#include <functional>
#include <map>

namespace dlc::ir {

namespace {

bool fusable(TensorOp op) {
  switch (op) {
  case TensorOp::Neg:
  case TensorOp::Exp:
  case TensorOp::Log:
  case TensorOp::Log1p:
  case TensorOp::Sqrt:
  case TensorOp::Rsqrt:
  case TensorOp::Abs:
  case TensorOp::Sin:
  case TensorOp::Cos:
  case TensorOp::Tanh:
  case TensorOp::Sigmoid:
  case TensorOp::Relu:
  case TensorOp::Sign:
  case TensorOp::Floor:
  case TensorOp::Ceil:
  case TensorOp::Round:
  case TensorOp::Step:
  case TensorOp::Add:
  case TensorOp::Sub:
  case TensorOp::Mul:
  case TensorOp::Div:
  case TensorOp::Pow:
  case TensorOp::Min:
  case TensorOp::Max:
    return true;
  default:
    return false;
  }
}

/// An instruction a kernel can hold: a fusable operation on tensors of one
/// floating-point type.
bool candidate(const Function &f, const Instr &in) {
  if (in.op != Op::Tensor || !in.result.isValid() || !fusable(tensorOpOf(in.imm)))
    return false;
  const Type *t = f.typeOf(in.result);
  auto *tt = sema::asTensor(t);
  if (!tt || !tt->element->isFloatingPoint())
    return false;
  for (ValueId o : in.operands)
    if (f.typeOf(o) != t)
      return false;
  return true;
}

class BlockFuser {
public:
  BlockFuser(Function &f, Block &block, const std::vector<unsigned> &uses)
      : f(f), block(block), uses(uses) {}

  void run() {
    // Where each value of this block is defined.
    for (size_t k = 0; k < block.instrs.size(); ++k)
      if (block.instrs[k].result.isValid())
        defAt[block.instrs[k].result.index] = k;
    absorbed.assign(block.instrs.size(), false);
    // Roots from the end, so a group is as large as it can be.
    for (size_t k = block.instrs.size(); k-- > 0;) {
      Instr &in = block.instrs[k];
      if (!absorbed[k] && reduction(in))
        fuseReduction(k);
      if (absorbed[k] || !candidate(f, in))
        continue;
      fuseAt(k);
    }
    std::vector<Instr> kept;
    for (size_t k = 0; k < block.instrs.size(); ++k)
      if (!absorbed[k])
        kept.push_back(std::move(block.instrs[k]));
    block.instrs = std::move(kept);
  }

private:
  /// The instruction of this block that an operand `v` of instruction `user`
  /// can be computed from inside the kernel, or -1. `type` is the kernel's
  /// tensor type.
  long absorbable(ValueId v, size_t user, const Type *type) const {
    auto it = defAt.find(v.index);
    if (it == defAt.end() || it->second >= user || uses[v.index] != 1)
      return -1;
    const Instr &def = block.instrs[it->second];
    if (absorbed[it->second] || !candidate(f, def) || f.typeOf(def.result) != type)
      return -1;
    return long(it->second);
  }

  /// A sum, mean, max, min or logSumExp, of all elements or over an axis,
  /// of a Float or Double tensor.
  bool reduction(const Instr &in) const {
    if (in.op != Op::Tensor || !in.result.isValid() || in.operands.empty())
      return false;
    TensorOp op = tensorOpOf(in.imm);
    auto *tt = sema::asTensor(f.typeOf(in.operands[0]));
    bool all = (op == TensorOp::SumAll || op == TensorOp::MeanAll || op == TensorOp::MaxAll ||
                op == TensorOp::MinAll || op == TensorOp::LogSumExpAll) &&
               in.operands.size() == 1;
    bool axis = (op == TensorOp::SumAxis || op == TensorOp::MeanAxis || op == TensorOp::MaxAxis ||
                 op == TensorOp::MinAxis || op == TensorOp::LogSumExpAxis) &&
                in.operands.size() == 3;
    return (all || axis) && tt && tt->element->isFloatingPoint();
  }

  /// Note [Fused reductions]: the reduction at `k` takes in the group that
  /// makes its operand, when it may.
  void fuseReduction(size_t k) {
    Instr &in = block.instrs[k];
    const Type *type = f.typeOf(in.operands[0]);
    long def = absorbable(in.operands[0], k, type);
    if (def < 0)
      return;
    TensorOp op = tensorOpOf(in.imm);
    if (!fuseAt(size_t(def), 1))
      return;
    // The kernel fuseAt made at `def` moves into the reduction, which keeps
    // an axis reduction's axis and keepDims after the kernel's inputs.
    Instr &group = block.instrs[size_t(def)];
    f.kernels[size_t(group.kernel)].reduce = op;
    std::vector<ValueId> operands = group.operands;
    operands.insert(operands.end(), in.operands.begin() + 1, in.operands.end());
    in.operands = std::move(operands);
    in.kernel = group.kernel;
    in.imm = int64_t(TensorOp::Fused);
    in.reuse = 0;
    absorbed[size_t(def)] = true;
  }

  /// Makes the group rooted at `root` one `tensor.fused` when it has at
  /// least `minNodes` operations; returns whether it did.
  bool fuseAt(size_t root, size_t minNodes = 2) {
    FusedKernel kernel;
    kernel.type = f.typeOf(block.instrs[root].result);
    std::vector<ValueId> inputs;
    std::vector<size_t> members;
    // Post-order: operands' nodes before their user's.
    std::function<int(size_t)> node = [&](size_t k) -> int {
      const Instr &in = block.instrs[k];
      int ops[2] = {0, 0};
      for (size_t o = 0; o < in.operands.size(); ++o) {
        long def = absorbable(in.operands[o], k, kernel.type);
        if (def >= 0) {
          ops[o] = node(size_t(def));
          continue;
        }
        size_t i = 0;
        while (i < inputs.size() && inputs[i] != in.operands[o])
          ++i;
        if (i == inputs.size())
          inputs.push_back(in.operands[o]);
        ops[o] = -1 - int(i);
      }
      members.push_back(k);
      kernel.nodes.push_back(FusedNode{tensorOpOf(in.imm), ops[0], ops[1], in.loc});
      return int(kernel.nodes.size()) - 1;
    };
    node(root);
    if (kernel.nodes.size() < minNodes)
      return false;
    kernel.inputs = unsigned(inputs.size());
    for (size_t k : members)
      if (k != root)
        absorbed[k] = true;
    Instr &in = block.instrs[root];
    in.imm = int64_t(TensorOp::Fused);
    in.operands = inputs;
    in.kernel = int32_t(f.kernels.size());
    in.reuse = 0;
    f.kernels.push_back(std::move(kernel));
    return true;
  }

  Function &f;
  Block &block;
  const std::vector<unsigned> &uses;
  std::map<uint32_t, size_t> defAt;
  std::vector<bool> absorbed;
};

/// Reads of a field or element of a struct or tuple made in this function
/// become the value it was made from, and aggregates nobody reads any more
/// are dropped, so that `v * 0.9 + g` on a struct of tensors (each field
/// multiplied, the products gathered in a struct, then each added) links the
/// products straight to their sums.
void forwardAggregates(Function &f) {
  std::map<uint32_t, const Instr *> makes;
  for (const Block &b : f.blocks)
    for (const Instr &in : b.instrs)
      if ((in.op == Op::StructMake || in.op == Op::Tuple) && in.result.isValid())
        makes[in.result.index] = &in;
  std::vector<ValueId> replace(f.values.size());
  auto resolve = [&](ValueId v) {
    while (replace[v.index].isValid())
      v = replace[v.index];
    return v;
  };
  for (const Block &b : f.blocks)
    for (const Instr &in : b.instrs) {
      if ((in.op != Op::StructGet && in.op != Op::TupleGet) || !in.result.isValid())
        continue;
      auto it = makes.find(resolve(in.operands[0]).index);
      if (it != makes.end() && size_t(in.imm) < it->second->operands.size())
        replace[in.result.index] = it->second->operands[size_t(in.imm)];
    }
  replaceUses(f, resolve);
  // Drop aggregates and reads that are no longer used (they cannot fail).
  eraseUnused(f, [](const Instr &in) {
    return in.op == Op::StructMake || in.op == Op::Tuple || in.op == Op::StructGet ||
           in.op == Op::TupleGet;
  });
}

} // namespace

void fuseElementwise(Module &module) {
  // DLC_NO_FUSION=1 keeps every operation apart, for benchmarks and for
  // bisecting a suspected fusion problem (`dlc build`, `run` and the REPL).
  if (getenv("DLC_NO_FUSION"))
    return;
  for (Function &f : module.functions) {
    if (f.isExtern)
      continue;
    forwardAggregates(f);
    std::vector<unsigned> uses = countUses(f);
    for (Block &b : f.blocks)
      BlockFuser(f, b, uses).run();
  }
}

std::string describeKernel(const FusedKernel &kernel) {
  std::function<std::string(int)> text = [&](int n) -> std::string {
    if (n < 0)
      return "#" + std::to_string(-1 - n);
    const FusedNode &node = kernel.nodes[size_t(n)];
    std::string s = std::string(tensorOpName(node.op)) + "(" + text(node.a);
    if (isTensorBinary(node.op))
      s += ", " + text(node.b);
    return s + ")";
  };
  if (kernel.nodes.empty())
    return std::string();
  std::string body = text(int(kernel.nodes.size()) - 1);
  return kernel.reduces() ? std::string(tensorOpName(kernel.reduce)) + "(" + body + ")" : body;
}

} // namespace dlc::ir
