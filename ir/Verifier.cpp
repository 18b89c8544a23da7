// DIR verifier: checks the structural, SSA and type invariants of a Module
// (see ir/IROps.def for each op's rules). Consumes ir::Module; produces one
// human-readable message per violation, naming function, block and instruction.
#include "ir/Verifier.h"
#include "ir/Builder.h"

#include <map>

namespace dlc::ir {

namespace {

using sema::TypeKind;

std::string typeStr(const Type *t) { return t ? t->str() : "<null type>"; }

bool isOneOf(const Type *t, std::initializer_list<TypeKind> kinds) {
  for (TypeKind k : kinds)
    if (t->kind == k)
      return true;
  return false;
}

/// The scalar conversions IROps.def lists for Convert.
bool isAllowedConversion(TypeKind from, TypeKind to) {
  switch (from) {
  case TypeKind::Int:
    return to == TypeKind::Float || to == TypeKind::Double;
  case TypeKind::Float:
    return to == TypeKind::Double || to == TypeKind::Int;
  case TypeKind::Double:
    return to == TypeKind::Float || to == TypeKind::Int;
  case TypeKind::Bool:
    return to == TypeKind::Int;
  case TypeKind::Error:
  case TypeKind::String:
  case TypeKind::Tuple:
  case TypeKind::Array:
  case TypeKind::Function:
  case TypeKind::Struct:
  case TypeKind::Tensor:
    return false;
  }
  return false;
}

class FunctionVerifier {
public:
  FunctionVerifier(const Module &module, const Function &fn, std::vector<std::string> &errors)
      : module(module), fn(fn), errors(errors) {}

  void run() {
    if (!fn.type)
      report(where() + "has no function type");
    if (fn.isExtern) {
      if (!fn.blocks.empty())
        report(where() + "is extern but has " + std::to_string(fn.blocks.size()) + " block(s)");
      if (fn.externSymbol.empty())
        report(where() + "is extern but has no symbol");
      return;
    }
    if (fn.blocks.empty()) {
      report(where() + "has no blocks");
      return;
    }
    collectDefinitions();
    checkEntryArgs();
    computeDominators();
    for (size_t b = 0; b < fn.blocks.size(); ++b)
      checkBlock(b);
  }

private:
  /// Where a value is defined: a block argument (pos -1) or an instruction.
  struct Def {
    size_t block = 0;
    long pos = -1;
  };

  const Module &module;
  const Function &fn;
  std::vector<std::string> &errors;
  std::vector<unsigned> defCount;
  std::vector<Def> defs;
  // Dominator tree over reachable blocks, as pre/post DFS numbers.
  std::vector<bool> reachable;
  std::vector<long> idom;
  std::vector<unsigned> pre, post;
  // The instruction being checked.
  size_t curBlock = 0, curPos = 0;
  const Instr *cur = nullptr;

  void report(std::string msg) { errors.push_back(std::move(msg)); }

  std::string where() const { return "function '" + fn.name + "' "; }

  std::string blockLabel(size_t b) const {
    if (b < fn.blocks.size() && !fn.blocks[b].name.empty())
      return "block '" + fn.blocks[b].name + "' (#" + std::to_string(b) + ")";
    return "block #" + std::to_string(b);
  }

  std::string whereBlock(size_t b) const {
    return "function '" + fn.name + "', " + blockLabel(b) + ": ";
  }

  std::string whereInstr() const {
    return "function '" + fn.name + "', " + blockLabel(curBlock) + ", instruction " +
           std::to_string(curPos) + " '" + mnemonic(cur->op) + "': ";
  }

  void fail(const std::string &msg) { report(whereInstr() + msg); }

  std::string valueStr(ValueId v) const {
    std::string s = "%" + std::to_string(v.index);
    if (v.index < fn.values.size() && !fn.values[v.index].name.empty())
      s += " ('" + fn.values[v.index].name + "')";
    return s;
  }

  const Type *typeOf(ValueId v) const {
    return v.index < fn.values.size() ? fn.values[v.index].type : nullptr;
  }

  // --- Definitions -------------------------------------------------------------

  void define(ValueId v, size_t block, long pos, const std::string &site) {
    if (v.index >= fn.values.size()) {
      std::string what = v.isValid() ? "%" + std::to_string(v.index) : "an invalid value";
      report(site + "defines " + what + ", which is not a value of the function");
      return;
    }
    if (++defCount[v.index] == 1) {
      defs[v.index] = Def{block, pos};
      const Type *t = fn.values[v.index].type;
      if (!t)
        report(site + "defines " + valueStr(v) + ", which has no type");
      else if (t->isError())
        report(site + "defines " + valueStr(v) + " of the error type");
      return;
    }
    if (defCount[v.index] == 2)
      report(site + "redefines " + valueStr(v) + ", already defined in " +
             blockLabel(defs[v.index].block) +
             (defs[v.index].pos < 0 ? " as a block argument"
                                    : " by instruction " + std::to_string(defs[v.index].pos)));
  }

