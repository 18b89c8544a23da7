// Unit tests for DIR's core (ir/IR.cpp), printer (ir/Printer.cpp) and
// verifier (ir/Verifier.cpp): small modules built by hand, their printed form,
// and one broken module per verifier rule.
#include "ir/IR.h"
#include "ir/Verifier.h"

#include <doctest/doctest.h>

using namespace dlc;
using namespace dlc::ir;

namespace {

/// Appends instructions to one block of a function under construction.
struct Builder {
  Function &fn;
  BlockId at;

  BlockId block(std::string name = {}) { return fn.addBlock(std::move(name)); }
  void setBlock(BlockId b) { at = b; }

  ValueId arg(BlockId b, const Type *t, std::string name = {}) {
    ValueId v = fn.addValue(t, std::move(name));
    fn.block(b).args.push_back(v);
    return v;
  }

  Instr &push(Op op, std::vector<ValueId> operands) {
    Instr in;
    in.op = op;
    in.operands = std::move(operands);
    fn.block(at).instrs.push_back(std::move(in));
    return fn.block(at).instrs.back();
  }

  ValueId emit(Op op, const Type *t, std::vector<ValueId> operands, std::string name = {}) {
    ValueId v = fn.addValue(t, std::move(name));
    push(op, std::move(operands)).result = v;
    return v;
  }

  ValueId emitImm(Op op, const Type *t, std::vector<ValueId> operands, int64_t imm) {
    ValueId v = fn.addValue(t);
    Instr &in = push(op, std::move(operands));
    in.result = v;
    in.imm = imm;
    return v;
  }

  ValueId call(Op op, const Type *t, FuncId callee, std::vector<ValueId> operands) {
    ValueId v = fn.addValue(t);
    Instr &in = push(op, std::move(operands));
    in.result = v;
    in.callee = callee;
    return v;
  }

  void effect(Op op, std::vector<ValueId> operands) { push(op, std::move(operands)); }

  void br(BlockId dest, std::vector<ValueId> args) {
    push(Op::Br, {}).targets = {Target{dest, std::move(args)}};
  }

  void condBr(ValueId cond, BlockId t, std::vector<ValueId> targs, BlockId f,
              std::vector<ValueId> fargs) {
    push(Op::CondBr, {cond}).targets = {Target{t, std::move(targs)}, Target{f, std::move(fargs)}};
  }

  void ret(ValueId v) { push(Op::Ret, {v}); }
};

struct Fixture {
  sema::TypeContext tc;
  Module m;
  const Type *I, *F, *D, *B, *S;

  Fixture() : I(tc.intType()), F(tc.floatType()), D(tc.doubleType()), B(tc.boolType()),
              S(tc.stringType()) {
    m.types = &tc;
  }

  const Type *unit() { return tc.unitType(); }

  Function newFunction(std::string name, std::vector<const Type *> params, const Type *result) {
    Function f;
    f.name = std::move(name);
    f.type = tc.functionType(params, result);
    return f;
  }

  ValueId constInt(Builder &b, int64_t v) { return b.emitImm(Op::ConstInt, I, {}, v); }

  ValueId constFloat(Builder &b, double v, const Type *t = nullptr) {
    ValueId r = b.emit(Op::ConstFloat, t ? t : F, {});
    b.fn.block(b.at).instrs.back().fimm = v;
    return r;
  }

  /// fn square(x: Float) -> Float { x * x }
  FuncId addSquare() {
    Function f = newFunction("square", {F}, F);
    Builder b{f, f.addBlock("entry")};
    ValueId x = b.arg(b.at, F, "x");
    b.ret(b.emit(Op::Mul, F, {x, x}));
    return m.addFunction(std::move(f));
  }

  /// fn countdown(n: Int) { var i = n; while i > 0 { print(i); i -= 1 } }
  FuncId addCountdown() {
    Function f = newFunction("countdown", {I}, unit());
    Builder b{f, f.addBlock("entry")};
    ValueId n = b.arg(b.at, I, "n");
    BlockId loop = b.block("loop"), body = b.block("body"), exit = b.block("exit");
    b.br(loop, {n});
    b.setBlock(loop);
    ValueId i = b.arg(loop, I, "i");
    ValueId zero = constInt(b, 0);
    ValueId c = b.emit(Op::CmpGt, B, {i, zero});
    b.condBr(c, body, {}, exit, {});
    b.setBlock(body);
    b.effect(Op::Print, {i});
    ValueId one = constInt(b, 1);
    ValueId next = b.emit(Op::Sub, I, {i, one}, "i");
    b.br(loop, {next});
    b.setBlock(exit);
    b.ret(b.emit(Op::Tuple, unit(), {}));
    return m.addFunction(std::move(f));
  }

