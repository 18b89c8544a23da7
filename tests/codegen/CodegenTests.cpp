// Codegen tests: DIR modules built by hand are compiled to executables (and
// once through the JIT, in a forked child) and run; the tests check their
// stdout, stderr and exit status. Also: LLVM IR / assembly / object output and
// the diagnostics for what codegen does not support.
#include "codegen/Codegen.h"
#include "frontend/Diagnostics.h"
#include "ir/IR.h"
#include "ir/Verifier.h"
#include "sema/Type.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace dlc;
using ir::BlockId;
using ir::FuncId;
using ir::Op;
using ir::ValueId;
using sema::Type;

namespace {

/// A fresh directory for this test binary's outputs, removed at exit unless
/// DLC_TEST_KEEP is set.
const std::filesystem::path &scratchDir() {
  static std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "dlc-codegen-XXXXXX").string();
    char *made = mkdtemp(pattern.data());
    REQUIRE(made != nullptr);
    std::filesystem::path p(made);
    // Forked JIT children end through exit(), which runs this too: only the
    // process that made the directory removes it.
    static struct Cleanup {
      std::filesystem::path p;
      pid_t owner;
      ~Cleanup() {
        std::error_code ec;
        if (getpid() == owner && !std::getenv("DLC_TEST_KEEP"))
          std::filesystem::remove_all(p, ec);
      }
    } cleanup{p, getpid()};
    return p;
  }();
  return dir;
}

std::string readFile(const std::filesystem::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int status = -1; // exit status, or 128 + signal
  std::string out, err;
};

RunResult runExe(const std::string &exe, const std::vector<std::string> &args = {}) {
  std::string outPath = exe + ".stdout", errPath = exe + ".stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<std::string> storage{exe};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (auto &s : storage)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid;
  RunResult r;
  int err = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(err == 0);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = readFile(outPath);
  r.err = readFile(errPath);
  return r;
}

/// One module under construction, with a source buffer for locations.
struct TestModule {
  SourceManager sources;
  uint32_t file;
  sema::TypeContext types;
  ir::Module module;
  DiagEngine diags{sources};

  TestModule() {
    std::string text;
    for (int i = 0; i < 60; ++i)
      text += "// line " + std::to_string(i + 1) + "\n";
    file = sources.addBuffer("test.dl", text);
    module.types = &types;
    module.sources = &sources;
    diags.setSilent(true);
  }

  const Type *intTy() { return types.intType(); }
  const Type *floatTy() { return types.floatType(); }
  const Type *doubleTy() { return types.doubleType(); }
  const Type *boolTy() { return types.boolType(); }
  const Type *stringTy() { return types.stringType(); }
  const Type *unitTy() { return types.unitType(); }

  std::string diagnostics() const {
    std::string s;
    for (const Diagnostic &d : diags.emitted())
      s += d.message + "\n";
    return s;
  }

  /// Compiles to an executable named `name` in the scratch directory.
  std::string build(const std::string &name, int optLevel = 2) {
    auto problems = ir::verify(module);
    std::string all;
    for (auto &p : problems)
      all += p + "\n";
    INFO(all);
    CHECK(problems.empty());
    codegen::Options opts;
    opts.optLevel = optLevel;
    opts.emit = codegen::EmitKind::Exe;
    opts.outputPath = (scratchDir() / name).string();
    bool ok = codegen::emit(module, opts, diags);
    INFO(diagnostics());
    REQUIRE(ok);
    return opts.outputPath;
  }

  RunResult run(const std::string &name, int optLevel = 2) { return runExe(build(name, optLevel)); }
};

/// Builds one DIR function block by block.
struct FnBuilder {
  TestModule &tm;
  ir::Function f;
  BlockId cur;
  SourceLoc loc;

  FnBuilder(TestModule &tm, std::string name, std::vector<const Type *> params, const Type *result)
      : tm(tm) {
    f.name = std::move(name);
    f.type = tm.types.functionType(params, result);
    cur = f.addBlock("entry");
    for (const Type *p : params)
      f.block(cur).args.push_back(f.addValue(p));
    loc = {tm.file, 1, 1};
  }

  ValueId param(size_t i) { return f.blocks[0].args[i]; }
  void at(uint32_t line, uint32_t col) { loc = {tm.file, line, col}; }