  void collectDefinitions() {
    defCount.assign(fn.values.size(), 0);
    defs.assign(fn.values.size(), Def{});
    for (size_t b = 0; b < fn.blocks.size(); ++b) {
      const Block &block = fn.blocks[b];
      for (size_t a = 0; a < block.args.size(); ++a)
        define(block.args[a], b, -1, whereBlock(b) + "argument " + std::to_string(a) + " ");
      for (size_t i = 0; i < block.instrs.size(); ++i) {
        const Instr &in = block.instrs[i];
        if (in.result.isValid())
          define(in.result, b, long(i),
                 whereBlock(b) + "instruction " + std::to_string(i) + " '" + mnemonic(in.op) +
                     "' ");
      }
    }
    // Values that are never defined are harmless until used: passes delete
    // instructions without compacting the append-only value table.
  }

  void checkEntryArgs() {
    if (!fn.type)
      return;
    const Block &entry = fn.blocks[0];
    const auto &params = fn.type->params;
    if (entry.args.size() != params.size()) {
      report(whereBlock(0) + "the entry block has " + std::to_string(entry.args.size()) +
             " argument(s) but the function type has " + std::to_string(params.size()) +
             " parameter(s)");
      return;
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const Type *t = typeOf(entry.args[i]);
      if (t && t != params[i])
        report(whereBlock(0) + "entry argument " + std::to_string(i) + " has type " + t->str() +
               " but parameter " + std::to_string(i) + " has type " + typeStr(params[i]));
    }
  }

  // --- Dominators (Cooper, Harvey & Kennedy's iterative algorithm) ---------------

  std::vector<size_t> successors(size_t b) const {
    std::vector<size_t> succ;
    for (const Instr &in : fn.blocks[b].instrs)
      for (const Target &t : in.targets)
        if (t.block.index < fn.blocks.size())
          succ.push_back(t.block.index);
    return succ;
  }

  void computeDominators() {
    size_t n = fn.blocks.size();
    std::vector<std::vector<size_t>> succ(n), preds(n);
    for (size_t b = 0; b < n; ++b)
      succ[b] = successors(b);

    // Post-order from the entry, iteratively (deep CFGs must not overflow the stack).
    reachable.assign(n, false);
    std::vector<size_t> postorder;
    std::vector<std::pair<size_t, size_t>> stack{{0, 0}};
    reachable[0] = true;
    while (!stack.empty()) {
      auto &[b, next] = stack.back();
      if (next < succ[b].size()) {
        size_t s = succ[b][next++];
        if (!reachable[s]) {
          reachable[s] = true;
          stack.push_back({s, 0});
        }
        continue;
      }
      postorder.push_back(b);
      stack.pop_back();
    }
    std::vector<size_t> rpoNumber(n, 0);
    for (size_t i = 0; i < postorder.size(); ++i)
      rpoNumber[postorder[i]] = postorder.size() - 1 - i;
    for (size_t b = 0; b < n; ++b)
      if (reachable[b])
        for (size_t s : succ[b])
          preds[s].push_back(b);

    idom.assign(n, -1);
    idom[0] = 0;
    auto intersect = [&](size_t a, size_t b) {
      while (a != b) {
        while (rpoNumber[a] > rpoNumber[b])
          a = size_t(idom[a]);
        while (rpoNumber[b] > rpoNumber[a])
          b = size_t(idom[b]);
      }
      return a;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (auto it = postorder.rbegin(); it != postorder.rend(); ++it) {
        size_t b = *it;
        if (b == 0)
          continue;
        long newIdom = -1;
        for (size_t p : preds[b]) {
          if (idom[p] < 0)
            continue;
          newIdom = newIdom < 0 ? long(p) : long(intersect(p, size_t(newIdom)));
        }
        if (newIdom != idom[b]) {
          idom[b] = newIdom;
          changed = true;
        }
      }
    }

    // Number the dominator tree so that dominates() is two comparisons.
    std::vector<std::vector<size_t>> children(n);
    for (size_t b = 1; b < n; ++b)
      if (reachable[b] && idom[b] >= 0)
        children[size_t(idom[b])].push_back(b);
    pre.assign(n, 0);
    post.assign(n, 0);
    unsigned clock = 0;
    stack.assign({{0, 0}});
    pre[0] = clock++;
    while (!stack.empty()) {
      auto &[b, next] = stack.back();
      if (next < children[b].size()) {
        size_t c = children[b][next++];
        pre[c] = clock++;
        stack.push_back({c, 0});
        continue;
      }
      post[b] = clock++;
      stack.pop_back();
    }
  }

  bool dominates(size_t a, size_t b) const {
    if (!reachable[a] || !reachable[b])
      return false;
    return pre[a] <= pre[b] && post[b] <= post[a];
  }

