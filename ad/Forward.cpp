// Forward mode: F.jvp(params..., tangents...) -> (result, result tangent).
// Every block of F is cloned; each active value gets a tangent computed next
// to it, and blocks take the tangents of their active arguments as extra
// arguments, so control flow of any shape (loops, early returns) needs
// nothing special. Calls use the callee's own JVP (recursion included).
#include "ad/ADImpl.h"

namespace dlc::ad {

namespace {

class ForwardEmitter {
public:
  ForwardEmitter(Differentiator &d, const Function &src, Function &out, const Activity &act,
                 const Differentiator::Mask &mask, FuncId srcId)
      : d(d), src(src), b(d.module, out), act(act), mask(mask), srcId(srcId) {}

  void run();

private:
  Differentiator &d;
  const Function &src;
  Builder b;
  const Activity &act;
  const Differentiator::Mask &mask;
  FuncId srcId;
  std::vector<ValueId> vmap, tmap;
  std::vector<BlockId> bmap;

  ValueId V(ValueId v) { return vmap[v.index]; }
  bool isActive(ValueId v) { return act.active(v); }
  /// The tangent of a source value: its computed tangent, or zero.
  ValueId T(ValueId v) {
    if (isActive(v))
      return tmap[v.index];
    return b.zero(d.tangentOrUnit(src.typeOf(v)));
  }
  const Type *tanType(ValueId v) { return d.types().tangentType(src.typeOf(v)); }
  ValueId mul(ValueId x, ValueId y) { return b.emit(Op::Mul, b.typeOf(x), {x, y}); }
  ValueId div(ValueId x, ValueId y) { return b.emit(Op::Div, b.typeOf(x), {x, y}); }
  ValueId un(Op op, ValueId x) { return b.emit(op, b.typeOf(x), {x}); }
  ValueId cst(ValueId like, double v) { return b.constFloat(b.typeOf(like), v); }
  ValueId cmp(Op op, ValueId x, ValueId y) { return b.emit(op, d.types().boolType(), {x, y}); }
  /// Sum of the terms that exist; zero of `t` when none.
  ValueId sum(const std::vector<ValueId> &terms, const Type *t) {
    ValueId acc;
    for (ValueId x : terms)
      if (x.isValid())
        acc = acc.isValid() ? b.add(acc, x) : x;
    return acc.isValid() ? acc : b.zero(t);
  }