  ir::Instr &add(Op op, const Type *resultTy, std::vector<ValueId> ops) {
    ir::Instr in;
    in.op = op;
    in.operands = std::move(ops);
    in.loc = loc;
    if (resultTy)
      in.result = f.addValue(resultTy);
    f.block(cur).instrs.push_back(std::move(in));
    return f.block(cur).instrs.back();
  }
  ValueId op(Op o, const Type *t, std::vector<ValueId> ops, int64_t imm = 0) {
    ir::Instr &in = add(o, t, std::move(ops));
    in.imm = imm;
    return in.result;
  }
  ValueId i(int64_t v) { return op(Op::ConstInt, tm.intTy(), {}, v); }
  ValueId fl(double v, const Type *t) {
    ir::Instr &in = add(Op::ConstFloat, t, {});
    in.fimm = v;
    return in.result;
  }
  ValueId b(bool v) { return op(Op::ConstBool, tm.boolTy(), {}, v); }
  ValueId s(std::string v) {
    ir::Instr &in = add(Op::ConstString, tm.stringTy(), {});
    in.str = std::move(v);
    return in.result;
  }
  ValueId unit() { return op(Op::Tuple, tm.unitTy(), {}); }
  ValueId call(FuncId callee, const Type *result, std::vector<ValueId> args) {
    ir::Instr &in = add(Op::Call, result, std::move(args));
    in.callee = callee;
    return in.result;
  }
  ValueId closure(FuncId callee, const Type *fnTy, std::vector<ValueId> captures) {
    ir::Instr &in = add(Op::MakeClosure, fnTy, std::move(captures));
    in.callee = callee;
    return in.result;
  }
  void print(std::vector<ValueId> ops) { add(Op::Print, nullptr, std::move(ops)); }

  BlockId block(std::string name, std::vector<const Type *> argTypes = {}) {
    BlockId b = f.addBlock(std::move(name));
    for (const Type *t : argTypes)
      f.block(b).args.push_back(f.addValue(t));
    return b;
  }
  ValueId arg(BlockId b, size_t i) { return f.block(b).args[i]; }
  void setBlock(BlockId b) { cur = b; }
  void br(BlockId to, std::vector<ValueId> args = {}) {
    add(Op::Br, nullptr, {}).targets = {ir::Target{to, std::move(args)}};
  }
  void condBr(ValueId c, BlockId t, std::vector<ValueId> targs, BlockId e,
              std::vector<ValueId> eargs) {
    add(Op::CondBr, nullptr, {c}).targets = {ir::Target{t, std::move(targs)},
                                             ir::Target{e, std::move(eargs)}};
  }
  void ret(ValueId v) { add(Op::Ret, nullptr, {v}); }
  FuncId finish(bool entry = false) {
    f.isEntry = entry;
    return tm.module.addFunction(std::move(f));
  }
};

/// `fn main() { body }` returning unit.
template <typename Body> void mainFunction(TestModule &tm, Body body) {
  FnBuilder m(tm, "main", {}, tm.unitTy());
  body(m);
  m.ret(m.unit());
  m.finish(true);
}

/// A main whose body fails at test.dl:7:5; returns the run.
template <typename Body> RunResult runtimeError(const std::string &name, Body body) {
  TestModule tm;
  mainFunction(tm, [&](FnBuilder &m) {
    m.at(7, 5);
    body(tm, m);
  });
  return tm.run(name);
}

} // namespace