  // --- Blocks and instructions ---------------------------------------------------

  void checkBlock(size_t b) {
    const Block &block = fn.blocks[b];
    if (block.instrs.empty()) {
      report(whereBlock(b) + "block is empty (it needs a terminator)");
      return;
    }
    for (size_t i = 0; i < block.instrs.size(); ++i) {
      curBlock = b;
      curPos = i;
      cur = &block.instrs[i];
      bool last = i + 1 == block.instrs.size();
      if (isTerminator(cur->op) && !last)
        fail("terminator in the middle of the block");
      if (last && !isTerminator(cur->op))
        fail("the block does not end with a terminator");
      if (cur->op == Op::Exit && (last || block.instrs[i + 1].op != Op::Unreachable))
        fail("'exit' is not followed by 'unreachable'");
      checkInstr(*cur);
    }
  }

  /// Checks one use; returns true when the value exists (its type is usable).
  bool use(ValueId v, const std::string &what) {
    if (v.index >= fn.values.size()) {
      fail(what + " is not a valid value" +
           (v.isValid() ? " (%" + std::to_string(v.index) + ")" : std::string()));
      return false;
    }
    if (defCount[v.index] == 0) {
      fail(what + " uses " + valueStr(v) + ", which is never defined");
      return false;
    }
    if (!reachable[curBlock])
      return true; // uses in unreachable code are not dominance-checked
    const Def &d = defs[v.index];
    if (d.block == curBlock) {
      if (d.pos >= long(curPos))
        fail(what + " uses " + valueStr(v) + " before its definition (instruction " +
             std::to_string(d.pos) + ")");
      return true;
    }
    if (!dominates(d.block, curBlock))
      fail(what + " uses " + valueStr(v) + ", whose definition in " + blockLabel(d.block) +
           " does not dominate this use");
    return true;
  }

  void checkInstr(const Instr &in) {
    if (hasNoResult(in.op) && in.result.isValid())
      fail("has a result (" + valueStr(in.result) + ") but the op produces none");
    if (!hasNoResult(in.op) && !in.result.isValid())
      fail("has no result");

    bool operandsKnown = true;
    for (size_t i = 0; i < in.operands.size(); ++i)
      if (!use(in.operands[i], "operand " + std::to_string(i)) || !typeOf(in.operands[i]))
        operandsKnown = false;

    size_t expectedTargets = in.op == Op::Br ? 1 : in.op == Op::CondBr ? 2 : 0;
    if (in.targets.size() != expectedTargets)
      fail("has " + std::to_string(in.targets.size()) + " branch target(s), expected " +
           std::to_string(expectedTargets));
    for (size_t t = 0; t < in.targets.size(); ++t)
      checkTarget(in.targets[t], t);

    if (operandsKnown)
      checkTypes(in);
  }

  void checkTarget(const Target &t, size_t index) {
    std::string what = "target " + std::to_string(index);
    if (t.block.index >= fn.blocks.size()) {
      fail(what + " is not a valid block" +
           (t.block.isValid() ? " (#" + std::to_string(t.block.index) + ")" : std::string()));
      return;
    }
    if (t.block.index == 0)
      fail(what + " branches to the entry block");
    const Block &dest = fn.blocks[t.block.index];
    if (t.args.size() != dest.args.size()) {
      fail(what + " passes " + std::to_string(t.args.size()) + " argument(s) but " +
           blockLabel(t.block.index) + " takes " + std::to_string(dest.args.size()));
    }
    for (size_t a = 0; a < t.args.size(); ++a) {
      std::string argWhat = what + " argument " + std::to_string(a);
      if (!use(t.args[a], argWhat) || a >= dest.args.size())
        continue;
      const Type *have = typeOf(t.args[a]), *want = typeOf(dest.args[a]);
      if (have && want && have != want)
        fail(argWhat + " has type " + have->str() + " but " + blockLabel(t.block.index) +
             " expects " + want->str());
    }
  }

  // --- Type rules (ir/IROps.def) ---------------------------------------------------

  bool arity(size_t n) {
    if (cur->operands.size() == n)
      return true;
    fail("expects " + std::to_string(n) + " operand(s), has " +
         std::to_string(cur->operands.size()));
    return false;
  }

  const Type *operandType(size_t i) const { return typeOf(cur->operands[i]); }
  const Type *resultType() const { return cur->result.isValid() ? typeOf(cur->result) : nullptr; }

  void expectResult(const Type *want) {
    const Type *have = resultType();
    if (have && want && have != want)
      fail("result has type " + have->str() + ", expected " + want->str());
  }

  void expectResultKind(TypeKind kind, const char *name) {
    const Type *have = resultType();
    if (have && have->kind != kind)
      fail("result has type " + have->str() + ", expected " + name);
  }

