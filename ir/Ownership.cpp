// Reference counting of tensors, arrays, strings and closures (Notes
// [Tensor ownership], [Array ownership] and [Closure ownership]).
//
// Note [Tensor ownership]
// Tensors are refcounted buffers (runtime/dlrt.h). After differentiation,
// this pass inserts `retain` and `release` instructions for every value whose
// type holds tensors directly or inside tuples and structs ("tracked"
// values; arrays, strings and closures are tracked the same way, see the
// Notes below):
//   - Every tracked value except a function's parameters is *owned*: it holds
//     one reference to each of its tensors. Results of tensor operations and
//     calls are owned as made; a value read out of an aggregate or an array,
//     a `select` and a `stop_gradient` are retained right after they are made
//     (but the `tuple.get`s that take apart the outputs of a fused kernel
//     with several outputs own them outright; the tuple is never released).
//     Parameters are *borrowed*: the caller keeps them alive for the call;
//     so are the parts read out of them.
//   - Consuming uses (returning a value, passing it to a block, storing it in
//     a tuple, struct, array, tape or closure) take a reference: the value is
//     retained first, unless this is the last use of an owned value, which
//     then moves. Every other use (tensor operations, calls, printing) borrows.
//   - An owned value is released after its last use; where it is live out of
//     a block but not into one of its successors, on that edge (in a new edge
//     block).
// An elementwise tensor operation whose operand dies there takes that
// operand's reference (Instr::reuse) and computes into its buffer when
// nobody else holds it: `x = x * 0.9 + g` updates in place.
// `tuple.set` / `struct.set` take their operand's references, so they
// release the element they replace. A tape holds one reference per saved
// tensor, released when the tape goes (Note [Array ownership]).
//
// Note [Array ownership]
// Arrays are counted the same way, whatever their elements: ir::isRefcounted
// says which values this pass tracks. Whether a write may go into its
// operand's buffer is still decided statically (ir/InPlace.cpp, Note
// [In-place array writes]); the counts say when to free. So:
//   - The in-place forms (array.set and array.append marked in place,
//     array.accum, array.truncate, stack.push) take their array operand's
//     reference and their result is owned. When this pass cannot move the
//     operand there (borrowed, or read again), an array.set or array.append
//     marked in place becomes a copying write, and the other forms write
//     into an `array.copy` of it, so no in-place write ever sees an array
//     another owner holds. array.materialize returns a new reference either
//     way.
//   - An array holds one reference to each counted value in it (tensors,
//     arrays, tuples and structs of them): `array` and `array.append` take
//     their element operands' references, `array.set` takes its value's and
//     releases the element it replaces, `array.repeat` borrows its element and
//     retains each copy, and a copy (a copying write, `array.copy`) retains
//     every element (codegen/EmitFunction.cpp). An element read out is
//     retained. At its last reference an array releases its elements
//     (codegen's dl.release.N helpers) and is freed.
//   - Tapes are values like any other: when grad's or valueAndGrad's tape
//     dies after the pullback, its stacks go, and with them the saved tensors
//     and arrays and the callee tapes on them.
// Strings are counted too (immutable, so nothing else changes for them;
// literals are immortal).
//
// Note [Closure ownership]
// A closure value is a code pointer and an environment holding the captured
// values behind a header (runtime/dlrt.h, DlClosureEnv: a refcount and the
// closure's drop function, which codegen makes per closed-over function and
// which releases the captures and frees the environment). Function values
// are counted like the rest: `closure` takes its captures' references and
// makes an owned value, a call through a closure borrows it, and a closure
// without captures has no environment (NULL, never counted). So a pullback
// from `vjp`, which captures its tape, frees the tape with itself.
#include "ir/Ownership.h"

#include "ir/Builder.h"

#include <algorithm>
#include <map>