TEST_CASE("codegen: scalars, arithmetic and printing") {
  TestModule tm;
  mainFunction(tm, [&](FnBuilder &m) {
    ValueId sum = m.op(Op::Add, tm.intTy(), {m.i(40), m.i(2)});
    ValueId tenth = m.fl(0.1, tm.floatTy());
    ValueId d = m.op(Op::Mul, tm.doubleTy(), {m.fl(1.25, tm.doubleTy()), m.fl(2, tm.doubleTy())});
    m.print({sum, tenth, d, m.b(true), m.s("hi there")});
    // Int division truncates; remainder has the dividend's sign.
    m.print({m.op(Op::Div, tm.intTy(), {m.i(-7), m.i(2)}),
             m.op(Op::Rem, tm.intTy(), {m.i(-7), m.i(2)}), m.op(Op::Neg, tm.intTy(), {m.i(5)}),
             m.op(Op::Sub, tm.intTy(), {m.i(3), m.i(10)})});
    // INT64_MIN % -1 is 0, not a trap.
    ValueId minInt =
        m.op(Op::Sub, tm.intTy(), {m.op(Op::Neg, tm.intTy(), {m.i(INT64_MAX)}), m.i(1)});
    m.print({minInt, m.op(Op::Rem, tm.intTy(), {minInt, m.i(-1)})});
    // Conversions and math.
    ValueId seven = m.op(Op::Convert, tm.doubleTy(), {m.i(7)});
    m.print({m.op(Op::Div, tm.doubleTy(), {seven, m.fl(2, tm.doubleTy())}),
             m.op(Op::Convert, tm.intTy(), {m.fl(-3.9, tm.doubleTy())}),
             m.op(Op::Sqrt, tm.floatTy(), {m.fl(16, tm.floatTy())}),
             m.op(Op::Round, tm.doubleTy(), {m.fl(2.5, tm.doubleTy())}),
             m.op(Op::Convert, tm.intTy(), {m.b(true)})});
    m.print({m.op(Op::Max, tm.intTy(), {m.i(3), m.i(9)}), m.op(Op::Abs, tm.intTy(), {m.i(-4)}),
             m.op(Op::Sign, tm.doubleTy(), {m.fl(-2, tm.doubleTy())}),
             m.op(Op::Relu, tm.floatTy(), {m.fl(-2, tm.floatTy())}),
             m.op(Op::Tanh, tm.doubleTy(), {m.fl(0, tm.doubleTy())}),
             m.op(Op::Sigmoid, tm.floatTy(), {m.fl(0, tm.floatTy())})});
    // Comparisons: Float NaN is unordered except for !=; strings compare bytewise.
    ValueId nan = m.op(Op::Div, tm.floatTy(), {m.fl(0, tm.floatTy()), m.fl(0, tm.floatTy())});
    m.print({m.op(Op::CmpEq, tm.boolTy(), {nan, nan}), m.op(Op::CmpNe, tm.boolTy(), {nan, nan}),
             m.op(Op::CmpLt, tm.boolTy(), {m.s("abc"), m.s("abd")}),
             m.op(Op::Not, tm.boolTy(), {m.op(Op::CmpGe, tm.boolTy(), {m.i(1), m.i(2)})}),
             m.op(Op::Concat, tm.stringTy(), {m.s("con"), m.s("cat")})});
    // More math, Float and Double.
    const Type *ft = tm.floatTy(), *dt = tm.doubleTy();
    ValueId dnan = m.op(Op::Div, dt, {m.fl(0, dt), m.fl(0, dt)});
    m.print({m.op(Op::Min, dt, {m.fl(1.5, dt), dnan}),
             m.op(Op::Max, ft, {m.fl(-1, ft), m.fl(2, ft)}),
             m.op(Op::Pow, dt, {m.fl(2, dt), m.fl(10, dt)}), m.op(Op::Tan, ft, {m.fl(0, ft)}),
             m.op(Op::Log1p, dt, {m.fl(0, dt)}), m.op(Op::Floor, dt, {m.fl(-1.5, dt)}),
             m.op(Op::Ceil, ft, {m.fl(1.2, ft)}), m.op(Op::Exp, dt, {m.fl(0, dt)}),
             m.op(Op::Log, ft, {m.fl(1, ft)}), m.op(Op::Cos, dt, {m.fl(0, dt)}),
             m.op(Op::Sin, ft, {m.fl(0, ft)}), m.op(Op::Abs, ft, {m.fl(-3, ft)}),
             m.op(Op::Sign, dt, {dnan})});
    m.print({m.op(Op::Sign, tm.intTy(), {m.i(-5)}), m.op(Op::Min, tm.intTy(), {m.i(-5), m.i(2)}),
             m.op(Op::Convert, dt, {tenth}), m.op(Op::Convert, tm.intTy(), {m.fl(2.5e9, ft)}),
             m.op(Op::Convert, ft, {m.fl(0.25, dt)}), m.op(Op::Neg, dt, {m.fl(0, dt)}),
             m.op(Op::CmpEq, tm.boolTy(), {m.s("same"), m.s("same")}),
             m.op(Op::CmpLt, tm.boolTy(), {m.b(false), m.b(true)})});
  });
  // -O0 runs the lowered operations themselves; -O2 folds most of them.
  for (int opt : {0, 2}) {
    RunResult r = tm.run("scalars" + std::to_string(opt), opt);
    CHECK(r.status == 0);
    CHECK(r.out == "42 0.1 2.5 true hi there\n"
                   "-3 -1 -5 -7\n"
                   "-9223372036854775808 0\n"
                   "3.5 -3 4 3 1\n"
                   "9 4 -1 0 0 0.5\n"
                   "false true true true concat\n"
                   "nan 2 1024 0 0 -2 2 1 0 1 0 3 0\n"
                   "-1 -5 0.10000000149011612 2500000000 0.25 -0 true true\n");
    CHECK(r.err == "");
  }
}