  void expectOperandKind(size_t i, TypeKind kind, const char *name) {
    const Type *t = operandType(i);
    if (t->kind != kind)
      fail("operand " + std::to_string(i) + " has type " + t->str() + ", expected " + name);
  }

  void expectOperand(size_t i, const Type *want, const std::string &role) {
    const Type *t = operandType(i);
    if (want && t != want)
      fail(role + " has type " + t->str() + ", expected " + want->str());
  }

  /// Operands all of one type among `kinds`; the result (if `resultToo`) the same.
  void uniform(size_t n, std::initializer_list<TypeKind> kinds, const char *kindNames,
               bool resultToo = true) {
    if (!arity(n))
      return;
    const Type *t0 = operandType(0);
    if (!isOneOf(t0, kinds)) {
      fail("operand 0 has type " + t0->str() + ", expected " + kindNames);
      return;
    }
    for (size_t i = 1; i < n; ++i)
      if (operandType(i) != t0)
        fail("operand types differ: " + t0->str() + " and " + operandType(i)->str() +
             " (operand " + std::to_string(i) + ")");
    if (resultToo)
      expectResult(t0);
  }

  const Function *calleeOf() {
    if (cur->callee.index >= module.functions.size()) {
      fail("callee is not a valid function" +
           (cur->callee.isValid() ? " (#" + std::to_string(cur->callee.index) + ")"
                                  : std::string()));
      return nullptr;
    }
    const Function *f = &module.functions[cur->callee.index];
    return f->type ? f : nullptr;
  }

  /// Operands [from, ...) against `params` [0, ...) of the function called `what`.
  void expectArguments(size_t from, const std::vector<const Type *> &params,
                       const std::string &what) {
    for (size_t i = 0; i + from < cur->operands.size() && i < params.size(); ++i)
      expectOperand(i + from, params[i], "argument " + std::to_string(i) + " of " + what);
  }