namespace dlc::ir {

namespace {

bool consumes(const Instr &in, size_t operand) {
  switch (in.op) {
  // In-place array writes take their array operand's reference
  // (Note [Array ownership]).
  case Op::ArraySet:
    return operand == 2 || (operand == 0 && in.imm == 1);
  case Op::ArrayAppend:
    return operand == 1 || (operand == 0 && in.imm == 1);
  case Op::ArrayAccum:
  case Op::ArrayTruncate:
    return operand == 0;
  case Op::Ret:
  case Op::Tuple:
  case Op::StructMake:
  case Op::ArrayMake:
  case Op::StackPush:
  case Op::MakeClosure:
    return true;
  case Op::TupleSet:
  case Op::StructSet:
    return operand <= 1;
  default:
    return false;
  }
}

/// Ops whose tracked result aliases another value's tensors and so is
/// retained to become owned.
bool borrowsResult(Op op) {
  switch (op) {
  case Op::TupleGet:
  case Op::StructGet:
  case Op::ArrayGet:
  case Op::Select:
  case Op::StopGradient:
    return true;
  default:
    return false;
  }
}

class FunctionPass {
public:
  FunctionPass(Module &m, Function &f) : m(m), f(f) {}
  std::vector<bool> madeFromScalar; // by value index

  void run() {
    if (f.isExtern || f.blocks.empty())
      return;
    for (const Block &b : f.blocks)
      for (ValueId a : b.args)
        track(a);
    for (const Block &b : f.blocks)
      for (const Instr &in : b.instrs)
        if (in.result.isValid())
          track(in.result);
    if (ids.empty())
      return;
    // Rank-0 tensors made from scalars: a fused kernel's result is seldom
    // their shape, so it reuses another dying operand's buffer instead.
    madeFromScalar.assign(f.values.size(), false);
    for (const Block &b : f.blocks)
      for (const Instr &in : b.instrs)
        if (in.op == Op::Tensor && in.result.isValid() && tensorOpOf(in.imm) == TensorOp::Scalar)
          madeFromScalar[in.result.index] = true;
    for (ValueId p : f.blocks[0].args)
      if (id(p) >= 0)
        borrowed[size_t(id(p))] = true;
    // Parts of a borrowed aggregate are borrowed too: the parameter keeps
    // them alive for the whole call. So are the elements of a borrowed array,
    // which nothing in the call writes in place (ir/InPlace.cpp copies a
    // parameter before it writes): `b[k][j]` over a [[Double]] parameter, or
    // a pullback's reads of its tape, count nothing.
    for (bool changed = true; changed;) {
      changed = false;
      for (const Block &b : f.blocks)
        for (const Instr &in : b.instrs)
          if ((in.op == Op::StructGet || in.op == Op::TupleGet || in.op == Op::ArrayGet) &&
              id(in.result) >= 0 &&
              id(in.operands[0]) >= 0 && borrowed[size_t(id(in.operands[0]))] &&
              !borrowed[size_t(id(in.result))]) {
            borrowed[size_t(id(in.result))] = true;
            changed = true;
          }
    }
    destructureOutputs();
    liveness();
    borrowLocalReads();
    size_t n = f.blocks.size(); // edge blocks are appended past n
    for (size_t bi = 0; bi < n; ++bi)
      rewrite(bi);
  }

private:
  Module &m;
  Function &f;
  std::map<uint32_t, int> ids; // tracked value -> dense id
  std::vector<ValueId> values;
  std::vector<bool> borrowed;
  std::vector<bool> destructured; // by id: a tuple its tuple.gets take apart
  std::vector<std::vector<bool>> liveIn, liveOut;

  void track(ValueId v) {
    if (isRefcounted(f.typeOf(v)) && !ids.count(v.index)) {
      ids[v.index] = int(values.size());
      values.push_back(v);
      borrowed.push_back(false);
    }
  }
  int id(ValueId v) const {
    auto it = ids.find(v.index);
    return it == ids.end() ? -1 : it->second;
  }

  template <typename Fn> void forEachUse(const Instr &in, Fn fn) const {
    for (ValueId o : in.operands)
      fn(o);
    for (const Target &t : in.targets)
      for (ValueId a : t.args)
        fn(a);
  }