  /// fn abs(x: Int) -> Int { if x < 0 { -x } else { x } }, with a merge block.
  FuncId addAbs() {
    Function f = newFunction("abs", {I}, I);
    Builder b{f, f.addBlock("entry")};
    ValueId x = b.arg(b.at, I, "x");
    BlockId neg = b.block("then"), pos = b.block("else"), merge = b.block("merge");
    ValueId c = b.emit(Op::CmpLt, B, {x, constInt(b, 0)});
    b.condBr(c, neg, {}, pos, {});
    b.setBlock(neg);
    b.br(merge, {b.emit(Op::Neg, I, {x}, "y")});
    b.setBlock(pos);
    b.br(merge, {x});
    b.setBlock(merge);
    b.ret(b.arg(merge, I, "r"));
    return m.addFunction(std::move(f));
  }

  std::vector<std::string> errors() { return verify(m); }
};

bool mentions(const std::vector<std::string> &errors, const std::string &text) {
  for (const std::string &e : errors)
    if (e.find(text) != std::string::npos)
      return true;
  return false;
}

std::string joined(const std::vector<std::string> &errors) {
  std::string s;
  for (const std::string &e : errors)
    s += e + "\n";
  return s;
}

#define CHECK_VALID(fixture)                                                                       \
  do {                                                                                             \
    auto errs_ = (fixture).errors();                                                               \
    CHECK_MESSAGE(errs_.empty(), joined(errs_));                                                   \
  } while (0)

#define CHECK_REJECTS(fixture, text)                                                               \
  do {                                                                                             \
    auto errs_ = (fixture).errors();                                                               \
    CHECK_MESSAGE(mentions(errs_, text),                                                           \
                  "expected an error mentioning '" << (text) << "', got:\n" << joined(errs_));   \
  } while (0)

} // namespace