  ValueId clone(const Instr &in);
  void tangentOf(const Instr &in, ValueId r, ValueId countBefore);
};

ValueId ForwardEmitter::clone(const Instr &in) {
  Instr c = in;
  for (ValueId &o : c.operands)
    o = V(o);
  c.targets.clear();
  if (in.result.isValid()) {
    c.result = b.f.addValue(src.typeOf(in.result), src.values[in.result.index].name);
    vmap[in.result.index] = c.result;
  }
  b.f.block(b.cur).instrs.push_back(std::move(c));
  return in.result.isValid() ? vmap[in.result.index] : ValueId{};
}

void ForwardEmitter::run() {
  vmap.assign(src.values.size(), ValueId{});
  tmap.assign(src.values.size(), ValueId{});
  bmap.assign(src.blocks.size(), BlockId{});
  for (size_t i = 0; i < src.blocks.size(); ++i)
    if (act.reachable[i])
      bmap[i] = b.block(src.blocks[i].name);
  // Block arguments: the primal ones, then tangents of the active ones. The
  // entry block's tangent arguments are the masked parameters' tangents.
  for (size_t i = 0; i < src.blocks.size(); ++i) {
    if (!act.reachable[i])
      continue;
    for (ValueId a : src.blocks[i].args)
      vmap[a.index] = b.arg(bmap[i], src.typeOf(a), src.values[a.index].name);
    if (i == 0) {
      const auto &params = src.blocks[0].args;
      for (size_t p = 0; p < params.size(); ++p)
        if (mask[p]) {
          ValueId t = b.arg(bmap[0], tanType(params[p]), "d" + src.values[params[p].index].name);
          if (isActive(params[p]))
            tmap[params[p].index] = t;
        }
      continue;
    }
    for (ValueId a : src.blocks[i].args)
      if (isActive(a))
        tmap[a.index] = b.arg(bmap[i], tanType(a), "d" + src.values[a.index].name);
  }

  for (size_t bi : reversePostorder(src)) {
    b.at(bmap[bi]);
    for (const Instr &in : src.blocks[bi].instrs) {
      b.loc = in.loc;
      if (ir::isTerminator(in.op)) {
        Instr c;
        c.op = in.op;
        c.loc = in.loc;
        for (ValueId o : in.operands)
          c.operands.push_back(V(o));
        for (const ir::Target &t : in.targets) {
          ir::Target nt{bmap[t.block.index], {}};
          for (ValueId a : t.args)
            nt.args.push_back(V(a));
          const auto &targs = src.block(t.block).args;
          for (size_t k = 0; k < t.args.size(); ++k)
            if (isActive(targs[k]))
              nt.args.push_back(T(t.args[k]));
          c.targets.push_back(std::move(nt));
        }
        if (in.op == Op::Ret) {
          ValueId v = in.operands[0];
          ValueId tv = T(v);
          b.ret(b.tuple({V(v), tv}));
          continue;
        }
        b.f.block(b.cur).instrs.push_back(std::move(c));
        continue;
      }
      bool resultActive = in.result.isValid() && isActive(in.result);
      if (in.op == Op::Call && resultActive) {
        FuncId callee = in.callee;
        const Function &cf = d.module.function(callee);
        Differentiator::Mask cmask = d.fullMask(cf);
        for (size_t k = 0; k < in.operands.size(); ++k)
          cmask[k] = cmask[k] && isActive(in.operands[k]);
        d.frames.push_back({displayName(cf.name), in.loc});
        FuncId cj = d.jvp(callee, cmask);
        d.frames.pop_back();
        std::vector<ValueId> args;
        for (ValueId o : in.operands)
          args.push_back(V(o));
        for (size_t k = 0; k < in.operands.size(); ++k)
          if (cmask[k])
            args.push_back(T(in.operands[k]));
        ValueId pair = b.call(cj, args);
        vmap[in.result.index] = b.get(pair, 0);
        tmap[in.result.index] = b.get(pair, 1);
        continue;
      }
      // In-place ops change their operand: read its count first.
      ValueId countBefore;
      if (resultActive && (in.op == Op::StackPush || in.op == Op::ArrayAppend))
        countBefore = b.emit(Op::ArrayCount, d.types().intType(), {V(in.operands[0])});
      if (resultActive &&
          (in.op == Op::StackPush || in.op == Op::ArrayAccum || in.op == Op::ArrayTruncate)) {
        // Tangent first: it does not need the result.
        tangentOf(in, ValueId{}, countBefore);
        clone(in);
        continue;
      }
      ValueId r = clone(in);
      if (resultActive)
        tangentOf(in, r, countBefore);
    }
  }
}

void ForwardEmitter::tangentOf(const Instr &in, ValueId r, ValueId countBefore) {
  auto &ops = in.operands;
  auto A = [&](size_t i) { return V(ops[i]); };
  auto act_ = [&](size_t i) { return i < ops.size() && isActive(ops[i]); };
  const Type *rt = tanType(in.result);
  ValueId t;
  switch (in.op) {
  case Op::Add:
    t = sum({act_(0) ? T(ops[0]) : ValueId{}, act_(1) ? T(ops[1]) : ValueId{}}, rt);
    break;
  case Op::Sub:
    t = sum({act_(0) ? T(ops[0]) : ValueId{}, act_(1) ? b.neg(T(ops[1])) : ValueId{}}, rt);
    break;
  case Op::Mul:
    t = sum({act_(0) ? mul(T(ops[0]), A(1)) : ValueId{},
             act_(1) ? mul(A(0), T(ops[1])) : ValueId{}},
            rt);
    break;
  case Op::Div:
    t = sum({act_(0) ? div(T(ops[0]), A(1)) : ValueId{},
             act_(1) ? b.neg(div(mul(r, T(ops[1])), A(1))) : ValueId{}},
            rt);
    break;
  case Op::Neg:
    t = b.neg(T(ops[0]));
    break;
  case Op::Convert:
    t = b.emit(Op::Convert, rt, {T(ops[0])});
    break;
  case Op::Sin:
    t = mul(un(Op::Cos, A(0)), T(ops[0]));
    break;
  case Op::Cos:
    t = b.neg(mul(un(Op::Sin, A(0)), T(ops[0])));
    break;
  case Op::Tan:
    t = mul(b.add(cst(r, 1.0), mul(r, r)), T(ops[0]));
    break;
  case Op::Exp:
    t = mul(r, T(ops[0]));
    break;
  case Op::Log:
    t = div(T(ops[0]), A(0));
    break;
  case Op::Log1p:
    t = div(T(ops[0]), b.add(cst(r, 1.0), A(0)));
    break;
  case Op::Sqrt:
    t = div(T(ops[0]), mul(cst(r, 2.0), r));
    break;
  case Op::Tanh:
    t = mul(b.emit(Op::Sub, rt, {cst(r, 1.0), mul(r, r)}), T(ops[0]));
    break;
  case Op::Sigmoid:
    t = mul(mul(r, b.emit(Op::Sub, rt, {cst(r, 1.0), r})), T(ops[0]));
    break;
  case Op::Relu:
    t = b.emit(Op::Select, rt, {cmp(Op::CmpGt, A(0), cst(r, 0.0)), T(ops[0]), cst(r, 0.0)});
    break;
  case Op::Abs:
    t = mul(un(Op::Sign, A(0)), T(ops[0]));
    break;
  case Op::Pow: {
    ValueId ta, tb;
    if (act_(0)) // b * a^(b-1) * da
      ta = mul(mul(A(1), b.emit(Op::Pow, rt, {A(0), b.emit(Op::Sub, rt, {A(1), cst(r, 1.0)})})),
               T(ops[0]));
    if (act_(1)) // a^b * log(a) * db
      tb = mul(mul(r, un(Op::Log, A(0))), T(ops[1]));
    t = sum({ta, tb}, rt);
    break;
  }
  case Op::Min:
  case Op::Max: {
    ValueId first = cmp(in.op == Op::Min ? Op::CmpLe : Op::CmpGe, A(0), A(1));
    t = b.emit(Op::Select, rt, {first, T(ops[0]), T(ops[1])});
    break;
  }
  case Op::Select:
    t = b.emit(Op::Select, rt, {A(0), T(ops[1]), T(ops[2])});
    break;
  case Op::Tuple: {
    std::vector<ValueId> parts;
    for (ValueId o : ops)
      parts.push_back(T(o));
    t = b.emit(Op::Tuple, rt, parts);
    break;
  }
  case Op::TupleGet:
    t = b.get(T(ops[0]), size_t(in.imm));
    break;
  case Op::TupleSet:
    t = b.emit(Op::TupleSet, rt, {T(ops[0]), T(ops[1])}, in.imm);
    break;
  case Op::StructMake: {
    auto *st = sema::asStruct(src.typeOf(in.result));
    std::vector<ValueId> fields;
    for (size_t i = 0; i < ops.size(); ++i)
      if (d.types().tangentFieldIndex(st, unsigned(i)) >= 0)
        fields.push_back(T(ops[i]));
    t = b.emit(Op::StructMake, rt, fields);
    break;
  }
  case Op::StructGet: {
    int k = d.types().tangentFieldIndex(sema::asStruct(src.typeOf(ops[0])), unsigned(in.imm));
    DLC_ASSERT(k >= 0, "an active field has a tangent");
    t = b.emit(Op::StructGet, rt, {T(ops[0])}, k);
    break;
  }
  case Op::StructSet: {
    int k = d.types().tangentFieldIndex(sema::asStruct(src.typeOf(ops[0])), unsigned(in.imm));
    t = k < 0 ? T(ops[0]) : b.emit(Op::StructSet, rt, {T(ops[0]), T(ops[1])}, k);
    break;
  }
  case Op::ArrayMake: {
    std::vector<ValueId> elems;
    for (ValueId o : ops)
      elems.push_back(T(o));
    t = b.emit(Op::ArrayMake, rt, elems);
    break;
  }
  case Op::ArrayRepeat:
    t = b.emit(Op::ArrayRepeat, rt, {T(ops[0]), A(1)});
    break;
  case Op::ArrayGet:
    t = b.elementOrZero(T(ops[0]), A(1));
    break;
  case Op::ArraySet: {
    ValueId n = b.emit(Op::ArrayCount, d.types().intType(), {A(0)});
    t = b.emit(Op::ArraySet, rt, {b.materialize(T(ops[0]), n), A(1), T(ops[2])});
    break;
  }
  case Op::ArrayAppend:
  case Op::StackPush: {
    std::vector<ValueId> tops{b.materialize(T(ops[0]), countBefore)};
    for (size_t j = 1; j < ops.size(); ++j)
      tops.push_back(T(ops[j]));
    t = b.emit(in.op, rt, tops);
    break;
  }
  case Op::ArrayAccum:
    t = b.emit(Op::ArrayAccum, rt, {T(ops[0]), A(1), T(ops[2]), A(3)});
    break;
  case Op::ArrayMaterialize:
  case Op::ArrayTruncate:
    t = b.emit(in.op, rt, {T(ops[0]), A(1)});
    break;
  case Op::Tensor:
    t = tensorTangent(
        b, in, A, [&](size_t i) { return T(ops[i]); }, act_, r);
    break;
  default:
    DLC_UNREACHABLE("no tangent rule for an op that propagates activity");
  }
  tmap[in.result.index] = t;
}

} // namespace

std::string Differentiator::maskSuffix(const Function &f, const Mask &mask) {
  if (mask == fullMask(f))
    return "";
  std::string s = ".wrt";
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i])
      s += "_" + std::to_string(i);
  return s;
}