  void liveness() {
    size_t nb = f.blocks.size(), nv = values.size();
    std::vector<std::vector<bool>> use(nb, std::vector<bool>(nv)), def(nb, std::vector<bool>(nv));
    for (size_t bi = 0; bi < nb; ++bi) {
      const Block &b = f.blocks[bi];
      for (ValueId a : b.args)
        if (id(a) >= 0)
          def[bi][size_t(id(a))] = true;
      for (const Instr &in : b.instrs) {
        forEachUse(in, [&](ValueId v) {
          int k = id(v);
          if (k >= 0 && !def[bi][size_t(k)])
            use[bi][size_t(k)] = true;
        });
        if (in.result.isValid() && id(in.result) >= 0)
          def[bi][size_t(id(in.result))] = true;
      }
    }
    liveIn.assign(nb, std::vector<bool>(nv));
    liveOut.assign(nb, std::vector<bool>(nv));
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t bi = nb; bi-- > 0;) {
        const Block &b = f.blocks[bi];
        std::vector<bool> out(nv);
        if (!b.instrs.empty())
          for (const Target &t : b.instrs.back().targets)
            for (size_t k = 0; k < nv; ++k)
              if (liveIn[t.block.index][k])
                out[k] = true;
        std::vector<bool> in = use[bi];
        for (size_t k = 0; k < nv; ++k)
          if (out[k] && !def[bi][k])
            in[k] = true;
        if (out != liveOut[bi] || in != liveIn[bi]) {
          liveOut[bi] = std::move(out);
          liveIn[bi] = std::move(in);
          changed = true;
        }
      }
    }
  }

  /// Whether instruction `in` takes a reference to `v` (an operand it
  /// consumes, a branch argument, a returned value).
  bool consumesValue(const Instr &in, ValueId v) const {
    for (size_t o = 0; o < in.operands.size(); ++o)
      if (in.operands[o] == v && consumes(in, o))
        return true;
    for (const Target &t : in.targets)
      for (ValueId a : t.args)
        if (a == v)
          return true;
    return false;
  }

  /// The tuple of a fused instruction with several outputs (Note [Fused
  /// outputs]) is only ever taken apart: one `tuple.get` of each output, in
  /// its block. The gets then take over its references (nothing is retained
  /// for them) and the tuple itself is never released, as if borrowed.
  void destructureOutputs() {
    destructured.assign(values.size(), false);
    std::map<uint32_t, std::vector<int64_t>> gets; // tuple -> the indices read
    std::map<uint32_t, size_t> blockOf;
    std::vector<bool> other(f.values.size());
    for (size_t bi = 0; bi < f.blocks.size(); ++bi)
      for (const Instr &in : f.blocks[bi].instrs) {
        if (in.op == Op::Tensor && tensorOpOf(in.imm) == TensorOp::Fused && in.kernel >= 0 &&
            !f.kernels[size_t(in.kernel)].extraOutputs.empty() && id(in.result) >= 0)
          blockOf[in.result.index] = bi;
        for (size_t o = 0; o < in.operands.size(); ++o) {
          bool get = in.op == Op::TupleGet && o == 0 && in.result.isValid() && id(in.result) >= 0;
          if (get && blockOf.count(in.operands[o].index) && blockOf[in.operands[o].index] == bi)
            gets[in.operands[o].index].push_back(in.imm);
          else
            other[in.operands[o].index] = true;
        }
        for (const Target &t : in.targets)
          for (ValueId a : t.args)
            other[a.index] = true;
      }
    for (auto &[tuple, indices] : gets) {
      std::sort(indices.begin(), indices.end());
      size_t n = sema::asTuple(f.values[tuple].type)->elements.size();
      bool each = indices.size() == n;
      for (size_t i = 0; each && i < n; ++i)
        each = indices[i] == int64_t(i);
      if (each && !other[tuple]) {
        int k = ids[tuple];
        destructured[size_t(k)] = true;
        borrowed[size_t(k)] = true;
      }
    }
  }