  /// Op::Tensor: a known sub-op; elementwise forms on tensors of one type.
  void checkTensor(const Instr &in) {
    if (in.imm < 0 || in.imm >= kTensorOpCount) {
      fail("unknown tensor operation " + std::to_string(in.imm));
      return;
    }
    TensorOp op = tensorOpOf(in.imm);
    if (isTensorUnary(op) || isTensorBinary(op)) {
      if (!arity(isTensorUnary(op) ? 1 : 2))
        return;
      for (size_t i = 0; i < in.operands.size(); ++i)
        if (operandType(i)->kind != TypeKind::Tensor || operandType(i) != operandType(0))
          fail("operand " + std::to_string(i) + " has type " + operandType(i)->str() +
               ", expected one tensor type");
      if (resultType() && resultType()->kind != TypeKind::Tensor)
        fail("result has type " + resultType()->str() + ", expected a tensor");
      return;
    }
    if (op == TensorOp::Fused) {
      if (in.kernel < 0 || size_t(in.kernel) >= fn.kernels.size()) {
        fail("fused operation without a kernel");
        return;
      }
      const FusedKernel &k = fn.kernels[size_t(in.kernel)];
      size_t extra = k.reducesAxis() ? 2 : 0; // the axis and keepDims
      if (k.inputs + extra != in.operands.size() || k.nodes.empty()) {
        fail("fused operation has " + std::to_string(in.operands.size()) + " operands, its kernel " +
             std::to_string(k.inputs) + " inputs");
        return;
      }
      if (extra) {
        expectOperandKind(k.inputs, TypeKind::Int, "Int");
        expectOperandKind(k.inputs + 1, TypeKind::Bool, "Bool");
      }
      // Inputs are of the kernel's type, or Bool ones read only as a
      // `where` node's condition.
      std::vector<bool> onlyCondition(k.inputs, true);
      for (const FusedNode &node : k.nodes) {
        int ops[3] = {node.a, node.b, node.c};
        for (int i = node.op == TensorOp::Where ? 1 : 0; i < fusedArity(node.op); ++i)
          if (ops[i] < 0 && size_t(-1 - ops[i]) < k.inputs)
            onlyCondition[size_t(-1 - ops[i])] = false;
      }
      for (size_t i = 0; i < k.inputs; ++i) {
        auto *tt = sema::asTensor(operandType(i));
        bool boolCondition = tt && tt->element->kind == TypeKind::Bool && onlyCondition[i];
        if (operandType(i) != k.type && !boolCondition)
          fail("operand " + std::to_string(i) + " of a fused operation has type " +
               operandType(i)->str() + ", expected " + k.type->str());
      }
      // A reduced kernel gives the element scalar (Note [Fused reductions]);
      // one with several outputs, their tuple (Note [Fused outputs]).
      const Type *want = k.reduces() && !k.reducesAxis() ? sema::asTensor(k.type)->element : k.type;
      if (!k.extraOutputs.empty()) {
        auto *tuple = sema::asTuple(resultType());
        bool ok = !k.reduces() && tuple && tuple->elements.size() == k.outputs();
        for (size_t i = 0; ok && i < tuple->elements.size(); ++i)
          ok = tuple->elements[i] == k.type;
        for (int e : k.extraOutputs)
          ok = ok && e >= 0 && size_t(e) + 1 < k.nodes.size();
        if (!ok)
          fail("fused operation with " + std::to_string(k.outputs()) + " outputs has type " +
               (resultType() ? resultType()->str() : std::string("none")) +
               ", or its outputs are not nodes of its kernel");
        if (in.extraReuse.size() > k.extraOutputs.size())
          fail("fused operation names a buffer for more outputs than it has");
      } else if (k.reduces() && !k.reducesAxis() && k.reduce != TensorOp::SumAll &&
          k.reduce != TensorOp::MeanAll && k.reduce != TensorOp::MaxAll &&
          k.reduce != TensorOp::MinAll && k.reduce != TensorOp::LogSumExpAll)
        fail("a fused kernel reduced by " + std::string(tensorOpName(k.reduce)));
      else if (resultType() && resultType() != want)
        fail("fused operation has type " + resultType()->str() + ", expected " + want->str());
      for (size_t n = 0; n < k.nodes.size(); ++n) {
        const FusedNode &node = k.nodes[n];
        int ops[3] = {node.a, node.b, node.c};
        for (int i = 0; i < fusedArity(node.op); ++i)
          if (ops[i] >= int(n) || -1 - ops[i] >= int(k.inputs))
            fail("kernel node " + std::to_string(n) + " refers to a later node or a missing input");
        // A comparison's Bool value is only a `where` node's condition.
        bool comparison = node.op == TensorOp::Eq || node.op == TensorOp::Ne ||
                          node.op == TensorOp::Lt || node.op == TensorOp::Le ||
                          node.op == TensorOp::Gt || node.op == TensorOp::Ge;
        if (node.op == TensorOp::Where && node.a >= 0) { // else a Bool input
          TensorOp c = node.a < int(n) ? k.nodes[size_t(node.a)].op : TensorOp::Add;
          if (c != TensorOp::Eq && c != TensorOp::Ne && c != TensorOp::Lt && c != TensorOp::Le &&
              c != TensorOp::Gt && c != TensorOp::Ge)
            fail("kernel node " + std::to_string(n) + ": a where whose condition is not a comparison node");
        }
        if (comparison && size_t(n) + 1 == k.nodes.size())
          fail("a fused kernel whose result is a comparison");
      }
      return;
    }
    switch (op) {
    case TensorOp::Zero:
    case TensorOp::Full:
    case TensorOp::Arange:
    case TensorOp::Randn:
    case TensorOp::Rand:
    case TensorOp::Glorot:
    case TensorOp::FromArray:
    case TensorOp::Scalar:
    case TensorOp::LoadIdx:
    case TensorOp::LoadNpy:
    case TensorOp::LoadCsv:
      if (resultType() && resultType()->kind != TypeKind::Tensor)
        fail("result has type " + resultType()->str() + ", expected a tensor");
      return;
    case TensorOp::SaveNpy:
      if (arity(2)) {
        if (operandType(0)->kind != TypeKind::Tensor)
          fail("operand 0 must be a tensor");
        expectOperandKind(1, TypeKind::String, "String");
      }
      return;
    case TensorOp::SaveModel:
    case TensorOp::LoadModel: {
      // path, then (name: String, tensor) pairs; load_model's result is the
      // tuple of the tensors' types.
      if (in.operands.size() % 2 == 0) {
        fail("expected a path and (name, tensor) pairs");
        return;
      }
      expectOperandKind(0, TypeKind::String, "String");
      std::vector<const Type *> tensors;
      for (size_t i = 1; i < in.operands.size(); i += 2) {
        expectOperandKind(i, TypeKind::String, "String");
        expectOperandKind(i + 1, TypeKind::Tensor, "a tensor");
        tensors.push_back(operandType(i + 1));
      }
      auto *tt = sema::asTuple(resultType());
      if (op == TensorOp::LoadModel && resultType() && (!tt || tt->elements != tensors))
        fail("result has type " + resultType()->str() + ", expected the tuple of the tensors' types");
      return;
    }
    case TensorOp::Join:
    case TensorOp::JoinTangent:
    case TensorOp::JoinBackward: {
      // Join: parts, axis, stack -> T; JoinTangent: tangents, parts, axis,
      // stack -> T; JoinBackward: g, parts, axis, stack -> [T].
      size_t n = op == TensorOp::Join ? 3 : 4;
      if (!arity(n))
        return;
      const Type *tensor = op == TensorOp::JoinBackward ? operandType(0) : resultType();
      auto *parts = sema::asArray(operandType(n - 3));
      if (!tensor || tensor->kind != TypeKind::Tensor || !parts || parts->element != tensor)
        fail("expected an array of " + (tensor ? tensor->str() : std::string("a tensor type")) +
             " for the parts");
      if (op == TensorOp::JoinTangent && operandType(0) != operandType(1))
        fail("the tangents have type " + operandType(0)->str() + ", expected the parts' type");
      if (op == TensorOp::JoinBackward && resultType() && resultType() != operandType(1))
        fail("result has type " + resultType()->str() + ", expected the parts' type");
      expectOperandKind(n - 2, TypeKind::Int, "Int");
      expectOperandKind(n - 1, TypeKind::Bool, "Bool");
      return;
    }
    default:
      if (in.operands.empty() || operandType(0)->kind != TypeKind::Tensor)
        fail("operand 0 must be a tensor");
      return;
    }
  }