TEST_CASE("codegen: a loop with block arguments, at -O0 and -O2") {
  for (int opt : {0, 2}) {
    TestModule tm;
    mainFunction(tm, [&](FnBuilder &m) {
      // sum = 0; i = 1; while i <= 100 { sum += i; i += 1 }
      BlockId loop = m.block("loop", {tm.intTy(), tm.intTy()});
      BlockId body = m.block("body");
      BlockId exit = m.block("exit");
      m.br(loop, {m.i(1), m.i(0)});
      m.setBlock(loop);
      ValueId i = m.arg(loop, 0), sum = m.arg(loop, 1);
      m.condBr(m.op(Op::CmpLe, tm.boolTy(), {i, m.i(100)}), body, {}, exit, {});
      m.setBlock(body);
      m.br(loop, {m.op(Op::Add, tm.intTy(), {i, m.i(1)}), m.op(Op::Add, tm.intTy(), {sum, i})});
      m.setBlock(exit);
      m.print({sum});
    });
    RunResult r = tm.run("loop" + std::to_string(opt), opt);
    CHECK(r.status == 0);
    CHECK(r.out == "5050\n");
  }
}

TEST_CASE("codegen: both edges of a conditional branch into one block") {
  TestModule tm;
  FnBuilder pick(tm, "pick", {tm.boolTy()}, tm.intTy());
  BlockId join = pick.block("join", {tm.intTy()});
  pick.condBr(pick.param(0), join, {pick.i(1)}, join, {pick.i(2)});
  pick.setBlock(join);
  pick.ret(pick.arg(join, 0));
  FuncId pickId = pick.finish();
  mainFunction(tm, [&](FnBuilder &m) {
    m.print({m.call(pickId, tm.intTy(), {m.b(true)}), m.call(pickId, tm.intTy(), {m.b(false)})});
  });
  RunResult r = tm.run("edges", 0);
  CHECK(r.status == 0);
  CHECK(r.out == "1 2\n");
}

TEST_CASE("codegen: recursion and main's Int result is the exit status") {
  TestModule tm;
  // fn fact(n: Int) -> Int { n <= 1 ? 1 : n * fact(n - 1) }
  FnBuilder fact(tm, "fact", {tm.intTy()}, tm.intTy());
  FuncId factId{uint32_t(tm.module.functions.size())};
  BlockId base = fact.block("base"), rec = fact.block("rec");
  ValueId n = fact.param(0);
  fact.condBr(fact.op(Op::CmpLe, tm.boolTy(), {n, fact.i(1)}), base, {}, rec, {});
  fact.setBlock(base);
  fact.ret(fact.i(1));
  fact.setBlock(rec);
  ValueId sub = fact.call(factId, tm.intTy(), {fact.op(Op::Sub, tm.intTy(), {n, fact.i(1)})});
  fact.ret(fact.op(Op::Mul, tm.intTy(), {n, sub}));
  fact.finish();

  FnBuilder m(tm, "main", {}, tm.intTy());
  m.print({m.call(factId, tm.intTy(), {m.i(10)}), m.call(factId, tm.intTy(), {m.i(20)})});
  m.ret(m.i(3));
  m.finish(true);
  RunResult r = tm.run("fact");
  CHECK(r.status == 3);
  CHECK(r.out == "3628800 2432902008176640000\n");
}