  /// Note [Borrowed element reads]: an element, field or tuple part read out
  /// of an owned value is borrowed, not retained, when its container outlives
  /// every use of it: the uses are all in the read's block and none takes a
  /// reference, and the container is neither consumed (an in-place write
  /// could replace the element) before the last of them nor dead after it.
  /// `m[i][j]` over a local [[Double]] then counts nothing; it made two
  /// runtime calls per read. (Parts of parameters are borrowed already.)
  void borrowLocalReads() {
    for (size_t bi = 0; bi < f.blocks.size(); ++bi) {
      const auto &instrs = f.blocks[bi].instrs;
      for (size_t k = 0; k < instrs.size(); ++k) {
        const Instr &in = instrs[k];
        if (in.op != Op::ArrayGet && in.op != Op::StructGet && in.op != Op::TupleGet)
          continue;
        int r = id(in.result), c = id(in.operands[0]);
        if (r < 0 || c < 0 || borrowed[size_t(r)] || borrowed[size_t(c)] || liveOut[bi][size_t(r)])
          continue;
        ValueId rv = in.result, cv = in.operands[0];
        long lastR = -1;
        bool ok = true;
        for (size_t j = k + 1; j < instrs.size() && ok; ++j) {
          bool uses = false;
          forEachUse(instrs[j], [&](ValueId v) { uses = uses || v == rv; });
          if (!uses)
            continue;
          ok = !consumesValue(instrs[j], rv);
          lastR = long(j);
        }
        if (!ok || lastR < 0)
          continue;
        bool alive = liveOut[bi][size_t(c)];
        for (size_t j = k + 1; j < instrs.size() && ok; ++j) {
          bool uses = false;
          forEachUse(instrs[j], [&](ValueId v) { uses = uses || v == cv; });
          if (!uses)
            continue;
          if (long(j) <= lastR && consumesValue(instrs[j], cv))
            ok = false;
          if (long(j) > lastR)
            alive = true;
        }
        if (ok && alive)
          borrowed[size_t(r)] = true;
      }
    }
  }

  /// A fused instruction with several outputs (Note [Fused outputs]): each
  /// output may take the buffer of a dying input (one each) that `free`
  /// allows. An output prefers the inputs its own nodes read (those of
  /// `p + v2 * -0.01`, not of the v2 it reads), so the momentum update's new
  /// parameter goes into the old parameter's buffer and the new velocity
  /// into the old velocity's; then any other.
  template <typename Free>
  void chooseOutputBuffers(Instr &in, Free free, std::vector<bool> &moved) {
    const FusedKernel &k = f.kernels[size_t(in.kernel)];
    std::vector<int> roots = {int(k.nodes.size()) - 1};
    roots.insert(roots.end(), k.extraOutputs.begin(), k.extraOutputs.end());
    in.reuse = 0;
    in.extraReuse.assign(k.extraOutputs.size(), 0);
    for (size_t out = 0; out < roots.size(); ++out) {
      // The inputs read by this output's nodes, not through another output.
      std::vector<size_t> own;
      std::vector<bool> seen(k.nodes.size());
      std::vector<int> work = {roots[out]};
      while (!work.empty()) {
        int n = work.back();
        work.pop_back();
        const FusedNode &node = k.nodes[size_t(n)];
        int ops[3] = {node.a, node.b, node.c};
        for (int j = 0; j < fusedArity(node.op); ++j) {
          int x = ops[j];
          if (x < 0)
            own.push_back(size_t(-1 - x));
          else if (!seen[size_t(x)] && std::find(roots.begin(), roots.end(), x) == roots.end()) {
            seen[size_t(x)] = true;
            work.push_back(x);
          }
        }
      }
      std::sort(own.begin(), own.end());
      std::vector<size_t> order = own;
      for (size_t o = 0; o < in.operands.size(); ++o)
        if (!std::binary_search(own.begin(), own.end(), o))
          order.push_back(o);
      for (size_t o : order) {
        int i = id(in.operands[o]);
        if (i < 0 || o >= 255 || !free(i) || madeFromScalar[in.operands[o].index] ||
            f.typeOf(in.operands[o]) != k.type) // a Bool condition has no room for a result
          continue;
        moved[size_t(i)] = true;
        (out == 0 ? in.reuse : in.extraReuse[out - 1]) = uint8_t(o + 1);
        break;
      }
    }
  }