  void checkTypes(const Instr &in) {
    const auto numeric = {TypeKind::Int, TypeKind::Float, TypeKind::Double};
    const auto floating = {TypeKind::Float, TypeKind::Double};
    switch (in.op) {
    case Op::ConstInt:
      if (arity(0))
        expectResultKind(TypeKind::Int, "Int");
      return;
    case Op::ConstFloat:
      if (arity(0) && resultType() && !resultType()->isFloatingPoint())
        fail("result has type " + resultType()->str() + ", expected Float or Double");
      return;
    case Op::ConstBool:
      if (arity(0))
        expectResultKind(TypeKind::Bool, "Bool");
      return;
    case Op::ConstString:
      if (arity(0))
        expectResultKind(TypeKind::String, "String");
      return;
    case Op::Args:
      if (arity(0)) {
        auto *arr = sema::asArray(resultType());
        if (resultType() && !(arr && arr->element && arr->element->kind == TypeKind::String))
          fail("result has type " + resultType()->str() + ", expected [String]");
      }
      return;
    case Op::Environment:
      if (arity(1))
        expectResultKind(TypeKind::String, "String");
      return;
    case Op::Clock:
      if (arity(0))
        expectResultKind(TypeKind::Double, "Double");
      return;
    case Op::Undef:
      arity(0);
      return;

    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
      uniform(2, numeric, "Int, Float or Double");
      return;
    case Op::Rem:
      uniform(2, {TypeKind::Int}, "Int");
      return;
    case Op::Neg:
      uniform(1, numeric, "Int, Float or Double");
      return;
    case Op::Concat:
      uniform(2, {TypeKind::String}, "String");
      return;
    case Op::CmpEq:
    case Op::CmpNe:
    case Op::CmpLt:
    case Op::CmpLe:
    case Op::CmpGt:
    case Op::CmpGe:
      uniform(2,
              {TypeKind::Int, TypeKind::Float, TypeKind::Double, TypeKind::Bool, TypeKind::String},
              "Int, Float, Double, Bool or String", /*resultToo=*/false);
      expectResultKind(TypeKind::Bool, "Bool");
      return;
    case Op::Not:
      uniform(1, {TypeKind::Bool}, "Bool");
      return;
    case Op::Convert:
      if (arity(1) && resultType() &&
          !isAllowedConversion(operandType(0)->kind, resultType()->kind))
        fail("cannot convert " + operandType(0)->str() + " to " + resultType()->str());
      return;

    case Op::Sin:
    case Op::Cos:
    case Op::Tan:
    case Op::Exp:
    case Op::Log:
    case Op::Log1p:
    case Op::Sqrt:
    case Op::Tanh:
    case Op::Sigmoid:
    case Op::Relu:
    case Op::Floor:
    case Op::Ceil:
    case Op::Round:
      uniform(1, floating, "Float or Double");
      return;
    case Op::Abs:
    case Op::Sign:
      uniform(1, numeric, "Int, Float or Double");
      return;
    case Op::Pow:
      uniform(2, floating, "Float or Double");
      return;
    case Op::Min:
    case Op::Max:
      uniform(2, numeric, "Int, Float or Double");
      return;
    case Op::Select:
      if (!arity(3))
        return;
      expectOperandKind(0, TypeKind::Bool, "Bool");
      expectOperand(2, operandType(1), "the false value");
      expectResult(operandType(1));
      return;
    case Op::StopGradient:
      if (arity(1))
        expectResult(operandType(0));
      return;
    case Op::Derivative:
      if (!arity(1))
        return;
      if (!sema::asFunction(operandType(0)))
        fail("operand 0 has type " + operandType(0)->str() + ", expected a function value");
      if (in.imm < 0 || in.imm > 3)
        fail("derivative kind " + std::to_string(in.imm) + " is not 0..3");
      if (resultType() && !sema::asFunction(resultType()))
        fail("result has type " + resultType()->str() + ", expected a function type");
      return;
    case Op::ArrayCopy:
      if (arity(1) && !sema::asArray(operandType(0)))
        fail("operand 0 has type " + operandType(0)->str() + ", expected an array");
      else
        expectResult(operandType(0));
      return;
    case Op::ArrayMaterialize:
    case Op::ArrayTruncate: {
      if (!arity(2))
        return;
      auto *at = sema::asArray(operandType(0));
      if (!at) {
        fail("operand 0 has type " + operandType(0)->str() + ", expected an array");
        return;
      }
      if (in.op == Op::ArrayMaterialize && at->element->isManaged())
        fail("'array.materialize' needs elements that are not managed, not " +
             at->element->str());
      expectOperandKind(1, TypeKind::Int, "Int");
      expectResult(at);
      return;
    }
    case Op::ArrayAccum: {
      if (!arity(4))
        return;
      auto *at = sema::asArray(operandType(0));
      if (!at || !at->element->isFloatingPoint()) {
        fail("operand 0 has type " + operandType(0)->str() + ", expected [Float] or [Double]");
        return;
      }
      expectOperandKind(1, TypeKind::Int, "Int");
      expectOperand(2, at->element, "the addend");
      expectOperandKind(3, TypeKind::Int, "Int");
      expectResult(at);
      return;
    }

    case Op::Tuple: {
      const Type *rt = resultType();
      if (!rt)
        return;
      auto *tt = sema::asTuple(rt);
      if (!tt) {
        fail("result has type " + rt->str() + ", expected a tuple type");
        return;
      }
      if (!arity(tt->elements.size()))
        return;
      for (size_t i = 0; i < in.operands.size(); ++i)
        expectOperand(i, tt->elements[i], "operand " + std::to_string(i));
      return;
    }
    case Op::TupleGet:
    case Op::TupleSet: {
      if (!arity(in.op == Op::TupleGet ? 1 : 2))
        return;
      auto *tt = sema::asTuple(operandType(0));
      if (!tt) {
        fail("operand 0 has type " + operandType(0)->str() + ", expected a tuple");
        return;
      }
      if (in.imm < 0 || size_t(in.imm) >= tt->elements.size()) {
        fail("element index " + std::to_string(in.imm) + " is out of range for " + tt->str());
        return;
      }
      const Type *elem = tt->elements[size_t(in.imm)];
      if (in.op == Op::TupleGet) {
        expectResult(elem);
        return;
      }
      expectOperand(1, elem, "the new element");
      expectResult(tt);
      return;
    }
    case Op::StructMake: {
      const Type *rt = resultType();
      if (!rt)
        return;
      auto *st = sema::asStruct(rt);
      if (!st) {
        fail("result has type " + rt->str() + ", expected a struct type");
        return;
      }
      if (!arity(st->fields.size()))
        return;
      for (size_t i = 0; i < in.operands.size(); ++i)
        expectOperand(i, st->fields[i].type, "field " + std::to_string(i) + " ('" +
                                                 st->fields[i].name + "')");
      return;
    }
    case Op::StructGet:
    case Op::StructSet: {
      if (!arity(in.op == Op::StructGet ? 1 : 2))
        return;
      auto *st = sema::asStruct(operandType(0));
      if (!st) {
        fail("operand 0 has type " + operandType(0)->str() + ", expected a struct");
        return;
      }
      if (in.imm < 0 || size_t(in.imm) >= st->fields.size()) {
        fail("field index " + std::to_string(in.imm) + " is out of range for " + st->str() +
             " (" + std::to_string(st->fields.size()) + " fields)");
        return;
      }
      const Type *field = st->fields[size_t(in.imm)].type;
      if (in.op == Op::StructGet) {
        expectResult(field);
        return;
      }
      expectOperand(1, field, "the new value of field '" + st->fields[size_t(in.imm)].name + "'");
      expectResult(st);
      return;
    }

    case Op::ArrayMake: {
      const Type *rt = resultType();
      if (!rt)
        return;
      auto *at = sema::asArray(rt);
      if (!at) {
        fail("result has type " + rt->str() + ", expected an array type");
        return;
      }
      for (size_t i = 0; i < in.operands.size(); ++i)
        expectOperand(i, at->element, "element " + std::to_string(i));
      return;
    }
    case Op::ArrayRepeat: {
      if (!arity(2))
        return;
      expectOperandKind(1, TypeKind::Int, "Int");
      const Type *rt = resultType();
      auto *at = sema::asArray(rt);
      if (rt && (!at || at->element != operandType(0)))
        fail("result has type " + rt->str() + ", expected [" + operandType(0)->str() + "]");
      return;
    }
    case Op::ArrayCount:
      if (!arity(1))
        return;
      if (!sema::asArray(operandType(0)))
        fail("operand 0 has type " + operandType(0)->str() + ", expected an array");
      expectResultKind(TypeKind::Int, "Int");
      return;
    case Op::ArrayGet:
    case Op::ArraySet:
    case Op::ArrayAppend:
    case Op::StackPush: {
      // stack.push takes one or more elements.
      size_t n = in.op == Op::ArrayGet   ? 2
                 : in.op == Op::ArraySet ? 3
                 : in.op == Op::StackPush && in.operands.size() > 2 ? in.operands.size()
                                                                    : 2;
      if (!arity(n))
        return;
      auto *at = sema::asArray(operandType(0));
      if (!at) {
        fail("operand 0 has type " + operandType(0)->str() + ", expected an array");
        return;
      }
      if (in.op != Op::ArrayAppend && in.op != Op::StackPush)
        expectOperandKind(1, TypeKind::Int, "Int");
      if (in.op == Op::ArrayGet) {
        expectResult(at->element);
        return;
      }
      for (size_t e = in.op == Op::StackPush ? 1 : n - 1; e < n; ++e)
        expectOperand(e, at->element, "the element");
      expectResult(at);
      return;
    }

    case Op::Call: {
      const Function *callee = calleeOf();
      if (!callee)
        return;
      const auto &params = callee->type->params;
      std::string what = "'@" + callee->name + "'";
      if (in.operands.size() != params.size())
        fail("passes " + std::to_string(in.operands.size()) + " argument(s) to " + what +
             ", which takes " + std::to_string(params.size()));
      expectArguments(0, params, what);
      expectResult(callee->type->result);
      return;
    }
    case Op::MakeClosure: {
      const Function *callee = calleeOf();
      if (!callee)
        return;
      const auto &params = callee->type->params;
      std::string what = "'@" + callee->name + "'";
      if (in.operands.size() > params.size()) {
        fail("captures " + std::to_string(in.operands.size()) + " value(s) but " + what +
             " takes only " + std::to_string(params.size()) + " parameter(s)");
        return;
      }
      expectArguments(0, params, what);
      const Type *rt = resultType();
      if (!rt)
        return;
      auto *ft = sema::asFunction(rt);
      std::vector<const Type *> rest(params.begin() + long(in.operands.size()), params.end());
      if (!ft || ft->params != rest || ft->result != callee->type->result) {
        std::string want = "(";
        for (size_t i = 0; i < rest.size(); ++i)
          want += (i ? ", " : "") + typeStr(rest[i]);
        want += ") -> " + typeStr(callee->type->result);
        fail("result has type " + rt->str() + ", expected " + want);
      }
      return;
    }
    case Op::CallClosure: {
      if (in.operands.empty()) {
        fail("expects a closure operand");
        return;
      }
      auto *ft = sema::asFunction(operandType(0));
      if (!ft) {
        fail("operand 0 has type " + operandType(0)->str() + ", expected a function type");
        return;
      }
      if (in.operands.size() - 1 != ft->params.size())
        fail("passes " + std::to_string(in.operands.size() - 1) +
             " argument(s) to a closure of type " + ft->str());
      expectArguments(1, ft->params, "the closure");
      expectResult(ft->result);
      return;
    }

    case Op::Tensor:
      checkTensor(in);
      return;
    case Op::Retain:
    case Op::Release:
      if (arity(1) && !isRefcounted(operandType(0)))
        fail("operand has type " + operandType(0)->str() + ", which holds nothing refcounted");
      return;
    case Op::Seed:
      if (arity(1))
        expectOperandKind(0, TypeKind::Int, "Int");
      return;
    case Op::Print:
      return;
    case Op::Assert:
      if (!arity(2))
        return;
      expectOperandKind(0, TypeKind::Bool, "Bool");
      expectOperandKind(1, TypeKind::String, "String");
      return;
    case Op::Exit:
      if (arity(1))
        expectOperandKind(0, TypeKind::Int, "Int");
      return;

    case Op::Br:
    case Op::Unreachable:
      arity(0);
      return;
    case Op::CondBr:
      if (arity(1))
        expectOperandKind(0, TypeKind::Bool, "Bool");
      return;
    case Op::Ret:
      if (!arity(1) || !fn.type)
        return;
      if (operandType(0) != fn.type->result)
        fail("returns " + operandType(0)->str() + " but the function's result type is " +
             typeStr(fn.type->result));
      return;
    }
  }
};

} // namespace

std::vector<std::string> verify(const Module &module) {
  std::vector<std::string> errors;
  std::map<std::string, size_t> firstByName;
  for (size_t i = 0; i < module.functions.size(); ++i) {
    const std::string &name = module.functions[i].name;
    auto [it, inserted] = firstByName.emplace(name, i);
    if (!inserted)
      errors.push_back("duplicate function name '" + name + "' (functions #" +
                       std::to_string(it->second) + " and #" + std::to_string(i) + ")");
  }
  for (const Function &fn : module.functions)
    FunctionVerifier(module, fn, errors).run();
  return errors;
}

} // namespace dlc::ir