TEST_CASE("codegen: tuples, structs and unit print") {
  TestModule tm;
  sema::StructType *point = tm.types.createStruct("Point", nullptr);
  point->fields = {{"x", tm.intTy()}, {"y", tm.doubleTy()}};
  point->complete = true;
  sema::StructType *named = tm.types.createStruct("Named", nullptr);
  named->fields = {{"name", tm.stringTy()}, {"at", point}};
  named->complete = true;
  const Type *tupleTy = tm.types.tupleType({tm.intTy(), tm.floatTy(), tm.stringTy()});
  const Type *fnTy = tm.types.functionType({tm.floatTy()}, tm.floatTy());

  // A function returning a tuple by value.
  FnBuilder pair(tm, "pair", {tm.intTy()}, tupleTy);
  pair.ret(
      pair.op(Op::Tuple, tupleTy, {pair.param(0), pair.fl(2.5, tm.floatTy()), pair.s("s\"q")}));
  FuncId pairId = pair.finish();
  FnBuilder ident(tm, "ident", {tm.floatTy()}, tm.floatTy());
  ident.ret(ident.param(0));
  FuncId identId = ident.finish();

  mainFunction(tm, [&](FnBuilder &m) {
    ValueId t = m.call(pairId, tupleTy, {m.i(1)});
    m.print({t, m.op(Op::TupleGet, tm.intTy(), {t}, 0), m.op(Op::TupleGet, tm.stringTy(), {t}, 2)});
    ValueId t2 = m.op(Op::TupleSet, tupleTy, {t, m.i(7)}, 0);
    m.print({t2, m.unit()});
    ValueId p = m.op(Op::StructMake, point, {m.i(1), m.fl(2, tm.doubleTy())});
    ValueId p2 = m.op(Op::StructSet, point, {p, m.fl(-0.5, tm.doubleTy())}, 1);
    m.print({p, p2, m.op(Op::StructGet, tm.doubleTy(), {p2}, 1)});
    m.print({m.op(Op::StructMake, named, {m.s("origin"), p}), m.closure(identId, fnTy, {})});
  });
  RunResult r = tm.run("aggregates");
  CHECK(r.status == 0);
  CHECK(r.out == "(1, 2.5, \"s\\\"q\") 1 s\"q\n"
                 "(7, 2.5, \"s\\\"q\") ()\n"
                 "Point(x: 1, y: 2) Point(x: 1, y: -0.5) -0.5\n"
                 "Named(name: \"origin\", at: Point(x: 1, y: 2)) <function (Float) -> Float>\n");
}

TEST_CASE("codegen: arrays have value semantics") {
  TestModule tm;
  const Type *ints = tm.types.arrayType(tm.intTy());
  const Type *strs = tm.types.arrayType(tm.stringTy());
  const Type *nested = tm.types.arrayType(tm.types.tupleType({tm.boolTy(), tm.doubleTy()}));
  mainFunction(tm, [&](FnBuilder &m) {
    ValueId a = m.op(Op::ArrayMake, ints, {m.i(1), m.i(2), m.i(3)});
    ValueId b = m.op(Op::ArraySet, ints, {a, m.i(1), m.i(20)});
    ValueId c = m.op(Op::ArrayAppend, ints, {a, m.i(4)});
    ValueId d = m.op(Op::ArrayAppend, ints, {c, m.i(5)});
    m.print({a, b, c, d});
    m.print({m.op(Op::ArrayCount, tm.intTy(), {a}), m.op(Op::ArrayCount, tm.intTy(), {d}),
             m.op(Op::ArrayGet, tm.intTy(), {d, m.i(4)}),
             m.op(Op::ArrayGet, tm.intTy(), {b, m.i(1)})});
    ValueId empty = m.op(Op::ArrayMake, strs, {});
    ValueId words = m.op(Op::ArrayAppend, strs, {empty, m.s("a")});
    words = m.op(Op::ArrayAppend, strs, {words, m.s("b c")});
    ValueId pairTuple = m.op(Op::Tuple, tm.types.tupleType({tm.boolTy(), tm.doubleTy()}),
                             {m.b(true), m.fl(0.25, tm.doubleTy())});
    ValueId rep = m.op(Op::ArrayRepeat, nested, {pairTuple, m.i(2)});
    m.print({empty, words, rep, m.op(Op::ArrayRepeat, ints, {m.i(0), m.i(0)})});
  });
  RunResult r = tm.run("arrays");
  CHECK(r.status == 0);
  CHECK(r.out == "[1, 2, 3] [1, 20, 3] [1, 2, 3, 4] [1, 2, 3, 4, 5]\n"
                 "3 5 5 20\n"
                 "[] [\"a\", \"b c\"] [(true, 0.25), (true, 0.25)] []\n");
}

