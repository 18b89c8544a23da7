// Lowering of expressions and calls: literals, names, operators (with
// short-circuit control flow), aggregates, calls of every kind with inout
// write-back, builtins, lambdas and function values as closures.
#include "ir/LowerImpl.h"

namespace dlc::ir::lowering {

ValueId FunctionLowerer::lowerExpr(const Expr *e) {
  const Type *type = e->type;
  switch (e->kind) {
  case NodeKind::IntLitExpr: {
    auto *lit = cast<IntLitExpr>(e);
    if (type->isFloatingPoint())
      return lowerLiteralFloat(double(lit->value), type, e->loc);
    return emit(Op::ConstInt, type, {}, e->loc, int64_t(lit->value));
  }
  case NodeKind::FloatLitExpr:
    return lowerLiteralFloat(cast<FloatLitExpr>(e)->value, type, e->loc);
  case NodeKind::BoolLitExpr:
    return emit(Op::ConstBool, type, {}, e->loc, cast<BoolLitExpr>(e)->value);
  case NodeKind::StringLitExpr: {
    ValueId v = emit(Op::ConstString, type, {}, e->loc);
    lastInstr().str = cast<StringLitExpr>(e)->value;
    return v;
  }
  case NodeKind::NameExpr: {
    auto *n = cast<NameExpr>(e);
    switch (n->ref) {
    case NameExpr::Ref::Local:
    case NameExpr::Ref::Param: {
      ValueId v = env.get(n->decl);
      DLC_ASSERT(v.isValid(), "name has no value in the environment");
      return v;
    }
    case NameExpr::Ref::Field:
      return readLValue(lvalueOf(n));
    case NameExpr::Ref::Function:
      return lowerFunctionValue(cast<FuncDecl>(n->decl));
    case NameExpr::Ref::Unresolved:
    case NameExpr::Ref::Type:
    case NameExpr::Ref::Builtin:
      break;
    }
    DLC_UNREACHABLE("unresolved name reached lowering");
  }
  case NodeKind::SelfExpr:
    return env.get(self);
  case NodeKind::ParenExpr:
    return lowerExpr(cast<ParenExpr>(e)->inner);
  case NodeKind::TupleExpr: {
    std::vector<ValueId> elems;
    for (const Expr *x : cast<TupleExpr>(e)->elements)
      elems.push_back(lowerExpr(x));
    return emit(Op::Tuple, type, elems, e->loc);
  }
  case NodeKind::ArrayLitExpr: {
    std::vector<ValueId> elems;
    for (const Expr *x : cast<ArrayLitExpr>(e)->elements)
      elems.push_back(lowerExpr(x));
    return emit(Op::ArrayMake, type, elems, e->loc);
  }
  case NodeKind::CallExpr:
    return lowerCall(cast<CallExpr>(e));
  case NodeKind::MemberExpr: {
    auto *m = cast<MemberExpr>(e);
    if (m->memberKind == MemberExpr::Kind::Property && m->base->type->kind == TypeKind::Tensor)
      return lowerTensorProperty(m);
    if (m->memberKind == MemberExpr::Kind::Property) {
      ValueId base = lowerExpr(m->base);
      return emit(Op::ArrayCount, type, {base}, m->memberLoc);
    }
    ValueId base = lowerExpr(m->base);
    Op op = m->memberKind == MemberExpr::Kind::Field ? Op::StructGet : Op::TupleGet;
    return emit(op, type, {base}, m->memberLoc, m->index);
  }
  case NodeKind::IndexExpr: {
    auto *ix = cast<IndexExpr>(e);
    if (auto *tt = sema::asTensor(ix->base->type))
      return lowerTensorIndex(ix, tt);
    ValueId base = lowerExpr(ix->base);
    ValueId index = lowerExpr(ix->indices.front());
    return emit(Op::ArrayGet, type, {base, index}, ix->loc);
  }
  case NodeKind::UnaryExpr: {
    auto *u = cast<UnaryExpr>(e);
    if (type->kind == TypeKind::Tensor)
      return tensorOp(u->op == '!' ? TensorOp::Not : TensorOp::Neg, type, {lowerExpr(u->operand)},
                      u->loc);
    if (u->op == '!')
      return emit(Op::Not, type, {lowerExpr(u->operand)}, u->loc);
    // Negative literals are constants (this is also how INT64_MIN is written).
    if (auto *lit = dynCast<IntLitExpr>(u->operand)) {
      if (type->isFloatingPoint())
        return lowerLiteralFloat(-double(lit->value), type, u->loc);
      return emit(Op::ConstInt, type, {}, u->loc, int64_t(0 - lit->value));
    }
    if (auto *lit = dynCast<FloatLitExpr>(u->operand))
      return lowerLiteralFloat(-lit->value, type, u->loc);
    return emit(Op::Neg, type, {lowerExpr(u->operand)}, u->loc);
  }
  case NodeKind::BinaryExpr:
    return lowerBinary(cast<BinaryExpr>(e));
  case NodeKind::TernaryExpr:
    return lowerTernary(cast<TernaryExpr>(e));
  case NodeKind::LambdaExpr:
    return lowerLambdaValue(cast<LambdaExpr>(e));
  case NodeKind::InOutExpr:
    return lowerExpr(cast<InOutExpr>(e)->operand);
  default:
    DLC_UNREACHABLE("not an expression");
  }
}

ValueId FunctionLowerer::lowerBinary(const BinaryExpr *b) {
  if (b->type->kind == TypeKind::Tensor)
    return lowerTensorBinary(b);
  if (b->op == BinaryOp::And || b->op == BinaryOp::Or)
    return lowerShortCircuit(b);
  ValueId l = lowerExpr(b->lhs);
  ValueId r = lowerExpr(b->rhs);
  const Type *operandType = f.typeOf(l);
  if (b->tangentArithmetic) {
    Op op = b->op == BinaryOp::Add   ? Op::Add
            : b->op == BinaryOp::Sub ? Op::Sub
            : b->op == BinaryOp::Mul ? Op::Mul
                                     : Op::Div;
    return tangentFieldwise(op, l, r, b->type);
  }
  Op op = Op::Add;
  switch (b->op) {
  case BinaryOp::Add:
    op = operandType->kind == TypeKind::String ? Op::Concat : Op::Add;
    break;
  case BinaryOp::Sub:
    op = Op::Sub;
    break;
  case BinaryOp::Mul:
    op = Op::Mul;
    break;
  case BinaryOp::Div:
    op = Op::Div;
    break;
  case BinaryOp::Rem:
    op = Op::Rem;
    break;
  case BinaryOp::Eq:
    op = Op::CmpEq;
    break;
  case BinaryOp::Ne:
    op = Op::CmpNe;
    break;
  case BinaryOp::Lt:
    op = Op::CmpLt;
    break;
  case BinaryOp::Le:
    op = Op::CmpLe;
    break;
  case BinaryOp::Gt:
    op = Op::CmpGt;
    break;
  case BinaryOp::Ge:
    op = Op::CmpGe;
    break;
  case BinaryOp::MatMul:
  case BinaryOp::And:
  case BinaryOp::Or:
  case BinaryOp::HalfOpenRange:
  case BinaryOp::ClosedRange:
    DLC_UNREACHABLE("operator sema rejects or lowers elsewhere");
  }
  return emit(op, b->type, {l, r}, b->opLoc);
}

ValueId FunctionLowerer::lowerShortCircuit(const BinaryExpr *b) {
  // a && b:  cond_br a, rhs(), merge(false)    a || b:  cond_br a, merge(true), rhs()
  ValueId l = lowerExpr(b->lhs);
  bool isAnd = b->op == BinaryOp::And;
  ValueId shortValue = constBool(!isAnd);
  std::vector<const Decl *> carried = mutables();
  Env outer = env;
  BlockId rhsB = f.addBlock(isAnd ? "and.rhs" : "or.rhs"), merge = f.addBlock("merge");
  std::vector<ValueId> shortArgs{shortValue};
  for (ValueId v : valuesOf(carried))
    shortArgs.push_back(v);
  if (isAnd)
    condBranch(l, rhsB, {}, merge, shortArgs);
  else
    condBranch(l, merge, shortArgs, rhsB, {});
  cur = rhsB;
  ValueId r = lowerExpr(b->rhs);
  std::vector<ValueId> args{r};
  for (ValueId v : valuesOf(carried))
    args.push_back(v);
  branch(merge, args);
  env = outer;
  cur = merge;
  ValueId result = f.addValue(types().boolType());
  f.block(merge).args.push_back(result);
  bindBlockArgs(merge, carried);
  return result;
}

ValueId FunctionLowerer::lowerTernary(const TernaryExpr *t) {
  ValueId c = lowerExpr(t->cond);
  std::vector<const Decl *> carried = mutables();
  Env outer = env;
  BlockId thenB = f.addBlock("then"), elseB = f.addBlock("else"), merge = f.addBlock("merge");
  condBranch(c, thenB, {}, elseB, {});
  auto arm = [&](BlockId block, const Expr *e) {
    env = outer;
    cur = block;
    ValueId v = lowerExpr(e);
    std::vector<ValueId> args{v};
    for (ValueId x : valuesOf(carried))
      args.push_back(x);
    branch(merge, args);
  };
  arm(thenB, t->thenExpr);
  arm(elseB, t->elseExpr);
  env = outer;
  cur = merge;
  ValueId result = f.addValue(t->type);
  f.block(merge).args.push_back(result);
  bindBlockArgs(merge, carried);
  return result;
}

ValueId FunctionLowerer::emitCall(FuncId callee, const CallExpr *c, const Expr *receiver,
                                  bool implicitSelf, bool mutatingReceiver) {
  std::vector<ValueId> operands;
  std::vector<LValue> writeBacks;
  if (receiver || implicitSelf) {
    if (mutatingReceiver) {
      LValue lv = implicitSelf ? LValue{self, {}} : lvalueOf(receiver);
      operands.push_back(readLValue(lv));
      writeBacks.push_back(lv);
    } else {
      operands.push_back(implicitSelf ? env.get(self) : lowerExpr(receiver));
    }
  }
  for (const Argument &a : c->args) {
    if (auto *io = dynCast<InOutExpr>(a.value)) {
      LValue lv = lvalueOf(io->operand);
      operands.push_back(readLValue(lv));
      writeBacks.push_back(lv);
    } else {
      operands.push_back(lowerExpr(a.value));
    }
  }
  const sema::FunctionType *sig = m.module.function(callee).type;
  ValueId result = emit(Op::Call, sig->result, operands, c->loc);
  lastInstr().callee = callee;
  if (writeBacks.empty())
    return result;
  auto *parts = sema::asTuple(sig->result);
  for (size_t i = 0; i < writeBacks.size(); ++i)
    writeLValue(writeBacks[i],
                emit(Op::TupleGet, parts->elements[i + 1], {result}, c->loc, int64_t(i + 1)));
  return emit(Op::TupleGet, parts->elements[0], {result}, c->loc, 0);
}

ValueId FunctionLowerer::lowerCall(const CallExpr *c) {
  auto idOf = [&](const FuncDecl *fd) {
    auto it = m.functionIds.find(fd);
    DLC_ASSERT(it != m.functionIds.end(), "call to a function that was not declared");
    return it->second;
  };
  switch (c->callKind) {
  case CallExpr::Kind::Function:
  case CallExpr::Kind::StaticMethod:
  case CallExpr::Kind::Init:
    return emitCall(idOf(c->target), c, nullptr, false, false);
  case CallExpr::Kind::Method:
  case CallExpr::Kind::CallMethod:
    return emitCall(idOf(c->target), c, c->receiver, c->receiver == nullptr,
                    c->target->isMutating);
  case CallExpr::Kind::MemberwiseInit: {
    std::vector<ValueId> fields;
    for (const Argument &a : c->args)
      fields.push_back(lowerExpr(a.value));
    return emit(Op::StructMake, c->type, fields, c->loc);
  }
  case CallExpr::Kind::Closure: {
    std::vector<ValueId> operands{lowerExpr(c->callee)};
    for (const Argument &a : c->args)
      operands.push_back(lowerExpr(a.value));
    return emit(Op::CallClosure, c->type, operands, c->loc);
  }
  case CallExpr::Kind::Builtin:
    return lowerBuiltin(c);
  case CallExpr::Kind::Unresolved:
    break;
  }
  DLC_UNREACHABLE("unresolved call reached lowering");
}

namespace {
Op mathOp(Builtin b) {
  switch (b) {
  case Builtin::Sin: return Op::Sin;
  case Builtin::Cos: return Op::Cos;
  case Builtin::Tan: return Op::Tan;
  case Builtin::Exp: return Op::Exp;
  case Builtin::Log: return Op::Log;
  case Builtin::Log1p: return Op::Log1p;
  case Builtin::Sqrt: return Op::Sqrt;
  case Builtin::Tanh: return Op::Tanh;
  case Builtin::Sigmoid: return Op::Sigmoid;
  case Builtin::Relu: return Op::Relu;
  case Builtin::Abs: return Op::Abs;
  case Builtin::Floor: return Op::Floor;
  case Builtin::Ceil: return Op::Ceil;
  case Builtin::Round: return Op::Round;
  case Builtin::Sign: return Op::Sign;
  case Builtin::Pow: return Op::Pow;
  case Builtin::Min: return Op::Min;
  case Builtin::Max: return Op::Max;
  default:
    DLC_UNREACHABLE("not a math builtin");
  }
}
} // namespace

ValueId FunctionLowerer::lowerBuiltin(const CallExpr *c) {
  auto b = Builtin(c->builtin);
  std::vector<ValueId> args;
  auto lowerArgs = [&]() {
    for (const Argument &a : c->args)
      args.push_back(lowerExpr(a.value));
  };
  if (b == Builtin::Sqrt && c->type->kind == TypeKind::Struct) {
    lowerArgs();
    return tangentFieldwise(Op::Sqrt, args[0], ValueId{}, c->type);
  }
  if (isTensorCall(c))
    return lowerTensorCall(c);
  if (sema::isMath1(b) || sema::isMath2(b)) {
    lowerArgs();
    return emit(mathOp(b), c->type, args, c->loc);
  }
  switch (b) {
  case Builtin::Jvp:
  case Builtin::Vjp:
  case Builtin::Grad:
  case Builtin::ValueAndGrad: {
    // Kinds in the order of ad::DerivKind; ad::differentiate replaces the
    // instruction with a closure over a generated derivative function.
    int64_t kind = b == Builtin::Jvp ? 0 : b == Builtin::Vjp ? 1 : b == Builtin::Grad ? 2 : 3;
    lowerArgs();
    return emit(Op::Derivative, c->type, args, c->loc, kind);
  }
  case Builtin::StopGradient:
    lowerArgs();
    return emit(Op::StopGradient, c->type, args, c->loc);
  case Builtin::Print:
    lowerArgs();
    emit(Op::Print, nullptr, args, c->loc);
    return unitValue();
  case Builtin::Assert: {
    lowerArgs();
    if (args.size() == 1) {
      args.push_back(emit(Op::ConstString, types().stringType(), {}, c->loc));
    }
    emit(Op::Assert, nullptr, args, c->loc);
    return unitValue();
  }
  case Builtin::Exit:
    lowerArgs();
    emit(Op::Exit, nullptr, args, c->loc);
    unreachable();
    startDeadBlock();
    return unitValue();
  case Builtin::Args:
    return emit(Op::Args, c->type, {}, c->loc);
  case Builtin::Clock:
    return emit(Op::Clock, c->type, {}, c->loc);
  case Builtin::Environment:
    lowerArgs();
    return emit(Op::Environment, c->type, args, c->loc);
  case Builtin::ToInt:
  case Builtin::ToFloat:
  case Builtin::ToDouble: {
    lowerArgs();
    if (f.typeOf(args[0]) == c->type)
      return args[0];
    return emit(Op::Convert, c->type, args, c->loc);
  }
  case Builtin::ArrayRepeating:
    lowerArgs();
    return emit(Op::ArrayRepeat, c->type, args, c->loc);
  case Builtin::ZerosLike:
    lowerArgs();
    return tangentZero(c->type, args[0]);
  case Builtin::AsTangent:
    lowerArgs();
    return tangentProject(c->type, args[0]);
  case Builtin::Dot:
    lowerArgs();
    return tangentDot(args[0], args[1], c->type);
  case Builtin::Move: {
    LValue lv = lvalueOf(c->receiver);
    ValueId self = readLValue(lv);
    ValueId t = lowerExpr(c->args.front().value);
    writeLValue(lv, moveBy(self, t));
    return unitValue();
  }
  case Builtin::ArrayAppend: {
    LValue lv = lvalueOf(c->receiver);
    ValueId array = readLValue(lv);
    ValueId element = lowerExpr(c->args.front().value);
    writeLValue(lv, emit(Op::ArrayAppend, f.typeOf(array), {array, element}, c->loc));
    return unitValue();
  }
  case Builtin::ArrayCount: {
    lowerArgs();
    return emit(Op::ArrayCount, c->type, args, c->loc);
  }
  default:
    DLC_UNREACHABLE("builtin sema rejects");
  }
}

ValueId FunctionLowerer::lowerLambdaValue(const LambdaExpr *lambda) {
  // Lift the body into its own function taking (captures..., params...).
  std::vector<const Type *> params;
  std::vector<ValueId> captured;
  for (const Decl *cap : lambda->captures) {
    ValueId v = env.get(cap);
    DLC_ASSERT(v.isValid(), "captured variable has no value");
    captured.push_back(v);
    params.push_back(f.typeOf(v));
  }
  for (const ParamDecl *p : lambda->params)
    params.push_back(p->type);
  Function fn;
  fn.name = f.name + ".lambda" + std::to_string(m.lambdaCounter++);
  fn.type = types().functionType(params, lambda->resultType);
  fn.loc = lambda->loc;
  FuncId id = m.module.addFunction(Function{});
  FunctionLowerer(m, fn).lowerLambda(lambda);
  simplifyBlockArgs(fn);
  m.module.function(id) = std::move(fn);
  ValueId v = emit(Op::MakeClosure, lambda->type, captured, lambda->loc);
  lastInstr().callee = id;
  return v;
}

ValueId FunctionLowerer::lowerFunctionValue(const FuncDecl *fd) {
  ValueId v = emit(Op::MakeClosure, fd->type, {});
  lastInstr().callee = m.functionIds.at(fd);
  return v;
}

} // namespace dlc::ir::lowering