  static Instr make(Op op, ValueId v) {
    Instr in;
    in.op = op;
    in.operands = {v};
    return in;
  }

  /// Emits, into `out`, element `i` of aggregate `v` read without a retain.
  ValueId element(std::vector<Instr> &out, ValueId v, size_t i) {
    const Type *t = f.typeOf(v);
    Instr get;
    if (auto *tt = sema::asTuple(t)) {
      get.op = Op::TupleGet;
      get.result = f.addValue(tt->elements[i]);
    } else {
      get.op = Op::StructGet;
      get.result = f.addValue(sema::asStruct(t)->fields[i].type);
    }
    get.operands = {v};
    get.imm = int64_t(i);
    out.push_back(get);
    return get.result;
  }

  void rewrite(size_t bi) {
    Block &b = f.blocks[bi];
    std::vector<Instr> instrs = std::move(b.instrs);
    std::vector<Instr> out;
    size_t nv = values.size();
    // The last instruction using each tracked value in this block (-1: none).
    std::vector<long> last(nv, -1);
    for (size_t k = 0; k < instrs.size(); ++k)
      forEachUse(instrs[k], [&](ValueId v) {
        if (id(v) >= 0)
          last[size_t(id(v))] = long(k);
      });
    auto dies = [&](int k) { return !borrowed[size_t(k)] && !liveOut[bi][size_t(k)]; };
    // Block arguments nobody reads.
    for (ValueId a : b.args)
      if (int k = id(a); k >= 0 && last[size_t(k)] < 0 && dies(k))
        out.push_back(make(Op::Release, a));
    for (size_t k = 0; k < instrs.size(); ++k) {
      Instr &in = instrs[k];
      bool terminator = isTerminator(in.op);
      // How often each tracked value occurs in this instruction.
      std::map<int, int> occurrences;
      forEachUse(in, [&](ValueId v) {
        if (int i = id(v); i >= 0)
          ++occurrences[i];
      });
      std::vector<bool> moved(nv);
      auto canMove = [&](int i) {
        return dies(i) && last[size_t(i)] == long(k) && occurrences[i] == 1 && in.op != Op::CondBr;
      };
      // A write marked in place whose array is not this instruction's to
      // take (borrowed, or read again) writes a copy instead: another owner
      // must never see the array change, or lose elements it counts.
      if ((in.op == Op::ArraySet || in.op == Op::ArrayAppend) && in.imm == 1)
        if (int i = id(in.operands[0]); i >= 0 && !canMove(i))
          in.imm = 0;
      // AD's in-place forms have no copying form: they write into a copy
      // (which retains the elements) made here, and the original is left to
      // its other owners. So no growth at run time ever sees a shared array.
      if (in.op == Op::StackPush || in.op == Op::ArrayAccum || in.op == Op::ArrayTruncate)
        if (int i = id(in.operands[0]); i >= 0 && !canMove(i)) {
          Instr copy = make(Op::ArrayCopy, in.operands[0]);
          copy.result = f.addValue(f.typeOf(in.operands[0])); // owned, untracked: moves here
          in.operands[0] = copy.result;
          out.push_back(copy);
          --occurrences[i];
        }
      // An elementwise operation may compute into a dying operand's buffer,
      // and a reshape may take a dying operand's tensor as it is.
      bool reshape = in.op == Op::Tensor && tensorOpOf(in.imm) == TensorOp::Reshape;
      // A reduced kernel (Note [Fused reductions]) makes its own result.
      bool reduced = in.op == Op::Tensor && tensorOpOf(in.imm) == TensorOp::Fused &&
                     in.kernel >= 0 && f.kernels[size_t(in.kernel)].reduces();
      bool multi = in.op == Op::Tensor && tensorOpOf(in.imm) == TensorOp::Fused &&
                   in.kernel >= 0 && !f.kernels[size_t(in.kernel)].extraOutputs.empty();
      if (multi)
        chooseOutputBuffers(in, [&](int i) { return canMove(i) && !moved[size_t(i)]; }, moved);
      else if (in.op == Op::Tensor && in.result.isValid() && !reduced &&
          (isTensorUnary(tensorOpOf(in.imm)) || isTensorBinary(tensorOpOf(in.imm)) ||
           tensorOpOf(in.imm) == TensorOp::Fused || reshape))
        for (size_t o = 0; o < (reshape ? 1 : in.operands.size()); ++o) {
          int i = id(in.operands[o]);
          bool fused = tensorOpOf(in.imm) == TensorOp::Fused;
          if (i >= 0 && canMove(i) && f.typeOf(in.operands[o]) == f.typeOf(in.result) &&
              !(fused && madeFromScalar[in.operands[o].index])) {
            moved[size_t(i)] = true;
            in.reuse = uint8_t(o + 1);
            break;
          }
        }
      // Consuming uses take a reference.
      for (size_t o = 0; o < in.operands.size(); ++o) {
        int i = id(in.operands[o]);
        if (i < 0 || !consumes(in, o))
          continue;
        if (canMove(i))
          moved[size_t(i)] = true;
        else
          out.push_back(make(Op::Retain, in.operands[o]));
      }
      if (in.op == Op::CondBr) {
        conditionalBranch(in, bi, moved, out);
      } else {
        for (const Target &t : in.targets)
          for (ValueId a : t.args) {
            int i = id(a);
            if (i < 0)
              continue;
            if (canMove(i))
              moved[size_t(i)] = true;
            else
              out.push_back(make(Op::Retain, a));
          }
      }
      // Releases of values whose last use is this terminator go before it.
      auto releaseDead = [&]() {
        for (auto [i, count] : occurrences)
          if (last[size_t(i)] == long(k) && dies(i) && !moved[size_t(i)])
            out.push_back(make(Op::Release, values[size_t(i)]));
      };
      if (terminator) {
        releaseDead();
        out.push_back(std::move(in));
        continue;
      }
      Instr copy = in;
      out.push_back(std::move(in));
      if ((copy.op == Op::TupleSet || copy.op == Op::StructSet) && id(copy.operands[0]) >= 0) {
        // The replaced element's reference was taken with its aggregate.
        const Type *old = copy.op == Op::TupleSet
                              ? sema::asTuple(f.typeOf(copy.operands[0]))->elements[size_t(copy.imm)]
                              : sema::asStruct(f.typeOf(copy.operands[0]))->fields[size_t(copy.imm)].type;
        if (isRefcounted(old))
          out.push_back(make(Op::Release, element(out, copy.operands[0], size_t(copy.imm))));
      }
      if (copy.result.isValid() && id(copy.result) >= 0) {
        bool takenApart = copy.op == Op::TupleGet && id(copy.operands[0]) >= 0 &&
                          destructured[size_t(id(copy.operands[0]))];
        if (borrowsResult(copy.op) && !borrowed[size_t(id(copy.result))] && !takenApart)
          out.push_back(make(Op::Retain, copy.result));
        int r = id(copy.result);
        if (last[size_t(r)] < 0 && dies(r))
          out.push_back(make(Op::Release, copy.result));
      }
      releaseDead();
    }
    b.instrs = std::move(out);
    splitDeadEdges(bi);
  }

