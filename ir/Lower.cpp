// Lowering: typed AST -> DIR for functions, statements and places (lvalue
// paths). Expressions and calls are in LowerExpr.cpp. See Note [Inout
// lowering] in IR.h for how inout parameters travel.
#include "ir/LowerImpl.h"

namespace dlc::ir::lowering {

// --- Signatures and the module ---------------------------------------------------

const sema::FunctionType *ModuleLowerer::signature(const FuncDecl *f) {
  std::vector<const Type *> params;
  std::vector<const Type *> inoutTypes;
  bool isInit = f->funcKind == FuncDecl::Kind::Init;
  if (f->selfParam && !isInit) {
    params.push_back(f->selfParam->type);
    if (f->selfParam->isInout)
      inoutTypes.push_back(f->selfParam->type);
  }
  for (ParamDecl *p : f->params) {
    params.push_back(p->type);
    if (p->isInout)
      inoutTypes.push_back(p->type);
  }
  const Type *result = f->resultType;
  if (!inoutTypes.empty()) {
    std::vector<const Type *> parts{result};
    parts.insert(parts.end(), inoutTypes.begin(), inoutTypes.end());
    result = types().tupleType(parts);
  }
  return types().functionType(params, result);
}

void ModuleLowerer::declareAll() {
  std::map<std::string, unsigned> nameCount;
  for (const FuncDecl *fd : program.functions) {
    std::string base = fd->name;
    if (fd->parent)
      base = fd->parent->name + "." +
             (fd->funcKind == FuncDecl::Kind::Init ? std::string("init") : fd->name);
    unsigned n = nameCount[base]++;
    Function fn;
    fn.name = n ? base + "." + std::to_string(n) : base;
    fn.type = signature(fd);
    fn.loc = fd->loc;
    fn.isEntry = fd == program.main;
    if (fd->funcKind == FuncDecl::Kind::Extern) {
      fn.isExtern = true;
      fn.externSymbol = fd->name;
    }
    functionIds[fd] = module.addFunction(std::move(fn));
  }
  // Derivative registrations: a method's parameter list starts with its receiver.
  for (const FuncDecl *fd : program.functions) {
    Function &fn = module.function(functionIds.at(fd));
    unsigned receiver = fd->parent && !fd->isStatic && fd->funcKind == FuncDecl::Kind::Method;
    if (auto it = program.customVJP.find(fd); it != program.customVJP.end())
      fn.customVJP = functionIds.at(it->second);
    if (auto it = program.customJVP.find(fd); it != program.customJVP.end())
      fn.customJVP = functionIds.at(it->second);
    if (auto it = program.noDerivativeParams.find(fd); it != program.noDerivativeParams.end()) {
      fn.noDerivative.assign(receiver, false);
      fn.noDerivative.insert(fn.noDerivative.end(), it->second.begin(), it->second.end());
    }
    if (auto it = program.contracts.find(fd); it != program.contracts.end()) {
      fn.hasContract = true;
      fn.contractLoc = it->second.loc;
      fn.contractWrt.assign(receiver, false);
      fn.contractWrt.insert(fn.contractWrt.end(), it->second.wrt.begin(), it->second.wrt.end());
    }
  }
  for (const sema::CheckedProgram::TensorRule &rule : program.tensorRules) {
    FuncId id = functionIds.at(rule.fn);
    module.function(id).isRule = true;
    module.function(id).ruleTakesResult = rule.takesResult;
    for (int64_t op = 0; op < kTensorOpCount; ++op)
      if (rule.op == tensorOpName(TensorOp(op)))
        module.tensorRules[{TensorOp(op), rule.element, rule.isVJP}] = id;
  }
}

void ModuleLowerer::run() {
  declareAll();
  for (const FuncDecl *fd : program.functions) {
    if (fd->funcKind == FuncDecl::Kind::Extern || !fd->body)
      continue;
    FuncId id = functionIds[fd];
    Function fn = module.function(id); // the declaration: name, type, attributes
    FunctionLowerer(*this, fn).lowerFunction(fd);
    simplifyBlockArgs(fn);
    module.function(id) = std::move(fn);
  }
}

// --- Functions -------------------------------------------------------------------

void FunctionLowerer::lowerFunction(const FuncDecl *decl) {
  cur = f.addBlock("entry");
  isInit = decl->funcKind == FuncDecl::Kind::Init;
  declaredResult = decl->resultType;
  auto addParam = [&](const ParamDecl *p) {
    ValueId v = f.addValue(p->type, p->name);
    f.block(cur).args.push_back(v);
    env.set(p, v);
    if (p->isInout)
      inouts.push_back(p);
  };
  if (decl->selfParam) {
    self = decl->selfParam;
    if (isInit) {
      // `self` starts with every field unset; DefiniteInit guarantees each
      // is assigned before use.
      auto *st = sema::asStruct(decl->parent->type);
      std::vector<ValueId> fields;
      for (auto &field : st->fields)
        fields.push_back(emit(Op::Undef, field.type, {}));
      // Parameters must be entry arguments before any instruction uses them;
      // block args and instrs are separate lists, so order is not an issue.
      env.set(self, emit(Op::StructMake, st, fields, decl->loc));
    } else {
      addParam(decl->selfParam);
    }
  }
  for (const ParamDecl *p : decl->params)
    addParam(p);
  lowerBlock(decl->body);
  if (!terminated()) {
    if (isInit)
      ret(packResult(env.get(self)));
    else if (declaredResult->isUnit())
      ret(packResult(unitValue()));
    else
      unreachable(); // sema proved every path returns
  }
  // Close any block left open (dead code after return).
  for (Block &b : f.blocks)
    if (b.instrs.empty() || !isTerminator(b.instrs.back().op)) {
      Instr in;
      in.op = Op::Unreachable;
      b.instrs.push_back(std::move(in));
    }
}

void FunctionLowerer::lowerLambda(const LambdaExpr *lambda) {
  cur = f.addBlock("entry");
  declaredResult = lambda->resultType;
  for (const Decl *cap : lambda->captures) {
    const Type *t = nullptr;
    if (auto *v = dynCast<VarDecl>(cap))
      t = v->type;
    else
      t = cast<ParamDecl>(cap)->type;
    ValueId v = f.addValue(t, cap->name);
    f.block(cur).args.push_back(v);
    env.set(cap, v);
    if (auto *p = dynCast<ParamDecl>(cap); p && p->isSelf)
      self = p;
  }
  for (const ParamDecl *p : lambda->params) {
    ValueId v = f.addValue(p->type, p->name);
    f.block(cur).args.push_back(v);
    env.set(p, v);
  }
  lowerBlock(lambda->body);
  if (!terminated()) {
    if (declaredResult->isUnit())
      ret(unitValue());
    else
      unreachable();
  }
  for (Block &b : f.blocks)
    if (b.instrs.empty() || !isTerminator(b.instrs.back().op)) {
      Instr in;
      in.op = Op::Unreachable;
      b.instrs.push_back(std::move(in));
    }
}

ValueId FunctionLowerer::packResult(ValueId result) {
  if (inouts.empty())
    return result;
  std::vector<ValueId> parts{result};
  std::vector<const Type *> partTypes{f.typeOf(result)};
  for (const Decl *d : inouts) {
    parts.push_back(env.get(d));
    partTypes.push_back(f.typeOf(env.get(d)));
  }
  return emit(Op::Tuple, types().tupleType(partTypes), parts);
}

// --- Statements ----------------------------------------------------------------------

void FunctionLowerer::lowerBlock(const BlockStmt *block) {
  size_t depth = env.vars.size();
  for (const Stmt *s : block->stmts)
    lowerStmt(s);
  // Variables declared in the block go out of scope.
  env.vars.resize(std::min(depth, env.vars.size()));
}

void FunctionLowerer::lowerStmt(const Stmt *stmt) {
  switch (stmt->kind) {
  case NodeKind::BlockStmt:
    lowerBlock(cast<BlockStmt>(stmt));
    return;
  case NodeKind::LetStmt:
    lowerLet(cast<LetStmt>(stmt));
    return;
  case NodeKind::ExprStmt:
    lowerExpr(cast<ExprStmt>(stmt)->expr);
    return;
  case NodeKind::AssignStmt:
    lowerAssign(cast<AssignStmt>(stmt));
    return;
  case NodeKind::IfStmt:
    lowerIf(cast<IfStmt>(stmt));
    return;
  case NodeKind::WhileStmt:
    lowerWhile(cast<WhileStmt>(stmt));
    return;
  case NodeKind::ForInStmt:
    lowerFor(cast<ForInStmt>(stmt));
    return;
  case NodeKind::ReturnStmt:
    lowerReturn(cast<ReturnStmt>(stmt));
    return;
  case NodeKind::BreakStmt: {
    DLC_ASSERT(!loops.empty(), "break outside a loop survived sema");
    const LoopTargets &loop = loops.back();
    branch(loop.breakBlock, valuesOf(loop.carried));
    startDeadBlock();
    return;
  }
  case NodeKind::ContinueStmt: {
    DLC_ASSERT(!loops.empty(), "continue outside a loop survived sema");
    const LoopTargets &loop = loops.back();
    branch(loop.continueBlock, valuesOf(loop.carried));
    startDeadBlock();
    return;
  }
  default:
    DLC_UNREACHABLE("not a statement");
  }
}

void FunctionLowerer::lowerLet(const LetStmt *let) {
  if (!let->init) {
    // `var x: T` without a value: DefiniteInit guarantees a write before
    // any read; start from a placeholder.
    if (auto *ip = dynCast<IdentPattern>(let->pattern))
      env.set(ip->var, emit(Op::Undef, ip->var->type, {}));
    return;
  }
  bindPattern(let->pattern, lowerExpr(let->init));
}

void FunctionLowerer::bindPattern(const Pattern *p, ValueId v) {
  switch (p->kind) {
  case NodeKind::IdentPattern: {
    const VarDecl *var = cast<IdentPattern>(p)->var;
    if (f.values[v.index].name.empty())
      f.values[v.index].name = var->name;
    env.set(var, v);
    return;
  }
  case NodeKind::WildcardPattern:
    return;
  case NodeKind::TuplePattern: {
    auto *tp = cast<TuplePattern>(p);
    auto *tt = sema::asTuple(f.typeOf(v));
    for (size_t i = 0; i < tp->elements.size(); ++i)
      bindPattern(tp->elements[i], emit(Op::TupleGet, tt->elements[i], {v}, p->loc, int64_t(i)));
    return;
  }
  default:
    DLC_UNREACHABLE("not a pattern");
  }
}

void FunctionLowerer::lowerAssign(const AssignStmt *a) {
  LValue lv = lvalueOf(a->target);
  ValueId value;
  if (a->op == '=') {
    value = lowerExpr(a->value);
  } else {
    ValueId old = readLValue(lv);
    ValueId rhs = lowerExpr(a->value);
    const Type *t = f.typeOf(old);
    if (t->kind == TypeKind::Tensor) {
      TensorOp op = a->op == '+'   ? TensorOp::Add
                    : a->op == '-' ? TensorOp::Sub
                    : a->op == '*' ? TensorOp::Mul
                                   : TensorOp::Div;
      writeLValue(lv, tensorOp(op, t, {old, toTensor(rhs, t, a->opLoc)}, a->opLoc));
      return;
    }
    Op op = a->op == '+' ? (t->kind == TypeKind::String ? Op::Concat : Op::Add)
            : a->op == '-' ? Op::Sub
            : a->op == '*' ? Op::Mul
                           : Op::Div;
    value = emit(op, t, {old, rhs}, a->opLoc);
  }
  writeLValue(lv, value);
}

void FunctionLowerer::lowerIf(const IfStmt *s) {
  ValueId cond = lowerExpr(s->cond);
  std::vector<const Decl *> carried = mutables();
  Env outer = env;
  BlockId thenB = f.addBlock("then"), elseB = f.addBlock("else"), merge = f.addBlock("merge");
  condBranch(cond, thenB, {}, elseB, {});
  cur = thenB;
  lowerBlock(s->thenBlock);
  if (!terminated())
    branch(merge, valuesOf(carried));
  env = outer;
  cur = elseB;
  if (s->elseStmt)
    lowerStmt(s->elseStmt);
  if (!terminated())
    branch(merge, valuesOf(carried));
  env = outer;
  cur = merge;
  bindBlockArgs(merge, carried);
}

void FunctionLowerer::lowerWhile(const WhileStmt *s) {
  std::vector<const Decl *> carried = mutables();
  Env outer = env;
  BlockId header = f.addBlock("while"), body = f.addBlock("body"), exit = f.addBlock("endwhile");
  branch(header, valuesOf(carried));
  cur = header;
  bindBlockArgs(header, carried);
  ValueId cond = lowerExpr(s->cond);
  condBranch(cond, body, {}, exit, valuesOf(carried));
  cur = body;
  loops.push_back({header, exit, carried});
  lowerBlock(s->body);
  loops.pop_back();
  if (!terminated())
    branch(header, valuesOf(carried));
  env = outer;
  cur = exit;
  bindBlockArgs(exit, carried);
}

void FunctionLowerer::lowerFor(const ForInStmt *s) {
  std::vector<const Decl *> carried = mutables();
  Env outer = env;
  auto *range = dynCast<BinaryExpr>(s->sequence);
  bool isRange =
      range && (range->op == BinaryOp::HalfOpenRange || range->op == BinaryOp::ClosedRange);
  ValueId lo, hi, array;
  if (isRange) {
    lo = lowerExpr(range->lhs);
    hi = lowerExpr(range->rhs);
  } else if (s->elementMethod) {
    array = lowerExpr(s->sequence); // a struct with `count` and `at(_:)`
    lo = constInt(0);
    hi = emit(Op::StructGet, types().intType(), {array}, {}, int64_t(s->countField));
  } else {
    array = lowerExpr(s->sequence);
    lo = constInt(0);
    hi = emit(Op::ArrayCount, types().intType(), {array});
  }
  BlockId header = f.addBlock("for"), body = f.addBlock("body"), latch = f.addBlock("next"),
          exit = f.addBlock("endfor");
  std::vector<ValueId> entryArgs{lo};
  for (ValueId v : valuesOf(carried))
    entryArgs.push_back(v);
  branch(header, entryArgs);
  cur = header;
  ValueId counter = f.addValue(types().intType(), isRange ? "" : "index");
  f.block(header).args.push_back(counter);
  bindBlockArgs(header, carried);
  Op cmp = isRange && range->op == BinaryOp::ClosedRange ? Op::CmpLe : Op::CmpLt;
  ValueId more = emit(cmp, types().boolType(), {counter, hi});
  condBranch(more, body, {}, exit, valuesOf(carried));
  Env atHeader = env;
  cur = body;
  ValueId element;
  if (isRange) {
    element = counter;
  } else if (s->elementMethod) {
    auto it = m.functionIds.find(s->elementMethod);
    DLC_ASSERT(it != m.functionIds.end(), "sequence element method was not declared");
    FuncId at = it->second;
    element = emit(Op::Call, m.module.function(at).type->result, {array, counter},
                   s->sequence->loc);
    lastInstr().callee = at;
  } else {
    element = emit(Op::ArrayGet, sema::asArray(f.typeOf(array))->element, {array, counter},
                   s->sequence->loc);
  }
  size_t depth = env.vars.size();
  bindPattern(s->pattern, element);
  loops.push_back({latch, exit, carried});
  lowerBlock(s->body);
  loops.pop_back();
  env.vars.resize(std::min(depth, env.vars.size()));
  if (!terminated())
    branch(latch, valuesOf(carried));
  cur = latch;
  env = atHeader;
  bindBlockArgs(latch, carried);
  ValueId next = emit(Op::Add, types().intType(), {counter, constInt(1)}, s->loc);
  std::vector<ValueId> backArgs{next};
  for (ValueId v : valuesOf(carried))
    backArgs.push_back(v);
  branch(header, backArgs);
  env = outer;
  cur = exit;
  bindBlockArgs(exit, carried);
}

void FunctionLowerer::lowerReturn(const ReturnStmt *s) {
  ValueId v;
  if (isInit)
    v = env.get(self);
  else if (s->value && !declaredResult->isUnit())
    v = lowerExpr(s->value);
  else {
    if (s->value)
      lowerExpr(s->value); // `return f()` in a function returning ()
    v = unitValue();
  }
  ret(packResult(v));
  startDeadBlock();
}

// --- Places --------------------------------------------------------------------------

LValue FunctionLowerer::lvalueOf(const Expr *e) {
  if (auto *p = dynCast<ParenExpr>(e))
    return lvalueOf(p->inner);
  if (auto *n = dynCast<NameExpr>(e)) {
    LValue lv;
    if (n->ref == NameExpr::Ref::Field) {
      lv.root = self;
      lv.steps.push_back({LValue::Step::Kind::Field, cast<VarDecl>(n->decl)->fieldIndex, {}, n->loc});
    } else {
      lv.root = n->decl;
    }
    return lv;
  }
  if (isa<SelfExpr>(e)) {
    LValue lv;
    lv.root = self;
    return lv;
  }
  if (auto *m = dynCast<MemberExpr>(e)) {
    LValue lv = lvalueOf(m->base);
    auto kind = m->memberKind == MemberExpr::Kind::Field ? LValue::Step::Kind::Field
                                                         : LValue::Step::Kind::Tuple;
    lv.steps.push_back({kind, m->index, {}, m->memberLoc});
    return lv;
  }
  if (auto *ix = dynCast<IndexExpr>(e)) {
    LValue lv = lvalueOf(ix->base);
    ValueId index = lowerExpr(ix->indices.front());
    lv.steps.push_back({LValue::Step::Kind::Index, 0, index, ix->loc});
    return lv;
  }
  DLC_UNREACHABLE("not an lvalue (sema should have reported it)");
}

ValueId FunctionLowerer::readLValue(const LValue &lv) {
  ValueId v = env.get(lv.root);
  DLC_ASSERT(v.isValid(), "lvalue root has no value");
  for (const LValue::Step &step : lv.steps) {
    const Type *t = f.typeOf(v);
    switch (step.kind) {
    case LValue::Step::Kind::Field:
      v = emit(Op::StructGet, sema::asStruct(t)->fields[step.index].type, {v}, step.loc,
               step.index);
      break;
    case LValue::Step::Kind::Tuple:
      v = emit(Op::TupleGet, sema::asTuple(t)->elements[step.index], {v}, step.loc, step.index);
      break;
    case LValue::Step::Kind::Index:
      v = emit(Op::ArrayGet, sema::asArray(t)->element, {v, step.indexValue}, step.loc);
      break;
    }
  }
  return v;
}

void FunctionLowerer::writeLValue(const LValue &lv, ValueId value) {
  // Read each enclosing aggregate, then rebuild from the innermost outwards.
  std::vector<ValueId> chain{env.get(lv.root)};
  for (size_t i = 0; i + 1 < lv.steps.size(); ++i) {
    const LValue::Step &step = lv.steps[i];
    ValueId base = chain.back();
    const Type *t = f.typeOf(base);
    switch (step.kind) {
    case LValue::Step::Kind::Field:
      chain.push_back(emit(Op::StructGet, sema::asStruct(t)->fields[step.index].type, {base},
                           step.loc, step.index));
      break;
    case LValue::Step::Kind::Tuple:
      chain.push_back(
          emit(Op::TupleGet, sema::asTuple(t)->elements[step.index], {base}, step.loc, step.index));
      break;
    case LValue::Step::Kind::Index:
      chain.push_back(
          emit(Op::ArrayGet, sema::asArray(t)->element, {base, step.indexValue}, step.loc));
      break;
    }
  }
  ValueId v = value;
  for (size_t i = lv.steps.size(); i-- > 0;) {
    const LValue::Step &step = lv.steps[i];
    ValueId base = chain[i];
    const Type *t = f.typeOf(base);
    switch (step.kind) {
    case LValue::Step::Kind::Field:
      v = emit(Op::StructSet, t, {base, v}, step.loc, step.index);
      break;
    case LValue::Step::Kind::Tuple:
      v = emit(Op::TupleSet, t, {base, v}, step.loc, step.index);
      break;
    case LValue::Step::Kind::Index:
      v = emit(Op::ArraySet, t, {base, step.indexValue, v}, step.loc);
      break;
    }
  }
  env.set(lv.root, v);
}

} // namespace dlc::ir::lowering

namespace dlc::ir {
void lower(const sema::CheckedProgram &program, Module &module) {
  lowering::ModuleLowerer(program, module).run();
}
} // namespace dlc::ir