TEST_CASE("codegen: closures capture by value") {
  TestModule tm;
  const Type *intToInt = tm.types.functionType({tm.intTy()}, tm.intTy());
  // fn add3(a: Int, b: Double, x: Int) -> Int { a + Int(b) + x }
  FnBuilder add(tm, "add3", {tm.intTy(), tm.doubleTy(), tm.intTy()}, tm.intTy());
  ValueId bInt = add.op(Op::Convert, tm.intTy(), {add.param(1)});
  add.ret(add.op(Op::Add, tm.intTy(),
                 {add.op(Op::Add, tm.intTy(), {add.param(0), bInt}), add.param(2)}));
  FuncId addId = add.finish();
  FnBuilder twice(tm, "twice", {tm.intTy()}, tm.intTy());
  twice.ret(twice.op(Op::Mul, tm.intTy(), {twice.param(0), twice.i(2)}));
  FuncId twiceId = twice.finish();
  // fn apply(f: (Int) -> Int, x: Int) -> Int { f(x) }
  FnBuilder apply(tm, "apply", {intToInt, tm.intTy()}, tm.intTy());
  apply.ret(apply.op(Op::CallClosure, tm.intTy(), {apply.param(0), apply.param(1)}));
  FuncId applyId = apply.finish();

  mainFunction(tm, [&](FnBuilder &m) {
    ValueId f = m.closure(addId, intToInt, {m.i(10), m.fl(100.5, tm.doubleTy())});
    ValueId g = m.closure(twiceId, intToInt, {});
    m.print({m.op(Op::CallClosure, tm.intTy(), {f, m.i(5)}),
             m.call(applyId, tm.intTy(), {g, m.i(21)}),
             m.call(applyId, tm.intTy(), {f, m.i(-110)})});
  });
  RunResult r = tm.run("closures");
  CHECK(r.status == 0);
  CHECK(r.out == "115 42 0\n");
}

TEST_CASE("codegen: extern C functions") {
  TestModule tm;
  ir::Function strlenFn;
  strlenFn.name = "strlen";
  strlenFn.isExtern = true;
  strlenFn.externSymbol = "strlen";
  strlenFn.type = tm.types.functionType({tm.stringTy()}, tm.intTy());
  FuncId strlenId = tm.module.addFunction(std::move(strlenFn));
  ir::Function cosFn;
  cosFn.name = "cos";
  cosFn.isExtern = true;
  cosFn.externSymbol = "cos";
  cosFn.type = tm.types.functionType({tm.doubleTy()}, tm.doubleTy());
  FuncId cosId = tm.module.addFunction(std::move(cosFn));
  mainFunction(tm, [&](FnBuilder &m) {
    m.print({m.call(strlenId, tm.intTy(), {m.s("hello")}),
             m.call(cosId, tm.doubleTy(), {m.fl(0, tm.doubleTy())})});
  });
  RunResult r = tm.run("extern");
  CHECK(r.status == 0);
  CHECK(r.out == "5 1\n");
}

TEST_CASE("codegen: runtime errors report their location and exit with status 1") {
  SUBCASE("array index out of range") {
    RunResult r = runtimeError("index", [](TestModule &tm, FnBuilder &m) {
      ValueId a = m.op(Op::ArrayMake, tm.types.arrayType(tm.intTy()), {m.i(1), m.i(2)});
      m.print({m.s("before")});
      m.print({m.op(Op::ArrayGet, tm.intTy(), {a, m.i(2)})});
    });
    CHECK(r.status == 1);
    CHECK(r.out == "before\n");
    CHECK(r.err ==
          "runtime error: test.dl:7:5: index 2 is out of range for an array of 2 elements\n");
  }
  SUBCASE("negative index in array.set") {
    RunResult r = runtimeError("setindex", [](TestModule &tm, FnBuilder &m) {
      const Type *ints = tm.types.arrayType(tm.intTy());
      ValueId a = m.op(Op::ArrayMake, ints, {m.i(1)});
      m.print({m.op(Op::ArraySet, ints, {a, m.i(-1), m.i(0)})});
    });
    CHECK(r.status == 1);
    CHECK(r.err ==
          "runtime error: test.dl:7:5: index -1 is out of range for an array of 1 element\n");
  }
  SUBCASE("division by zero") {
    RunResult r = runtimeError("divzero", [](TestModule &tm, FnBuilder &m) {
      ValueId zero = m.op(Op::Sub, tm.intTy(), {m.i(3), m.i(3)});
      m.print({m.op(Op::Div, tm.intTy(), {m.i(1), zero})});
    });
    CHECK(r.status == 1);
    CHECK(r.err == "runtime error: test.dl:7:5: division by zero\n");
  }
  SUBCASE("integer overflow") {
    RunResult r = runtimeError("overflow", [](TestModule &tm, FnBuilder &m) {
      m.print({m.op(Op::Mul, tm.intTy(), {m.i(INT64_MAX / 2), m.i(3)})});
    });
    CHECK(r.status == 1);
    CHECK(r.err == "runtime error: test.dl:7:5: integer overflow in '*'\n");
  }
  SUBCASE("INT64_MIN / -1 overflows") {
    RunResult r = runtimeError("divoverflow", [](TestModule &tm, FnBuilder &m) {
      ValueId minInt = m.op(Op::Sub, tm.intTy(), {m.i(-INT64_MAX), m.i(1)});
      m.print({m.op(Op::Div, tm.intTy(), {minInt, m.i(-1)})});
    });
    CHECK(r.status == 1);
    CHECK(r.err == "runtime error: test.dl:7:5: integer overflow in '/'\n");
  }
  SUBCASE("assertion failure") {
    RunResult r = runtimeError("assert", [](TestModule &tm, FnBuilder &m) {
      m.add(Op::Assert, nullptr,
            {m.op(Op::CmpEq, tm.boolTy(), {m.i(1), m.i(2)}), m.s("one is two")});
    });
    CHECK(r.status == 1);
    CHECK(r.err == "runtime error: test.dl:7:5: assertion failed: one is two\n");
  }
  SUBCASE("negative repeat count") {
    RunResult r = runtimeError("repeat", [](TestModule &tm, FnBuilder &m) {
      m.print({m.op(Op::ArrayRepeat, tm.types.arrayType(tm.intTy()), {m.i(0), m.i(-2)})});
    });
    CHECK(r.status == 1);
    CHECK(r.err.rfind("runtime error: test.dl:7:5: ", 0) == 0);
  }
  SUBCASE("NaN to Int") {
    RunResult r = runtimeError("convert", [](TestModule &tm, FnBuilder &m) {
      ValueId zero = m.fl(0, tm.doubleTy());
      ValueId nan = m.op(Op::Div, tm.doubleTy(), {zero, zero});
      m.print({m.op(Op::Convert, tm.intTy(), {nan})});
    });
    CHECK(r.status == 1);
    CHECK(r.err == "runtime error: test.dl:7:5: cannot convert nan to Int\n");
  }
}