  /// Note [Counting across a conditional branch]: on each edge of a
  /// `cond_br` an owned value needs one reference per occurrence among that
  /// target's arguments, plus one if the target reads it itself (it is live
  /// into it), and the block has the one reference it owns to give: so it
  /// moves into every edge that needs one, is retained for each further need,
  /// and is released on an edge that needs none. A borrowed value is retained
  /// once per argument occurrence. Retains every edge needs alike happen
  /// before the branch; the rest, and the releases, go into blocks on the
  /// edges (splitDeadEdges). AD's pullbacks pass every adjoint through every
  /// branch of their dispatch: counting per occurrence and releasing on dead
  /// edges separately cost two runtime calls per adjoint array per branch.
  void conditionalBranch(const Instr &in, size_t bi, std::vector<bool> &moved,
                         std::vector<Instr> &out) {
    size_t nt = in.targets.size(), nv = values.size();
    pendingEdges.assign(nt, {});
    std::vector<std::vector<int>> counts(nv); // value id -> occurrences per target
    for (size_t t = 0; t < nt; ++t)
      for (ValueId a : in.targets[t].args)
        if (int i = id(a); i >= 0) {
          counts[size_t(i)].resize(nt, 0);
          ++counts[size_t(i)][t];
        }
    for (size_t i = 0; i < nv; ++i) {
      bool passed = !counts[i].empty();
      if (!passed && !liveOut[bi][i])
        continue;
      counts[i].resize(nt, 0);
      std::vector<int> retains(nt, 0);
      std::vector<bool> release(nt, false);
      for (size_t t = 0; t < nt; ++t) {
        int c = counts[i][t];
        if (borrowed[i]) {
          retains[t] = c;
          continue;
        }
        int need = c + (liveIn[in.targets[t].block.index][i] ? 1 : 0);
        retains[t] = std::max(need - 1, 0);
        release[t] = need == 0;
      }
      int common = *std::min_element(retains.begin(), retains.end());
      for (int r = 0; r < common; ++r)
        out.push_back(make(Op::Retain, values[i]));
      for (size_t t = 0; t < nt; ++t) {
        for (int r = common; r < retains[t]; ++r)
          pendingEdges[t].push_back(make(Op::Retain, values[i]));
        if (release[t])
          pendingEdges[t].push_back(make(Op::Release, values[i]));
      }
      moved[i] = true; // accounted for here, not by releaseDead
    }
    conditional = true;
  }
  bool conditional = false; // the block ends in a cond_br that conditionalBranch counted
  std::vector<std::vector<Instr>> pendingEdges; // per target of the block's cond_br