Differentiator::Mask Differentiator::fullMask(const Function &f) {
  Mask m;
  for (size_t i = 0; i < f.type->params.size(); ++i)
    m.push_back(types().tangentType(f.type->params[i]) != nullptr && !isNoDerivative(f, i));
  return m;
}

const Type *Differentiator::paramTangentsType(const Function &f, const Mask &mask) {
  std::vector<const Type *> parts;
  for (size_t i = 0; i < f.type->params.size(); ++i)
    parts.push_back(mask[i] ? tangentOrUnit(f.type->params[i]) : types().unitType());
  return types().tupleType(parts);
}

FuncId Differentiator::reserve(const std::string &name, const sema::FunctionType *type,
                               SourceLoc loc) {
  Function f;
  f.name = name;
  f.type = type;
  f.loc = loc;
  return module.addFunction(std::move(f));
}

void Differentiator::install(FuncId id, Function f) {
  module.function(id) = std::move(f);
  callees.erase(id.index);
}

FuncId Differentiator::jvp(FuncId fnId, const Mask &mask) {
  auto key = std::make_pair(fnId.index, mask);
  if (auto it = jvps.find(key); it != jvps.end())
    return it->second;
  resolveDerivatives(fnId);
  Function src = module.function(fnId);
  std::vector<const Type *> params = src.type->params;
  for (size_t i = 0; i < src.type->params.size(); ++i)
    if (mask[i])
      params.push_back(tangentOrUnit(src.type->params[i]));
  const Type *result = types().tupleType({src.type->result, tangentOrUnit(src.type->result)});
  FuncId id = reserve(src.name + maskSuffix(src, mask) + ".jvp", types().functionType(params, result), src.loc);
  jvps[key] = id;

  Function out;
  out.name = src.name + maskSuffix(src, mask) + ".jvp";
  out.type = module.function(id).type;
  out.loc = src.loc;
  if (src.customJVP.isValid()) {
    // The registered @jvp takes a tangent for each differentiable parameter.
    Builder b(module, out);
    BlockId entry = b.block("entry");
    b.at(entry);
    std::vector<ValueId> args, tangents;
    for (const Type *p : src.type->params)
      args.push_back(b.arg(entry, p));
    Mask custom = fullMask(src);
    for (size_t i = 0; i < src.type->params.size(); ++i)
      if (mask[i])
        tangents.push_back(b.arg(entry, tangentOrUnit(src.type->params[i])));
    size_t next = 0;
    std::vector<ValueId> callArgs = args;
    for (size_t i = 0; i < src.type->params.size(); ++i) {
      ValueId t = mask[i] ? tangents[next++] : ValueId{};
      if (custom[i])
        callArgs.push_back(t.isValid() ? t : b.zero(tangentOrUnit(src.type->params[i])));
    }
    b.ret(b.call(src.customJVP, callArgs));
    install(id, std::move(out));
    return id;
  }
  if (src.isExtern) {
    reportNotDifferentiable(frames.empty() ? src.loc : frames.back().loc, src.name);
    BlockId e = out.addBlock("entry");
    for (const Type *p : params)
      out.block(e).args.push_back(out.addValue(p));
    out.block(e).instrs.push_back(unreachableInstr());
    install(id, std::move(out));
    return id;
  }
  Activity act = analyze(src, mask);
  if (!checkDifferentiable(src, act)) {
    BlockId e = out.addBlock("entry");
    for (const Type *p : params)
      out.block(e).args.push_back(out.addValue(p));
    out.block(e).instrs.push_back(unreachableInstr());
    install(id, std::move(out));
    return id;
  }
  ForwardEmitter(*this, src, out, act, mask, fnId).run();
  install(id, std::move(out));
  return id;
}

} // namespace dlc::ad