TEST_CASE("codegen: exit ends the program with its code") {
  TestModule tm;
  FnBuilder m(tm, "main", {}, tm.unitTy());
  m.print({m.s("bye")});
  m.add(Op::Exit, nullptr, {m.i(4)});
  m.add(Op::Unreachable, nullptr, {});
  m.finish(true);
  RunResult r = tm.run("exit");
  CHECK(r.status == 4);
  CHECK(r.out == "bye\n");
}

TEST_CASE("codegen: args and the JIT") {
  TestModule tm;
  const Type *strs = tm.types.arrayType(tm.stringTy());
  FnBuilder m(tm, "main", {}, tm.intTy());
  ValueId args = m.op(Op::Args, strs, {});
  m.print({args, m.op(Op::Mul, tm.intTy(), {m.i(6), m.i(7)})});
  m.ret(m.op(Op::ArrayCount, tm.intTy(), {args}));
  m.finish(true);

  RunResult r = runExe(tm.build("args"), {"x", "y z"});
  CHECK(r.status == 2);
  CHECK(r.out == "[\"x\", \"y z\"] 42\n");

  // The JIT runs in this process and the program may call exit(), so run it
  // in a child whose stdout goes to a file.
  std::string outPath = (scratchDir() / "jit.stdout").string();
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    close(fd);
    int status = codegen::runJIT(tm.module, 2, "prog", {"a", "b", "c"}, tm.diags);
    fflush(stdout);
    _exit(status < 0 ? 99 : status);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  CHECK(readFile(outPath) == "[\"a\", \"b\", \"c\"] 42\n");
}

TEST_CASE("codegen: the JIT reports runtime errors like executables") {
  TestModule tm;
  mainFunction(tm, [&](FnBuilder &m) {
    m.at(3, 9);
    m.print({m.op(Op::Add, tm.intTy(), {m.i(INT64_MAX), m.i(1)})});
  });
  std::string errPath = (scratchDir() / "jit.stderr").string();
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    int status = codegen::runJIT(tm.module, 0, "prog", {}, tm.diags);
    _exit(status < 0 ? 99 : status);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(readFile(errPath) == "runtime error: test.dl:3:9: integer overflow in '+'\n");
}

TEST_CASE("codegen: LLVM IR, assembly and object output") {
  TestModule tm;
  mainFunction(tm, [&](FnBuilder &m) { m.print({m.s("hello")}); });
  for (auto [kind, ext] :
       {std::pair{codegen::EmitKind::Llvm, ".ll"}, std::pair{codegen::EmitKind::Asm, ".s"},
        std::pair{codegen::EmitKind::Obj, ".o"}}) {
    codegen::Options opts;
    opts.emit = kind;
    opts.outputPath = (scratchDir() / (std::string("out") + ext)).string();
    bool ok = codegen::emit(tm.module, opts, tm.diags);
    INFO(tm.diagnostics());
    REQUIRE(ok);
    std::string text = readFile(opts.outputPath);
    CHECK(!text.empty());
    if (kind == codegen::EmitKind::Llvm) {
      CHECK(text.find("define i32 @main(") != std::string::npos);
      CHECK(text.find("@dlrt_print_string(") != std::string::npos);
    }
    if (kind == codegen::EmitKind::Asm)
      CHECK(text.find("main:") != std::string::npos);
  }
}