  /// Values live out of block bi but not into one of its successors die on
  /// that edge: release them in a block placed on it, after what
  /// conditionalBranch left for that edge.
  void splitDeadEdges(size_t bi) {
    std::vector<std::vector<Instr>> extra = std::move(pendingEdges);
    pendingEdges.clear();
    bool counted = conditional;
    conditional = false;
    if (f.blocks[bi].instrs.empty())
      return;
    size_t nv = values.size();
    size_t targets = f.blocks[bi].instrs.back().targets.size();
    for (size_t ti = 0; ti < targets; ++ti) {
      BlockId succ = f.blocks[bi].instrs.back().targets[ti].block;
      std::vector<ValueId> dead;
      for (size_t k = 0; k < nv && !counted; ++k)
        if (liveOut[bi][k] && !borrowed[k] && !liveIn[succ.index][k])
          dead.push_back(values[k]);
      std::vector<Instr> before = ti < extra.size() ? std::move(extra[ti]) : std::vector<Instr>{};
      if (dead.empty() && before.empty())
        continue;
      BlockId edge = f.addBlock(f.blocks[succ.index].name + ".release");
      std::vector<ValueId> args;
      for (ValueId a : f.blocks[succ.index].args)
        args.push_back(f.addValue(f.typeOf(a)));
      Block &eb = f.block(edge);
      eb.args = args;
      eb.instrs = std::move(before);
      for (ValueId v : dead)
        eb.instrs.push_back(make(Op::Release, v));
      Instr br;
      br.op = Op::Br;
      br.targets.push_back({succ, args});
      eb.instrs.push_back(br);
      f.blocks[bi].instrs.back().targets[ti].block = edge;
    }
  }
};

/// Drops closures nobody calls or passes on. `valueAndGrad(|m| loss(m, x))(model)`
/// builds the lambda's and its derivative's closures, then calls the
/// derivative directly: making and freeing them would be wasted work.
void removeUnusedClosures(Function &f) {
  eraseUnused(f, [](const Instr &in) { return in.op == Op::MakeClosure; });
}

} // namespace

void insertRetainRelease(Module &module) {
  for (Function &f : module.functions) {
    removeUnusedClosures(f);
    FunctionPass(module, f).run();
  }
}

} // namespace dlc::ir
