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
// A `where` choosing between tensors of the group's type joins it too. Its
// condition is a node when it is a comparison of such tensors that nothing
// else reads (the Bool value is never stored), else a Bool input of the
// kernel, read only as a condition (DlFusedKernel::inputKinds).
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
//
// Note [Fused outputs]
// An elementwise group whose value is needed apart from the group that
// uses it, such as the momentum update's `v2 = v * 0.9 + g` (kept as the
// next velocity) feeding `p + v2 * -0.01`, would make the consumer read v2
// back from memory: two passes where a hand-written loop makes one. So the
// producer's group joins its consumer's kernel, which stores the producer's
// value as a further output: the instruction's result becomes the tuple
// (consumer, producer, ...) and `tuple.get`s give the two values their old
// names. The merged instruction sits where the consumer was; the producer's
// other users in between (only structs and tuples, which cannot fail) move
// after it. A consumer may take in several producers (Adam's moments and its
// parameter: three outputs), each as one more output. Each output may
// compute into a dying input's buffer (Instr::extraReuse).
// At run time (dlrt_t_fused_multi) an output whose own inputs broadcast to a
// smaller shape than the whole kernel's (the producer was broadcast in the
// consumer) is computed apart, node by node, at its own shape; the loop's
// value for it goes to a scratch buffer. The consumer's output never differs:
// it reads every input.
#include "ir/Fusion.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

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
      if (absorbed[k] || !in.result.isValid() || !groupable(k, f.typeOf(in.result)))
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
    if (absorbed[it->second] || !groupable(it->second, type))
      return -1;
    return long(it->second);
  }

  /// Whether the instruction at `k` can be a node of a kernel on `type`: an
  /// operation `candidate` allows, or a `where` choosing between `type`
  /// tensors. Its condition is a node when it is a comparison of `type`
  /// tensors that nothing else reads, else a Bool input of the kernel (read
  /// only as a condition; a kernel's results are never Bool).
  bool groupable(size_t k, const Type *type) const {
    const Instr &in = block.instrs[k];
    if (candidate(f, in))
      return f.typeOf(in.result) == type;
    auto *tt = sema::asTensor(type);
    bool where = in.op == Op::Tensor && in.result.isValid() &&
                 tensorOpOf(in.imm) == TensorOp::Where && in.operands.size() == 3 && tt &&
                 tt->element->isFloatingPoint() && f.typeOf(in.result) == type &&
                 f.typeOf(in.operands[1]) == type && f.typeOf(in.operands[2]) == type;
    return where;
  }

  /// The comparison that makes the condition of the `where` at `k`, when a
  /// kernel on `type` can compute it, or -1.
  long whereCondition(size_t k, const Type *type) const {
    ValueId c = block.instrs[k].operands[0];
    auto it = defAt.find(c.index);
    if (it == defAt.end() || it->second >= k || uses[c.index] != 1 || absorbed[it->second])
      return -1;
    const Instr &def = block.instrs[it->second];
    if (def.op != Op::Tensor || !def.result.isValid() || def.operands.size() != 2)
      return -1;
    TensorOp op = tensorOpOf(def.imm);
    bool comparison = op == TensorOp::Eq || op == TensorOp::Ne || op == TensorOp::Lt ||
                      op == TensorOp::Le || op == TensorOp::Gt || op == TensorOp::Ge;
    if (!comparison || f.typeOf(def.operands[0]) != type || f.typeOf(def.operands[1]) != type)
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
      int ops[3] = {0, 0, 0};
      bool where = tensorOpOf(in.imm) == TensorOp::Where;
      for (size_t o = 0; o < in.operands.size(); ++o) {
        long def = where && o == 0 ? whereCondition(k, kernel.type)
                                   : absorbable(in.operands[o], k, kernel.type);
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
      kernel.nodes.push_back(FusedNode{tensorOpOf(in.imm), ops[0], ops[1], ops[2], in.loc});
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

/// Note [Fused outputs]: merges producer groups into the groups that use
/// them, in one block, after BlockFuser.
class OutputMerger {
public:
  OutputMerger(Function &f, Block &block, sema::TypeContext &types, std::vector<unsigned> &uses)
      : f(f), block(block), types(types), uses(uses) {}

  void run() {
    for (bool merged = true; merged;) {
      merged = false;
      index();
      for (size_t k = block.instrs.size(); k-- > 0 && !merged;)
        if (consumer(block.instrs[k]))
          merged = mergeInto(k);
    }
  }

private:
  /// A non-reduced `tensor.fused`, or an operation a kernel can hold.
  bool consumer(const Instr &in) const {
    if (in.op != Op::Tensor || !in.result.isValid())
      return false;
    if (tensorOpOf(in.imm) == TensorOp::Fused)
      return in.kernel >= 0 && !f.kernels[size_t(in.kernel)].reduces();
    return candidate(f, in);
  }

  /// A group with one output (it joins another kernel whole).
  bool producer(const Instr &in, const Type *type) const {
    if (!consumer(in))
      return false;
    const Type *t = tensorOpOf(in.imm) == TensorOp::Fused ? f.kernels[size_t(in.kernel)].type
                                                           : f.typeOf(in.result);
    return t == type && (tensorOpOf(in.imm) != TensorOp::Fused ||
                         f.kernels[size_t(in.kernel)].extraOutputs.empty());
  }

  /// `in`'s kernel: its own, or a one-node kernel for a plain operation.
  FusedKernel kernelOf(const Instr &in) const {
    if (tensorOpOf(in.imm) == TensorOp::Fused)
      return f.kernels[size_t(in.kernel)];
    FusedKernel k;
    k.type = f.typeOf(in.result);
    k.inputs = unsigned(in.operands.size());
    k.nodes.push_back(FusedNode{tensorOpOf(in.imm), -1, in.operands.size() > 1 ? -2 : 0, 0, in.loc});
    return k;
  }

  /// Where each value of the block is made, and the positions reading it.
  void index() {
    defAt.clear();
    readAt.clear();
    for (size_t k = 0; k < block.instrs.size(); ++k) {
      const Instr &in = block.instrs[k];
      if (in.result.isValid())
        defAt[in.result.index] = k;
      for (ValueId o : in.operands)
        readAt[o.index].push_back(k);
      for (const Target &t : in.targets)
        for (ValueId a : t.args)
          readAt[a.index].push_back(k);
    }
  }

  /// Whether the instructions strictly between `from` and `to` that read
  /// `v` may all move after `to`: structs and tuples made or set from it,
  /// and reads of those (they cannot fail), whose own readers up to `to` may
  /// move too. Their positions go to `out`, in order.
  bool movableReaders(ValueId v, size_t from, size_t to, std::vector<size_t> &out) const {
    std::set<size_t> moving;
    std::vector<ValueId> work = {v};
    while (!work.empty()) {
      ValueId x = work.back();
      work.pop_back();
      auto it = readAt.find(x.index);
      if (it == readAt.end())
        continue;
      for (size_t at : it->second) {
        if (at > to || (x == v && at == to) || moving.count(at))
          continue;
        const Instr &user = block.instrs[at];
        bool aggregate = user.op == Op::StructMake || user.op == Op::Tuple ||
                         user.op == Op::StructSet || user.op == Op::TupleSet ||
                         user.op == Op::StructGet || user.op == Op::TupleGet;
        if (at <= from || at == to || !aggregate || !user.result.isValid())
          return false;
        moving.insert(at);
        work.push_back(user.result);
      }
    }
    out.assign(moving.begin(), moving.end());
    return true;
  }

  /// Takes the first producer of the consumer at `k` that may join it;
  /// returns whether one did.
  bool mergeInto(size_t k) {
    const Instr &c = block.instrs[k];
    const Type *type = tensorOpOf(c.imm) == TensorOp::Fused ? f.kernels[size_t(c.kernel)].type
                                                             : f.typeOf(c.result);
    for (size_t o = 0; o < c.operands.size(); ++o) {
      ValueId v = c.operands[o];
      auto def = defAt.find(v.index);
      // Read elsewhere too (else the group would have taken it in whole).
      size_t here = size_t(std::count(c.operands.begin(), c.operands.end(), v));
      if (def == defAt.end() || def->second >= k || uses[v.index] <= here ||
          !producer(block.instrs[def->second], type))
        continue;
      std::vector<size_t> moving;
      if (!movableReaders(v, def->second, k, moving))
        continue;
      merge(def->second, k, moving);
      return true;
    }
    return false;
  }

  /// Joins the producer at `p` into the consumer at `k`, and moves the
  /// instructions at `moving` after the result.
  void merge(size_t p, size_t k, const std::vector<size_t> &moving) {
    Instr &prodIn = block.instrs[p];
    Instr &cons = block.instrs[k];
    FusedKernel prod = kernelOf(prodIn), use = kernelOf(cons);
    ValueId made = prodIn.result;
    bool wasFused = tensorOpOf(cons.imm) == TensorOp::Fused;
    bool wasMulti = wasFused && !use.extraOutputs.empty();

    // The merged kernel: the producer's nodes, then the consumer's, which
    // read the producer's last node where they read its value.
    FusedKernel k2;
    k2.type = use.type;
    std::vector<ValueId> inputs;
    auto inputFor = [&](ValueId v) {
      size_t i = 0;
      while (i < inputs.size() && inputs[i] != v)
        ++i;
      if (i == inputs.size())
        inputs.push_back(v);
      else
        --uses[v.index]; // two reads became one
      return -1 - int(i);
    };
    int shift = int(prod.nodes.size()), prodRoot = shift - 1;
    std::vector<int> prodInput, useInput;
    for (ValueId v : prodIn.operands)
      prodInput.push_back(inputFor(v));
    // Every read of the producer's value (a plain `v * v` reads it twice)
    // becomes its last node: that value is only made after the kernel now.
    for (size_t i = 0; i < use.inputs; ++i) {
      bool produced = cons.operands[i] == made;
      useInput.push_back(produced ? prodRoot : inputFor(cons.operands[i]));
      if (produced)
        --uses[made.index]; // the read is inside the kernel now
    }
    for (FusedNode n : prod.nodes) {
      int *ops[3] = {&n.a, &n.b, &n.c};
      for (int i = 0; i < fusedArity(n.op); ++i)
        *ops[i] = *ops[i] < 0 ? prodInput[size_t(-1 - *ops[i])] : *ops[i];
      k2.nodes.push_back(n);
    }
    for (FusedNode n : use.nodes) {
      int *ops[3] = {&n.a, &n.b, &n.c};
      for (int i = 0; i < fusedArity(n.op); ++i)
        *ops[i] = *ops[i] >= 0 ? *ops[i] + shift : useInput[size_t(-1 - *ops[i])];
      k2.nodes.push_back(n);
    }
    for (int e : use.extraOutputs)
      k2.extraOutputs.push_back(e + shift);
    k2.extraOutputs.push_back(prodRoot);
    k2.inputs = unsigned(inputs.size());

    // The instruction: its result the tuple of the outputs, read back into
    // the consumer's and the producer's values.
    std::vector<const Type *> elements(k2.outputs(), k2.type);
    const Type *tupleTy = types.tupleType(elements);
    if (wasMulti)
      f.values[cons.result.index].type = tupleTy; // its gets follow it
    std::vector<Instr> after;
    auto getOutput = [&](ValueId into, unsigned output) {
      Instr get;
      get.op = Op::TupleGet;
      get.result = into;
      get.imm = int64_t(output);
      get.loc = cons.loc;
      after.push_back(get);
    };
    if (!wasMulti) {
      getOutput(cons.result, 0);
      cons.result = f.addValue(tupleTy);
    }
    getOutput(made, k2.outputs() - 1);
    for (Instr &g : after)
      g.operands = {cons.result};
    cons.op = Op::Tensor;
    cons.imm = int64_t(TensorOp::Fused);
    cons.operands = inputs;
    cons.reuse = 0;
    cons.extraReuse.clear();
    if (wasFused)
      f.kernels[size_t(cons.kernel)] = std::move(k2);
    else {
      cons.kernel = int32_t(f.kernels.size());
      f.kernels.push_back(std::move(k2));
    }

    // Rebuild the block: the producer goes, the gets follow the consumer
    // (after its earlier gets, if any), and the movers follow them.
    size_t insertAt = k + 1;
    if (wasMulti)
      while (insertAt < block.instrs.size() && block.instrs[insertAt].op == Op::TupleGet &&
             block.instrs[insertAt].operands[0] == cons.result)
        ++insertAt;
    std::vector<Instr> rebuilt;
    rebuilt.reserve(block.instrs.size() + after.size());
    for (size_t i = 0; i < block.instrs.size(); ++i) {
      if (i == insertAt) {
        for (Instr &g : after)
          rebuilt.push_back(std::move(g));
        for (size_t m : moving)
          rebuilt.push_back(std::move(block.instrs[m]));
      }
      if (i == p || std::find(moving.begin(), moving.end(), i) != moving.end())
        continue;
      rebuilt.push_back(std::move(block.instrs[i]));
    }
    block.instrs = std::move(rebuilt);
  }

  Function &f;
  Block &block;
  sema::TypeContext &types;
  std::vector<unsigned> &uses;
  std::map<uint32_t, size_t> defAt;
  std::map<uint32_t, std::vector<size_t>> readAt;
};

/// Reads of a field or element of a struct or tuple made in this function
/// become the value it was made from, and aggregates nobody reads any more
/// are dropped, so that `v * 0.9 + g` on a struct of tensors (each field
/// multiplied, the products gathered in a struct, then each added) links the
/// products straight to their sums. A read through `struct.set`/`tuple.set`
/// is the value set there, or, for another field, the field of the
/// aggregate it was set in when that one was made here or is a parameter (so
/// an optimizer's `velocity = ...` followed by reads of `self.velocity` and
/// `self.lr` reaches the new value's tensors and reads `lr` from `self`).
void forwardAggregates(Function &f) {
  std::map<uint32_t, const Instr *> makes, sets;
  for (const Block &b : f.blocks)
    for (const Instr &in : b.instrs) {
      if ((in.op == Op::StructMake || in.op == Op::Tuple) && in.result.isValid())
        makes[in.result.index] = &in;
      if ((in.op == Op::StructSet || in.op == Op::TupleSet) && in.result.isValid())
        sets[in.result.index] = &in;
    }
  std::vector<ValueId> replace(f.values.size());
  auto resolve = [&](ValueId v) {
    while (replace[v.index].isValid())
      v = replace[v.index];
    return v;
  };
  auto isParameter = [&](ValueId v) {
    const std::vector<ValueId> &params = f.blocks[0].args;
    return std::find(params.begin(), params.end(), v) != params.end();
  };
  for (Block &b : f.blocks)
    for (Instr &in : b.instrs) {
      if ((in.op != Op::StructGet && in.op != Op::TupleGet) || !in.result.isValid())
        continue;
      // Past the sets of other fields, to the aggregate they were set in.
      ValueId from = resolve(in.operands[0]);
      for (auto set = sets.find(from.index); set != sets.end(); set = sets.find(from.index)) {
        if (set->second->imm == in.imm) {
          replace[in.result.index] = set->second->operands[1];
          break;
        }
        from = resolve(set->second->operands[0]);
      }
      if (replace[in.result.index].isValid())
        continue;
      // A parameter outlives every read, so another field of it is read
      // from it directly (an owned aggregate would have to live longer).
      if (from != in.operands[0] && isParameter(from))
        in.operands[0] = from;
      auto it = makes.find(from.index);
      if (it != makes.end() && size_t(in.imm) < it->second->operands.size())
        replace[in.result.index] = it->second->operands[size_t(in.imm)];
    }
  replaceUses(f, resolve);
  // Drop aggregates and reads that are no longer used (they cannot fail).
  eraseUnused(f, [](const Instr &in) {
    return in.op == Op::StructMake || in.op == Op::Tuple || in.op == Op::StructGet ||
           in.op == Op::TupleGet || in.op == Op::StructSet || in.op == Op::TupleSet;
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
    // DLC_NO_FUSED_OUTPUTS=1 keeps each group's one output, for benchmarks.
    if (getenv("DLC_NO_FUSED_OUTPUTS"))
      continue;
    uses = countUses(f);
    for (Block &b : f.blocks)
      OutputMerger(f, b, *module.types, uses).run();
  }
}

std::string describeKernel(const FusedKernel &kernel) {
  std::function<std::string(int)> text = [&](int n) -> std::string {
    if (n < 0)
      return "#" + std::to_string(-1 - n);
    const FusedNode &node = kernel.nodes[size_t(n)];
    std::string s = std::string(tensorOpName(node.op)) + "(" + text(node.a);
    if (fusedArity(node.op) > 1)
      s += ", " + text(node.b);
    if (fusedArity(node.op) > 2)
      s += ", " + text(node.c);
    return s + ")";
  };
  if (kernel.nodes.empty())
    return std::string();
  std::string body = text(int(kernel.nodes.size()) - 1);
  for (int e : kernel.extraOutputs) // Note [Fused outputs]
    body += " | " + text(e);
  return kernel.reduces() ? std::string(tensorOpName(kernel.reduce)) + "(" + body + ")" : body;
}

} // namespace dlc::ir