TEST_SUITE("ir") {

TEST_CASE("op table") {
  CHECK(std::string(mnemonic(Op::Add)) == "add");
  CHECK(std::string(mnemonic(Op::CondBr)) == "cond_br");
  CHECK(std::string(mnemonic(Op::CallClosure)) == "call.closure");
  CHECK(isTerminator(Op::Ret));
  CHECK(isTerminator(Op::Unreachable));
  CHECK_FALSE(isTerminator(Op::Exit));
  CHECK(hasNoResult(Op::Print));
  CHECK(hasNoResult(Op::Assert));
  CHECK(hasNoResult(Op::Exit));
  CHECK(hasNoResult(Op::Br));
  CHECK_FALSE(hasNoResult(Op::Call));
  CHECK_FALSE(hasNoResult(Op::Tuple));
}

TEST_CASE("module lookup and builders") {
  Fixture fx;
  FuncId sq = fx.addSquare();
  FuncId cd = fx.addCountdown();
  CHECK(fx.m.lookup("square") == sq);
  CHECK(fx.m.lookup("countdown") == cd);
  CHECK_FALSE(fx.m.lookup("missing").isValid());
  CHECK(fx.m.function(sq).values.size() == 2);
  CHECK(fx.m.function(cd).blocks.size() == 4);
}

TEST_CASE("straight-line function: verifies and prints exactly") {
  Fixture fx;
  fx.addSquare();
  CHECK_VALID(fx);
  CHECK(print(fx.m) == "fn square(%x: Float) -> Float {\n"
                       "entry(%x: Float):\n"
                       "  %1: Float = mul %x, %x\n"
                       "  ret %1\n"
                       "}\n");
}

TEST_CASE("loop with block arguments: verifies and prints exactly") {
  Fixture fx;
  fx.addCountdown();
  CHECK_VALID(fx);
  CHECK(print(fx.m) == "fn countdown(%n: Int) -> () {\n"
                       "entry(%n: Int):\n"
                       "  br loop(%n)\n"
                       "loop(%i: Int):\n"
                       "  %2: Int = const.int 0\n"
                       "  %3: Bool = cmp.gt %i, %2\n"
                       "  cond_br %3, body(), exit()\n"
                       "body:\n"
                       "  print %i\n"
                       "  %4: Int = const.int 1\n"
                       "  %i.1: Int = sub %i, %4\n"
                       "  br loop(%i.1)\n"
                       "exit:\n"
                       "  %6: () = tuple\n"
                       "  ret %6\n"
                       "}\n");
}

TEST_CASE("diamond with a merge block") {
  Fixture fx;
  fx.addAbs();
  CHECK_VALID(fx);
  std::string text = print(fx.m);
  CHECK(text.find("cond_br %2, then(), else()") != std::string::npos);
  CHECK(text.find("%y: Int = neg %x\n  br merge(%y)") != std::string::npos);
  CHECK(text.find("merge(%r: Int):\n  ret %r") != std::string::npos);
}

TEST_CASE("printer: unnamed and duplicate blocks, module order, entry mark") {
  Fixture fx;
  fx.addSquare();
  Function f = fx.newFunction("main", {}, fx.I);
  f.isEntry = true;
  Builder b{f, f.addBlock()};
  BlockId l1 = b.block("next"), l2 = b.block("next");
  b.br(l1, {});
  b.setBlock(l1);
  b.br(l2, {});
  b.setBlock(l2);
  b.ret(fx.constInt(b, 42));
  fx.m.addFunction(std::move(f));
  CHECK_VALID(fx);
  std::string text = print(fx.m);
  CHECK(text.find("}\n\nfn main() -> Int [entry] {\nbb0:\n  br next()\nnext:\n  br next.1()\n"
                  "next.1:\n  %0: Int = const.int 42\n") != std::string::npos);
  CHECK(text.rfind("fn square", 0) == 0);
  CHECK(print(fx.m, fx.m.functions[1]).rfind("fn main()", 0) == 0);
}

TEST_CASE("calls between functions and an extern function") {
  Fixture fx;
  FuncId sq = fx.addSquare();
  Function ext = fx.newFunction("sqrt", {fx.F}, fx.F);
  ext.isExtern = true;
  ext.externSymbol = "sqrtf";
  FuncId sqrtId = fx.m.addFunction(std::move(ext));

  Function f = fx.newFunction("hypot", {fx.F, fx.F}, fx.F);
  Builder b{f, f.addBlock("entry")};
  ValueId a = b.arg(b.at, fx.F, "a"), c = b.arg(b.at, fx.F, "b");
  ValueId a2 = b.call(Op::Call, fx.F, sq, {a});
  ValueId b2 = b.call(Op::Call, fx.F, sq, {c});
  ValueId sum = b.emit(Op::Add, fx.F, {a2, b2});
  b.ret(b.call(Op::Call, fx.F, sqrtId, {sum}));
  fx.m.addFunction(std::move(f));

  CHECK_VALID(fx);
  std::string text = print(fx.m);
  CHECK(text.find("extern fn sqrt(Float) -> Float = \"sqrtf\"\n") != std::string::npos);
  CHECK(text.find("fn hypot(%a: Float, %b: Float) -> Float {") != std::string::npos);
  CHECK(text.find("%2: Float = call @square(%a)") != std::string::npos);
  CHECK(text.find("%3: Float = call @square(%b)") != std::string::npos);
  CHECK(text.find("call @sqrt(%4)") != std::string::npos);
}

TEST_CASE("tuples, structs, arrays, strings and runtime services") {
  Fixture fx;
  sema::StructType *point = fx.tc.createStruct("Point", nullptr);
  point->fields = {{"x", fx.F}, {"y", fx.F}};
  point->complete = true;
  const Type *pair = fx.tc.tupleType({fx.I, fx.F});
  const Type *floats = fx.tc.arrayType(fx.F);

  Function f = fx.newFunction("main", {}, fx.unit());
  f.isEntry = true;
  Builder b{f, f.addBlock("entry")};
  ValueId one = fx.constFloat(b, 1.0), half = fx.constFloat(b, 0.5);
  ValueId dbl = fx.constFloat(b, 0.1, fx.D);
  ValueId p = b.emit(Op::StructMake, point, {one, half}, "p");
  ValueId py = b.emitImm(Op::StructGet, fx.F, {p}, 1);
  ValueId p2 = b.emitImm(Op::StructSet, point, {p, half}, 0);
  ValueId three = fx.constInt(b, 3);
  ValueId t = b.emit(Op::Tuple, pair, {three, py}, "t");
  ValueId t0 = b.emitImm(Op::TupleGet, fx.I, {t}, 0);
  ValueId t2 = b.emitImm(Op::TupleSet, pair, {t, half}, 1);
  ValueId arr = b.emit(Op::ArrayMake, floats, {one, py}, "xs");
  ValueId arr2 = b.emit(Op::ArrayAppend, floats, {arr, half});
  ValueId elem = b.emit(Op::ArrayGet, fx.F, {arr2, t0});
  ValueId arr3 = b.emit(Op::ArraySet, floats, {arr2, t0, elem});
  ValueId count = b.emit(Op::ArrayCount, fx.I, {arr3});
  ValueId rep = b.emit(Op::ArrayRepeat, floats, {half, count});
  ValueId asF = b.emit(Op::Convert, fx.F, {count});
  ValueId asD = b.emit(Op::Convert, fx.D, {asF});
  ValueId sum = b.emit(Op::Add, fx.D, {asD, dbl});
  ValueId root = b.emit(Op::Sqrt, fx.D, {sum});
  ValueId big = b.emit(Op::Max, fx.I, {three, count});
  ValueId msg = b.emit(Op::ConstString, fx.S, {});
  b.fn.block(b.at).instrs.back().str = "hi\n\"there\"";
  ValueId ok = b.emitImm(Op::ConstBool, fx.B, {}, 1);
  b.effect(Op::Assert, {ok, msg});
  b.emit(Op::Args, fx.tc.arrayType(fx.S), {});
  b.emit(Op::Clock, fx.D, {});
  b.effect(Op::Print, {p2, t2, rep, root, big, msg});
  b.ret(b.emit(Op::Tuple, fx.unit(), {}));
  fx.m.addFunction(std::move(f));

  CHECK_VALID(fx);
  std::string text = print(fx.m);
  CHECK(text.find("fn main() -> () [entry] {") != std::string::npos);
  CHECK(text.find("%0: Float = const.float 1.0\n") != std::string::npos);
  CHECK(text.find("%1: Float = const.float 0.5\n") != std::string::npos);
  CHECK(text.find("%2: Double = const.float 0.1\n") != std::string::npos);
  CHECK(text.find("%p: Point = struct %0, %1\n") != std::string::npos);
  CHECK(text.find("%4: Float = struct.get %p, 1 /* y */\n") != std::string::npos);
  CHECK(text.find("%5: Point = struct.set %p, 0 /* x */, %1\n") != std::string::npos);
  CHECK(text.find("%t: (Int, Float) = tuple %6, %4\n") != std::string::npos);
  CHECK(text.find("%8: Int = tuple.get %t, 0\n") != std::string::npos);
  CHECK(text.find("tuple.set %t, 1, %1\n") != std::string::npos);
  CHECK(text.find("%xs: [Float] = array %0, %4\n") != std::string::npos);
  CHECK(text.find("const.string \"hi\\n\\\"there\\\"\"\n") != std::string::npos);
  CHECK(text.find("const.bool true\n") != std::string::npos);
  CHECK(text.find(": [String] = args\n") != std::string::npos);
}

TEST_CASE("closures") {
  Fixture fx;
  Function lam = fx.newFunction("main.lambda0", {fx.F, fx.F}, fx.F);
  {
    Builder b{lam, lam.addBlock("entry")};
    ValueId w = b.arg(b.at, fx.F, "w"), x = b.arg(b.at, fx.F, "x");
    b.ret(b.emit(Op::Mul, fx.F, {w, x}));
  }
  FuncId lamId = fx.m.addFunction(std::move(lam));
  Function f = fx.newFunction("main", {}, fx.F);
  Builder b{f, f.addBlock("entry")};
  ValueId w = fx.constFloat(b, 2.0);
  f.values[w.index].name = "w";
  const Type *closureTy = fx.tc.functionType({fx.F}, fx.F);
  ValueId clo = b.call(Op::MakeClosure, closureTy, lamId, {w});
  f.values[clo.index].name = "scale";
  b.ret(b.emit(Op::CallClosure, fx.F, {clo, w}));
  fx.m.addFunction(std::move(f));

  CHECK_VALID(fx);
  std::string text = print(fx.m);
  CHECK(text.find("%scale: (Float) -> Float = closure @main.lambda0(%w)\n") != std::string::npos);
  CHECK(text.find("%2: Float = call.closure %scale(%w)\n") != std::string::npos);

  SUBCASE("wrong closure result type") {
    fx.m.functions[1].values[clo.index].type = fx.tc.functionType({fx.F, fx.F}, fx.F);
    CHECK_REJECTS(fx, "expected (Float) -> Float");
  }
  SUBCASE("wrong captured type") {
    fx.m.functions[1].values[w.index].type = fx.I;
    fx.m.functions[1].blocks[0].instrs[0].op = Op::ConstInt;
    CHECK_REJECTS(fx, "argument 0 of '@main.lambda0' has type Int, expected Float");
  }
}

TEST_CASE("unreachable blocks are not dominance-checked") {
  Fixture fx;
  Function f = fx.newFunction("f", {fx.I}, fx.I);
  Builder b{f, f.addBlock("entry")};
  ValueId x = b.arg(b.at, fx.I, "x");
  BlockId dead = b.block("dead");
  b.ret(x);
  // dead: %a = neg %b; %b = const.int 1; ret %a -- a use before its definition,
  // but no path from the entry reaches it.
  b.setBlock(dead);
  ValueId a = f.addValue(fx.I, "a"), later = f.addValue(fx.I, "b");
  b.push(Op::Neg, {later}).result = a;
  b.push(Op::ConstInt, {}).result = later;
  b.ret(a);
  fx.m.addFunction(std::move(f));
  CHECK_VALID(fx);
}

TEST_CASE("printer tolerates malformed modules") {
  Fixture fx;
  fx.addSquare();
  Function &f = fx.m.functions[0];
  f.blocks[0].instrs[0].operands[1] = ValueId{99};
  f.blocks[0].instrs.back().targets = {Target{BlockId{7}, {}}};
  Function g = fx.newFunction("g", {fx.F}, fx.F);
  Builder b{g, g.addBlock()};
  b.call(Op::Call, fx.F, FuncId{42}, {});
  fx.m.addFunction(std::move(g));
  std::string text = print(fx.m);
  CHECK(text.find("mul %x, %?99") != std::string::npos);
  CHECK(text.find("ret %1 [targets: ?bb7()]") != std::string::npos);
  CHECK(text.find("call @?42()") != std::string::npos);
  CHECK_FALSE(verify(fx.m).empty());
}

// --- The verifier rejects broken modules ------------------------------------------

TEST_CASE("verifier: missing terminator and empty block") {
  Fixture fx;
  fx.addSquare();
  SUBCASE("missing terminator") {
    fx.m.functions[0].blocks[0].instrs.pop_back();
    CHECK_REJECTS(fx, "does not end with a terminator");
    CHECK_REJECTS(fx, "function 'square', block 'entry' (#0), instruction 0 'mul'");
  }
  SUBCASE("terminator in the middle") {
    auto &instrs = fx.m.functions[0].blocks[0].instrs;
    instrs.push_back(instrs.back());
    CHECK_REJECTS(fx, "terminator in the middle of the block");
  }
  SUBCASE("empty block") {
    fx.m.functions[0].blocks[0].instrs.clear();
    CHECK_REJECTS(fx, "block is empty");
  }
  SUBCASE("function without blocks") {
    fx.m.functions[0].blocks.clear();
    CHECK_REJECTS(fx, "function 'square' has no blocks");
  }
}

TEST_CASE("verifier: SSA definitions and dominance") {
  Fixture fx;
  SUBCASE("use before def in one block") {
    fx.addSquare();
    auto &instrs = fx.m.functions[0].blocks[0].instrs;
    Instr neg;
    neg.op = Op::Neg;
    neg.result = fx.m.functions[0].addValue(fx.F);
    neg.operands = {instrs[0].result};
    instrs.insert(instrs.begin(), neg);
    CHECK_REJECTS(fx, "operand 0 uses %1 before its definition (instruction 1)");
  }
  SUBCASE("definition does not dominate the use") {
    fx.addAbs();
    Function &f = fx.m.functions[0];
    // merge: ret %y instead of ret %r; %y is defined only on the `then` path.
    ValueId y = f.blocks[1].instrs[0].result;
    f.blocks[3].instrs.back().operands = {y};
    CHECK_REJECTS(fx, "uses %3 ('y'), whose definition in block 'then' (#1) does not dominate");
  }
  SUBCASE("value defined twice") {
    fx.addSquare();
    Function &f = fx.m.functions[0];
    f.blocks[0].instrs[0].result = f.blocks[0].args[0];
    CHECK_REJECTS(fx, "redefines %0 ('x')");
  }
  SUBCASE("invalid operand index") {
    fx.addSquare();
    fx.m.functions[0].blocks[0].instrs[0].operands[1] = ValueId{77};
    CHECK_REJECTS(fx, "operand 1 is not a valid value (%77)");
  }
  SUBCASE("use of a value never defined") {
    fx.addSquare();
    Function &f = fx.m.functions[0];
    ValueId ghost = f.addValue(fx.F);
    f.blocks[0].instrs[0].operands[0] = ghost;
    CHECK_REJECTS(fx, "which is never defined");
  }
}

TEST_CASE("verifier: branches") {
  Fixture fx;
  fx.addCountdown();
  Function &f = fx.m.functions[0];
  SUBCASE("wrong branch argument count") {
    f.blocks[0].instrs.back().targets[0].args.clear();
    CHECK_REJECTS(fx, "target 0 passes 0 argument(s) but block 'loop' (#1) takes 1");
  }
  SUBCASE("wrong branch argument type") {
    ValueId cond = f.blocks[1].instrs[1].result;
    f.blocks[2].instrs.back().targets[0].args = {cond};
    CHECK_REJECTS(fx, "target 0 argument 0 has type Bool but block 'loop' (#1) expects Int");
  }
  SUBCASE("invalid target block") {
    f.blocks[0].instrs.back().targets[0].block = BlockId{9};
    CHECK_REJECTS(fx, "target 0 is not a valid block (#9)");
  }
  SUBCASE("cond_br on a non-Bool") {
    f.blocks[1].instrs.back().operands = {f.blocks[1].args[0]};
    CHECK_REJECTS(fx, "operand 0 has type Int, expected Bool");
  }
  SUBCASE("cond_br with one target") {
    f.blocks[1].instrs.back().targets.pop_back();
    CHECK_REJECTS(fx, "has 1 branch target(s), expected 2");
  }
  SUBCASE("entry arguments do not match the parameters") {
    f.type = fx.tc.functionType({fx.F}, fx.unit());
    CHECK_REJECTS(fx, "entry argument 0 has type Int but parameter 0 has type Float");
  }
}

TEST_CASE("verifier: instruction types") {
  Fixture fx;
  FuncId sq = fx.addSquare();
  Function f = fx.newFunction("g", {fx.I, fx.F}, fx.F);
  Builder b{f, f.addBlock("entry")};
  ValueId i = b.arg(b.at, fx.I, "i"), x = b.arg(b.at, fx.F, "x");
  ValueId add = b.emit(Op::Add, fx.F, {x, x});
  ValueId cmp = b.emit(Op::CmpLt, fx.B, {x, x});
  ValueId sq1 = b.call(Op::Call, fx.F, sq, {x});
  b.ret(sq1);
  fx.m.addFunction(std::move(f));
  CHECK_VALID(fx);
  Function &g = fx.m.functions[1];
  auto &instrs = g.blocks[0].instrs;

  SUBCASE("type mismatch in add") {
    instrs[0].operands = {x, i};
    CHECK_REJECTS(fx, "instruction 0 'add': operand types differ: Float and Int");
  }
  SUBCASE("add on strings") {
    g.values[add.index].type = fx.S;
    instrs[0].op = Op::ConstString;
    instrs[0].operands.clear();
    instrs[1].op = Op::Add;
    instrs[1].operands = {add, add};
    g.values[cmp.index].type = fx.S;
    CHECK_REJECTS(fx, "operand 0 has type String, expected Int, Float or Double");
  }
  SUBCASE("comparison result must be Bool") {
    g.values[cmp.index].type = fx.I;
    CHECK_REJECTS(fx, "result has type Int, expected Bool");
  }
  SUBCASE("bad ret type") {
    instrs.back().operands = {i};
    CHECK_REJECTS(fx, "'ret': returns Int but the function's result type is Float");
  }
  SUBCASE("bad call argument type") {
    instrs[2].operands = {i};
    CHECK_REJECTS(fx, "argument 0 of '@square' has type Int, expected Float");
  }
  SUBCASE("bad call argument count") {
    instrs[2].operands = {x, x};
    CHECK_REJECTS(fx, "passes 2 argument(s) to '@square', which takes 1");
  }
  SUBCASE("bad call result type") {
    g.values[sq1.index].type = fx.I;
    CHECK_REJECTS(fx, "result has type Int, expected Float");
  }
  SUBCASE("result on an op without one") {
    instrs.back().result = add;
    CHECK_REJECTS(fx, "has a result");
  }
  SUBCASE("missing result") {
    instrs[1].result = ValueId{};
    CHECK_REJECTS(fx, "'cmp.lt': has no result");
  }
  SUBCASE("conversion between unlisted kinds") {
    instrs[1].op = Op::Convert;
    instrs[1].operands = {x};
    CHECK_REJECTS(fx, "cannot convert Float to Bool");
  }
}

TEST_CASE("verifier: aggregates") {
  Fixture fx;
  sema::StructType *point = fx.tc.createStruct("Point", nullptr);
  point->fields = {{"x", fx.F}, {"y", fx.F}};
  Function f = fx.newFunction("f", {fx.F, fx.I}, fx.F);
  Builder b{f, f.addBlock("entry")};
  ValueId x = b.arg(b.at, fx.F, "x"), n = b.arg(b.at, fx.I, "n");
  ValueId p = b.emit(Op::StructMake, point, {x, x});
  ValueId px = b.emitImm(Op::StructGet, fx.F, {p}, 0);
  ValueId t = b.emit(Op::Tuple, fx.tc.tupleType({fx.F, fx.I}), {px, n});
  ValueId t0 = b.emitImm(Op::TupleGet, fx.F, {t}, 0);
  ValueId arr = b.emit(Op::ArrayMake, fx.tc.arrayType(fx.F), {t0});
  ValueId e = b.emit(Op::ArrayGet, fx.F, {arr, n});
  b.ret(e);
  fx.m.addFunction(std::move(f));
  CHECK_VALID(fx);
  auto &instrs = fx.m.functions[0].blocks[0].instrs;

  SUBCASE("struct field index out of range") {
    instrs[1].imm = 2;
    CHECK_REJECTS(fx, "field index 2 is out of range for Point");
  }
  SUBCASE("struct operand count") {
    instrs[0].operands = {x};
    CHECK_REJECTS(fx, "'struct': expects 2 operand(s), has 1");
  }
  SUBCASE("struct field type") {
    instrs[0].operands = {x, n};
    CHECK_REJECTS(fx, "field 1 ('y') has type Int, expected Float");
  }
  SUBCASE("tuple.get result type") {
    instrs[3].imm = 1;
    CHECK_REJECTS(fx, "'tuple.get': result has type Float, expected Int");
  }
  SUBCASE("tuple.get index out of range") {
    instrs[3].imm = -1;
    CHECK_REJECTS(fx, "element index -1 is out of range for (Float, Int)");
  }
  SUBCASE("array element type") {
    instrs[4].operands = {n};
    CHECK_REJECTS(fx, "element 0 has type Int, expected Float");
  }
  SUBCASE("array index type") {
    instrs[5].operands = {arr, x};
    CHECK_REJECTS(fx, "operand 1 has type Float, expected Int");
  }
}

TEST_CASE("verifier: module-level rules") {
  Fixture fx;
  fx.addSquare();
  SUBCASE("duplicate function name") {
    fx.addSquare();
    CHECK_REJECTS(fx, "duplicate function name 'square'");
  }
  SUBCASE("extern function with blocks") {
    fx.m.functions[0].isExtern = true;
    fx.m.functions[0].externSymbol = "square";
    CHECK_REJECTS(fx, "function 'square' is extern but has 1 block(s)");
  }
  SUBCASE("call to an invalid function") {
    Function f = fx.newFunction("g", {}, fx.F);
    Builder b{f, f.addBlock("entry")};
    b.ret(b.call(Op::Call, fx.F, FuncId{5}, {}));
    fx.m.addFunction(std::move(f));
    CHECK_REJECTS(fx, "callee is not a valid function (#5)");
  }
}

} // TEST_SUITE