TEST_CASE("codegen: tensor operations are runtime calls, retain/release are refcount calls") {
  TestModule tm;
  const Type *tensor = tm.types.tensorType(tm.floatTy());
  FnBuilder f(tm, "twice", {tensor}, tensor);
  f.at(4, 7);
  ValueId sum = f.op(Op::Tensor, tensor, {f.param(0), f.param(0)}, int64_t(ir::TensorOp::Add));
  f.op(Op::Retain, nullptr, {sum});
  f.op(Op::Release, nullptr, {sum});
  f.ret(sum);
  f.finish();
  mainFunction(tm, [](FnBuilder &) {});
  codegen::Options opts;
  opts.optLevel = 0; // `twice` is unused: keep it
  opts.emit = codegen::EmitKind::Llvm;
  opts.outputPath = (scratchDir() / "tensor.ll").string();
  bool ok = codegen::emit(tm.module, opts, tm.diags);
  INFO(tm.diagnostics());
  REQUIRE(ok);
  std::string text = readFile(opts.outputPath);
  // dlrt_t_binary(DLRT_ADD = 0, a, a, "file:4:7")
  CHECK(text.find("call ptr @dlrt_t_binary(i32 0, ptr %") != std::string::npos);
  CHECK(text.find("test.dl:4:7") != std::string::npos);
  CHECK(text.find("call void @dlrt_t_retain(ptr") != std::string::npos);
  CHECK(text.find("call void @dlrt_t_release(ptr") != std::string::npos);
}

TEST_CASE("codegen: failures are diagnostics") {
  SUBCASE("a value of the error type") {
    TestModule tm;
    const Type *bad = tm.types.errorType();
    FnBuilder f(tm, "id", {bad}, bad);
    f.ret(f.param(0));
    f.finish();
    mainFunction(tm, [](FnBuilder &) {});
    codegen::Options opts;
    opts.outputPath = (scratchDir() / "bad").string();
    CHECK_FALSE(codegen::emit(tm.module, opts, tm.diags));
    REQUIRE(tm.diags.emitted().size() == 1);
    CHECK(tm.diags.emitted()[0].id == DiagId::err_codegen);
    CHECK(tm.diags.emitted()[0].message.find("uses the error type") != std::string::npos);
  }
  SUBCASE("an unwritable output") {
    TestModule tm;
    mainFunction(tm, [](FnBuilder &) {});
    codegen::Options opts;
    opts.emit = codegen::EmitKind::Obj;
    opts.outputPath = (scratchDir() / "no-such-dir" / "x.o").string();
    CHECK_FALSE(codegen::emit(tm.module, opts, tm.diags));
    REQUIRE(tm.diags.emitted().size() == 1);
    CHECK(tm.diags.emitted()[0].id == DiagId::err_write_output);
  }
  SUBCASE("a linker error") {
    TestModule tm;
    ir::Function missing;
    missing.name = "missing";
    missing.isExtern = true;
    missing.externSymbol = "dlc_test_no_such_symbol";
    missing.type = tm.types.functionType({}, tm.unitTy());
    FuncId missingId = tm.module.addFunction(std::move(missing));
    mainFunction(tm, [&](FnBuilder &m) { m.call(missingId, tm.unitTy(), {}); });
    codegen::Options opts;
    opts.outputPath = (scratchDir() / "unlinked").string();
    CHECK_FALSE(codegen::emit(tm.module, opts, tm.diags));
    REQUIRE(tm.diags.emitted().size() == 1);
    CHECK(tm.diags.emitted()[0].id == DiagId::err_link);
    INFO(tm.diags.emitted()[0].message);
    CHECK(tm.diags.emitted()[0].message.find("dlc_test_no_such_symbol") != std::string::npos);
  }
  SUBCASE("no main") {
    TestModule tm;
    codegen::Options opts;
    opts.outputPath = (scratchDir() / "nomain").string();
    CHECK_FALSE(codegen::emit(tm.module, opts, tm.diags));
    CHECK(tm.diags.emitted().size() == 1);
  }
}

TEST_CASE("codegen: the default runtime library exists in the build tree") {
  CHECK(std::filesystem::exists(codegen::defaultRuntimeLibrary()));
}
