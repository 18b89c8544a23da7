// Unit tests for the parser (grammar/Dl.g4, frontend/Parser.cpp,
// frontend/ParseTreeBuilder.cpp), the AST dumper and the module loader: AST shape
// of every construct, precedence, the newline rule, source locations, syntax
// error reporting and recovery, and robustness on truncated or hostile input.
#include "frontend/AST.h"
#include "frontend/ModuleLoader.h"
#include "frontend/Parser.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <string>
#include <vector>

using namespace dlc;
using namespace dlc::ast;

namespace {

/// Parses one buffer with silent diagnostics.
struct Parsed {
  SourceManager sources;
  DiagEngine diags{sources};
  ASTContext context;
  SourceFile file;
  bool ok = false;

  explicit Parsed(const std::string &text) {
    diags.setSilent(true);
    uint32_t id = sources.addBuffer("test.dl", text);
    file.fileId = id;
    file.path = "test.dl";
    ok = parseSourceFile(sources, id, context, diags, file);
  }

  std::string dump() const { return ast::dump(file); }

  /// "line:col: message" for every diagnostic, in order.
  std::vector<std::string> errors() const {
    std::vector<std::string> out;
    for (const Diagnostic &d : diags.emitted())
      out.push_back(std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " +
                    d.message);
    return out;
  }
  std::string allErrors() const {
    std::string out;
    for (const std::string &e : errors())
      out += e + "\n";
    return out;
  }
  bool hasDiag(DiagId id) const {
    for (const Diagnostic &d : diags.emitted())
      if (d.id == id)
        return true;
    return false;
  }

  template <class T> T *decl(size_t i) const {
    REQUIRE(i < file.decls.size());
    REQUIRE(isa<T>(file.decls[i]));
    return cast<T>(file.decls[i]);
  }
  /// The first statement of the body of the first function.
  Stmt *firstStmt() const {
    auto *fn = decl<FuncDecl>(0);
    REQUIRE(fn->body != nullptr);
    REQUIRE(!fn->body->stmts.empty());
    return fn->body->stmts[0];
  }
  /// The initializer of `let x = EXPR` as the first top-level statement.
  Expr *letInit(size_t i = 0) const {
    REQUIRE(i < file.topLevelStmts.size());
    auto *let = dynCast<LetStmt>(file.topLevelStmts[i]);
    REQUIRE(let != nullptr);
    return let->init;
  }
};

bool contains(const std::string &haystack, const std::string &needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Dump of one expression written as `let x = EXPR`.
std::string exprDump(const std::string &expr) {
  Parsed p("let x = " + expr + "\n");
  INFO(p.allErrors());
  REQUIRE(p.ok);
  return p.dump();
}

const char *const kProgram = R"(import nn
import "lib/util.dl"

/* a /* nested */ comment */
struct Dense: Layer {
    var weight: Tensor
    var bias: Tensor
    @noDerivative var useBias: Bool

    init(inputs: Int, outputs: Int) {
        weight = glorotUniform([inputs, outputs])
        bias = zeros([outputs])
        useBias = true
    }

    @differentiable
    fn call(self, x: Tensor) -> Tensor {
        return useBias ? x @ weight + bias : x @ weight
    }

    mutating fn scale(by s: Float) { weight = weight * s }   // `self` is inout here
    static fn identity(n: Int) -> Dense { return Dense(inputs: n, outputs: n) }
}

trait Layer: Differentiable {
    @differentiable fn call(self, x: Tensor) -> Tensor
}

struct Residual<L: Layer>: Layer {
    var inner: L
    @differentiable fn call(self, x: Tensor) -> Tensor { return x + inner(x) }
}

extern fn clock_ms() -> Double

@vjp(of: softplus)
fn softplusVJP(x: Float, seed: Float) -> Float { return seed * sigmoid(x) }

fn applyTwice<L: Layer>(layer: L, x: Tensor) -> Tensor { return layer(layer(x)) }

fn main() {
    let train = data.fashionMNIST(split: "train")
    var model = MLP(inputs: 784, hidden: 512, classes: 10)
    var opt = optim.SGD(for: model, lr: 0.05, momentum: 0.9)
    for epoch in 0..<2 {
        for batch in train.batches(size: 128, shuffle: true) {
            let (loss, g) = valueAndGrad(|m: MLP| softmaxCrossEntropy(m(batch.x), batch.y))(model)
            opt.update(&model, along: g)
        }
        print("epoch", epoch, "test accuracy", accuracy(model, data.fashionMNIST(split: "test")))
    }
    var t = (1, (2.5, 3))
    t.1.0 = 1e-3; t.0 += 0x1F; a[i] = t.0
    while t.0 > 1_000 || !done { t.0 -= 1 }
    if a { } else if b { return } else { break }
}
)";

} // namespace

TEST_SUITE("parser") {

  // --- Declarations ---------------------------------------------------------------

  TEST_CASE("function with a return type and a single-expression body") {
    Parsed p("fn square(x: Float) -> Float { return x * x }\n"
             "fn cube(x: Float) -> Float { x * x * x }\n"
             "fn log(msg: String) { print(msg) }\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    CHECK(contains(p.dump(), "FuncDecl 'square' [Function]\n"
                             "  ParamDecl 'x' label='x' type=Float\n"
                             "  result: Float\n"
                             "  BlockStmt\n"
                             "    ReturnStmt\n"
                             "      BinaryExpr '*'\n"
                             "        NameExpr 'x'\n"
                             "        NameExpr 'x'\n"));
    auto *cube = p.decl<FuncDecl>(1);
    REQUIRE(cube->body->stmts.size() == 1);
    CHECK(isa<ExprStmt>(cube->body->stmts[0]));
    auto *log = p.decl<FuncDecl>(2);
    CHECK(log->resultRepr == nullptr);
    CHECK(log->funcKind == FuncDecl::Kind::Function);
  }

  TEST_CASE("struct with fields, init, methods, self, mutating and static") {
    Parsed p(kProgram);
    INFO(p.allErrors());
    REQUIRE(p.ok);
    auto *dense = p.decl<StructDecl>(2);
    CHECK(dense->name == "Dense");
    REQUIRE(dense->conformances.size() == 1);
    REQUIRE(dense->fields.size() == 3);
    for (unsigned i = 0; i < 3; ++i) {
      CHECK(dense->fields[i]->isField);
      CHECK(dense->fields[i]->isMutable);
      CHECK(dense->fields[i]->fieldIndex == i);
      CHECK(dense->fields[i]->typeRepr != nullptr);
    }
    CHECK(dense->fields[2]->hasAttribute("noDerivative"));
    CHECK(!dense->fields[1]->hasAttribute("noDerivative"));
    REQUIRE(dense->inits.size() == 1);
    FuncDecl *init = dense->inits[0];
    CHECK(init->funcKind == FuncDecl::Kind::Init);
    CHECK(init->name == "init");
    CHECK(init->parent == dense);
    CHECK(init->params.size() == 2);
    REQUIRE(dense->methods.size() == 3);
    FuncDecl *call = dense->methods[0];
    CHECK(call->funcKind == FuncDecl::Kind::Method);
    CHECK(call->parent == dense);
    CHECK(call->hasAttribute("differentiable"));
    REQUIRE(call->selfParam != nullptr);
    CHECK(call->selfParam->isSelf);
    CHECK(call->selfParam->typeRepr == nullptr);
    REQUIRE(call->params.size() == 1);
    CHECK(call->params[0]->name == "x");
    FuncDecl *scale = dense->methods[1];
    CHECK(scale->isMutating);
    CHECK(scale->selfParam == nullptr);
    REQUIRE(scale->params.size() == 1);
    CHECK(scale->params[0]->label == "by");
    CHECK(scale->params[0]->name == "s");
    CHECK(dense->methods[2]->isStatic);
  }

  TEST_CASE("traits, generics, extern and imports") {
    Parsed p(kProgram);
    REQUIRE(p.ok);
    auto *nn = p.decl<ImportDecl>(0);
    CHECK(nn->name == "nn");
    CHECK(!nn->isPath);
    auto *util = p.decl<ImportDecl>(1);
    CHECK(util->name == "lib/util.dl");
    CHECK(util->isPath);

    auto *layer = p.decl<TraitDecl>(3);
    CHECK(layer->name == "Layer");
    REQUIRE(layer->refines.size() == 1);
    REQUIRE(layer->requirements.size() == 1);
    FuncDecl *req = layer->requirements[0];
    CHECK(req->funcKind == FuncDecl::Kind::Requirement);
    CHECK(req->parentTrait == layer);
    CHECK(req->body == nullptr);
    CHECK(req->selfParam != nullptr);
    CHECK(req->hasAttribute("differentiable"));

    auto *residual = p.decl<StructDecl>(4);
    REQUIRE(residual->genericParams.size() == 1);
    CHECK(residual->genericParams[0]->name == "L");
    CHECK(residual->genericParams[0]->bounds.size() == 1);
    CHECK(contains(p.dump(), "StructDecl 'Residual' : Layer\n  GenericParamDecl 'L' : Layer\n"));

    auto *clock = p.decl<FuncDecl>(5);
    CHECK(clock->funcKind == FuncDecl::Kind::Extern);
    CHECK(clock->body == nullptr);
    CHECK(clock->resultRepr != nullptr);

    auto *vjp = p.decl<FuncDecl>(6);
    const Attribute *attr = vjp->attribute("vjp");
    REQUIRE(attr != nullptr);
    REQUIRE(attr->args.size() == 1);
    CHECK(attr->args[0].label == "of");
    CHECK(attr->args[0].value == "softplus");

    auto *apply = p.decl<FuncDecl>(7);
    CHECK(apply->isGeneric());
    CHECK(apply->genericParams[0]->name == "L");
  }

  TEST_CASE("attribute arguments and parameter attributes") {
    Parsed p("@differentiable(wrt: x, y) @inline @export\n"
             "fn f(x: Float, y: Float, @noDerivative z: Float) -> Float { x }\n"
             "@jvp(of: Dense.call) fn g() {}\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    auto *f = p.decl<FuncDecl>(0);
    REQUIRE(f->attributes.size() == 3);
    const Attribute *diff = f->attribute("differentiable");
    REQUIRE(diff != nullptr);
    REQUIRE(diff->args.size() == 2);
    CHECK(diff->args[0].label == "wrt");
    CHECK(diff->args[0].value == "x");
    CHECK(diff->args[1].label.empty());
    CHECK(diff->args[1].value == "y");
    CHECK(f->hasAttribute("inline"));
    CHECK(f->hasAttribute("export"));
    CHECK(f->params[2]->hasAttribute("noDerivative"));
    CHECK(p.decl<FuncDecl>(1)->attribute("jvp")->args[0].value == "Dense.call");
    CHECK(contains(p.dump(), "FuncDecl 'f' [Function] @differentiable(wrt: x, y) @inline @export"));
  }

  TEST_CASE("parameter labels, keyword labels and inout") {
    Parsed p("struct SGD { init(for model: M, lr: Float) {} }\n"
             "fn f(_ x: Float, by s: Float, y: inout Float) {}\n"
             "fn g() { f(1.0, by: 2.0, &y); SGD(for: model, lr: 0.1) }\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    FuncDecl *init = p.decl<StructDecl>(0)->inits[0];
    CHECK(init->params[0]->label == "for");
    CHECK(init->params[0]->name == "model");
    CHECK(init->params[1]->label == "lr");
    auto *f = p.decl<FuncDecl>(1);
    CHECK(f->params[0]->label == "_");
    CHECK(f->params[0]->name == "x");
    CHECK(f->params[1]->label == "by");
    CHECK(f->params[2]->isInout);
    CHECK(!f->params[1]->isInout);
    auto *g = p.decl<FuncDecl>(2);
    REQUIRE(g->body->stmts.size() == 2);
    auto *call = cast<CallExpr>(cast<ExprStmt>(g->body->stmts[0])->expr);
    REQUIRE(call->args.size() == 3);
    CHECK(call->args[0].label.empty());
    CHECK(call->args[1].label == "by");
    CHECK(isa<InOutExpr>(call->args[2].value));
    auto *sgd = cast<CallExpr>(cast<ExprStmt>(g->body->stmts[1])->expr);
    CHECK(sgd->args[0].label == "for");
  }

  // --- Statements -------------------------------------------------------------------

  TEST_CASE("let, var, patterns and assignments") {
    Parsed p("fn f() {\n"
             "  let (a, b) = t\n"
             "  var (c, _) = t; let _ = 1\n"
             "  var x: Float\n"
             "  let y: Double = 1\n"
             "  x = 1; x += 2; x -= 3; x *= 4; x /= 5\n"
             "  a[i] = v\n"
             "  s.f = e\n"
             "  { let z = 0 }\n"
             "}\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    auto &stmts = p.decl<FuncDecl>(0)->body->stmts;
    REQUIRE(stmts.size() == 13);
    auto *let = cast<LetStmt>(stmts[0]);
    CHECK(!let->isMutable);
    auto *tuple = dynCast<TuplePattern>(let->pattern);
    REQUIRE(tuple != nullptr);
    REQUIRE(tuple->elements.size() == 2);
    CHECK(cast<IdentPattern>(tuple->elements[0])->var->name == "a");
    CHECK(!cast<IdentPattern>(tuple->elements[0])->var->isMutable);
    auto *var = cast<LetStmt>(stmts[1]);
    CHECK(var->isMutable);
    CHECK(cast<IdentPattern>(cast<TuplePattern>(var->pattern)->elements[0])->var->isMutable);
    CHECK(isa<WildcardPattern>(cast<TuplePattern>(var->pattern)->elements[1]));
    CHECK(isa<WildcardPattern>(cast<LetStmt>(stmts[2])->pattern));
    auto *decl = cast<LetStmt>(stmts[3]);
    CHECK(decl->init == nullptr);
    CHECK(decl->typeRepr != nullptr);
    CHECK(cast<IdentPattern>(decl->pattern)->var->typeRepr == decl->typeRepr);
    const char ops[] = {'=', '+', '-', '*', '/'};
    for (int i = 0; i < 5; ++i)
      CHECK(cast<AssignStmt>(stmts[5 + i])->op == ops[i]);
    CHECK(isa<IndexExpr>(cast<AssignStmt>(stmts[10])->target));
    CHECK(isa<MemberExpr>(cast<AssignStmt>(stmts[11])->target));
    CHECK(isa<BlockStmt>(stmts[12]));
  }

  TEST_CASE("control flow statements") {
    Parsed p("fn f() {\n"
             "  if a { x } else if b { y } else { z }\n"
             "  while i < n { i += 1; continue }\n"
             "  for (i, x) in zip(a, b) { break }\n"
             "  for i in 0...n { }\n"
             "  return\n"
             "}\n"
             "fn g() -> Int { return 1 }\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    auto &stmts = p.decl<FuncDecl>(0)->body->stmts;
    REQUIRE(stmts.size() == 5);
    auto *ifs = cast<IfStmt>(stmts[0]);
    auto *elseIf = dynCast<IfStmt>(ifs->elseStmt);
    REQUIRE(elseIf != nullptr);
    CHECK(isa<BlockStmt>(elseIf->elseStmt));
    auto *loop = cast<WhileStmt>(stmts[1]);
    CHECK(isa<ContinueStmt>(loop->body->stmts[1]));
    auto *forIn = cast<ForInStmt>(stmts[2]);
    CHECK(isa<TuplePattern>(forIn->pattern));
    CHECK(isa<BreakStmt>(forIn->body->stmts[0]));
    auto *range = cast<BinaryExpr>(cast<ForInStmt>(stmts[3])->sequence);
    CHECK(range->op == BinaryOp::ClosedRange);
    CHECK(cast<ReturnStmt>(stmts[4])->value == nullptr);
    CHECK(cast<ReturnStmt>(p.decl<FuncDecl>(1)->body->stmts[0])->value != nullptr);
  }

  TEST_CASE("top-level statements go to topLevelStmts") {
    Parsed p("let x = 1\nfn f() {}\nprint(x)\nx = 2;\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    CHECK(p.file.decls.size() == 1);
    REQUIRE(p.file.topLevelStmts.size() == 3);
    CHECK(isa<LetStmt>(p.file.topLevelStmts[0]));
    CHECK(isa<ExprStmt>(p.file.topLevelStmts[1]));
    CHECK(isa<AssignStmt>(p.file.topLevelStmts[2]));
  }

  // --- Expressions ----------------------------------------------------------------------

  TEST_CASE("precedence and associativity") {
    CHECK(
        contains(exprDump("a + b * c"), "BinaryExpr '+'\n    NameExpr 'a'\n    BinaryExpr '*'\n"));
    CHECK(contains(exprDump("a - b - c"), "BinaryExpr '-'\n    BinaryExpr '-'\n      NameExpr 'a'\n"
                                          "      NameExpr 'b'\n    NameExpr 'c'\n"));
    // Unary binds tighter than `@`, which binds tighter than `*`.
    CHECK(contains(exprDump("-x @ y"), "BinaryExpr '@'\n    UnaryExpr '-'\n      NameExpr 'x'\n"));
    CHECK(
        contains(exprDump("a * b @ c"), "BinaryExpr '*'\n    NameExpr 'a'\n    BinaryExpr '@'\n"));
    // Ranges bind tighter than comparisons, looser than `+`.
    CHECK(contains(
        exprDump("0 ..< n + 1 == r"),
        "BinaryExpr '=='\n    BinaryExpr '..<'\n      IntLitExpr 0\n      BinaryExpr '+'\n"));
    CHECK(contains(exprDump("a < b && c || d"),
                   "BinaryExpr '||'\n    BinaryExpr '&&'\n      BinaryExpr '<'\n"));
    CHECK(contains(exprDump("!a == b"), "BinaryExpr '=='\n    UnaryExpr '!'\n"));
    CHECK(contains(exprDump("c ? a : d ? e : f"),
                   "TernaryExpr\n    NameExpr 'c'\n    NameExpr 'a'\n    TernaryExpr\n"));
    CHECK(
        contains(exprDump("c ? a + 1 : b"), "TernaryExpr\n    NameExpr 'c'\n    BinaryExpr '+'\n"));
    CHECK(contains(exprDump("a % b / c"), "BinaryExpr '/'\n    BinaryExpr '%'\n"));
    CHECK(contains(exprDump("a >= b != c <= d"), "BinaryExpr '<='\n    BinaryExpr '!='\n"));
    CHECK(contains(exprDump("x.f(1)[2].g"), "MemberExpr '.g'\n    IndexExpr\n      CallExpr\n"
                                            "        MemberExpr '.f'\n"));
  }

  TEST_CASE("postfix expressions and tuple element access") {
    CHECK(
        contains(exprDump("t.0.1"), "MemberExpr '.1'\n    MemberExpr '.0'\n      NameExpr 't'\n"));
    CHECK(contains(exprDump("t.1.0.2"),
                   "MemberExpr '.2'\n    MemberExpr '.0'\n      MemberExpr '.1'\n"));
    CHECK(contains(exprDump("t[i, j]"), "IndexExpr\n    NameExpr 't'\n    index: NameExpr 'i'\n"
                                        "    index: NameExpr 'j'\n"));
    CHECK(contains(exprDump("t[0..<10]"), "index: BinaryExpr '..<'"));
    CHECK(contains(exprDump("f(x)(y)"), "CallExpr\n    CallExpr\n      NameExpr 'f'\n"));

    Parsed p("let x = t.0.1\n");
    REQUIRE(p.ok);
    auto *outer = cast<MemberExpr>(p.letInit());
    auto *inner = cast<MemberExpr>(outer->base);
    CHECK(inner->memberLoc.col == 11);
    CHECK(outer->memberLoc.col == 13);
    CHECK(outer->loc.col == 9);
  }

  TEST_CASE("literals") {
    Parsed p("let a = 42\nlet b = 1_000\nlet c = 0x1F\nlet d = 3.0\nlet e = 1e-3\n"
             "let f = 2.5e+2\nlet g = \"a\\n\\t\\\\\\\"b\"\nlet h = true\nlet i = false\n"
             "let j = 18446744073709551615\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    CHECK(cast<IntLitExpr>(p.letInit(0))->value == 42);
    CHECK(cast<IntLitExpr>(p.letInit(1))->value == 1000);
    CHECK(cast<IntLitExpr>(p.letInit(1))->text == "1_000");
    CHECK(cast<IntLitExpr>(p.letInit(2))->value == 31);
    CHECK(cast<FloatLitExpr>(p.letInit(3))->value == 3.0);
    CHECK(cast<FloatLitExpr>(p.letInit(4))->value == doctest::Approx(1e-3));
    CHECK(cast<FloatLitExpr>(p.letInit(5))->value == 250.0);
    CHECK(cast<StringLitExpr>(p.letInit(6))->value == "a\n\t\\\"b");
    CHECK(cast<BoolLitExpr>(p.letInit(7))->value);
    CHECK(!cast<BoolLitExpr>(p.letInit(8))->value);
    CHECK(cast<IntLitExpr>(p.letInit(9))->value == UINT64_MAX);
  }

  TEST_CASE("names, self, tuples, arrays and explicit generic arguments") {
    CHECK(contains(exprDump("Adam<MLP>(model)"), "CallExpr\n    NameExpr 'Adam' <MLP>\n"));
    CHECK(contains(exprDump("Tensor<Int>([0, 2, 1])"),
                   "NameExpr 'Tensor' <Int>\n    ArrayLitExpr\n"));
    CHECK(contains(exprDump("a < b"), "BinaryExpr '<'"));
    CHECK(contains(exprDump("a < b > c"), "BinaryExpr '>'\n    BinaryExpr '<'"));
    CHECK(contains(exprDump("(a)"), "ParenExpr\n    NameExpr 'a'"));
    CHECK(contains(exprDump("(a, b)"), "TupleExpr\n    NameExpr 'a'\n    NameExpr 'b'"));
    CHECK(contains(exprDump("()"), "TupleExpr\n"));
    CHECK(contains(exprDump("[1.0, 2.0]"), "ArrayLitExpr\n    FloatLitExpr 1.0"));
    CHECK(contains(exprDump("[]"), "ArrayLitExpr\n"));
    CHECK(contains(exprDump("self.w"), "MemberExpr '.w'\n    SelfExpr\n"));
    CHECK(contains(exprDump("Self(x: 1)"), "NameExpr 'Self'"));
  }

  TEST_CASE("lambdas") {
    Parsed p("let f = |x: Float, y: Float| -> Float { return x * y }\n"
             "let g = |x| x * w\n"
             "let h = || 42\n"
             "let k = |a: inout Float| { a += 1 }\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    auto *f = cast<LambdaExpr>(p.letInit(0));
    CHECK(f->params.size() == 2);
    CHECK(f->params[0]->typeRepr != nullptr);
    CHECK(f->resultRepr != nullptr);
    CHECK(!f->expressionBody);
    auto *g = cast<LambdaExpr>(p.letInit(1));
    CHECK(g->expressionBody);
    CHECK(g->params[0]->typeRepr == nullptr);
    REQUIRE(g->body->stmts.size() == 1);
    auto *ret = cast<ReturnStmt>(g->body->stmts[0]);
    CHECK(ret->implicit);
    CHECK(isa<BinaryExpr>(ret->value));
    auto *h = cast<LambdaExpr>(p.letInit(2));
    CHECK(h->params.empty());
    CHECK(h->expressionBody);
    CHECK(cast<LambdaExpr>(p.letInit(3))->params[0]->isInout);
  }

  TEST_CASE("types in source syntax") {
    Parsed p(
        "fn f(a: Float, b: Tensor<Double>, c: S.Tangent, d: Self, e: [Float], g: (Int, Float),\n"
        "      h: (), i: (Int, Float) -> Bool, j: (inout Float) -> (), k: Tensor[B, 784],\n"
        "      l: Tensor<Double>[_, 10], m: (Float), n: [[Int]]) -> (Float) -> Float {}\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    std::string d = p.dump();
    for (const char *expected :
         {"type=Float\n", "type=Tensor<Double>\n", "type=S.Tangent\n", "type=Self\n",
          "type=[Float]\n", "type=(Int, Float)\n", "type=()\n", "type=(Int, Float) -> Bool\n",
          "type=(inout Float) -> ()\n", "type=Tensor[B, 784]\n", "type=Tensor<Double>[_, 10]\n",
          "'m' label='m' type=Float\n", "type=[[Int]]\n", "result: (Float) -> Float\n"})
      CHECK_MESSAGE(contains(d, expected), std::string(expected));
    auto *f = p.decl<FuncDecl>(0);
    auto *fnType = cast<FunctionTypeRepr>(f->params[8]->typeRepr);
    REQUIRE(fnType->paramInout.size() == 1);
    CHECK(fnType->paramInout[0]);
    auto *shaped = cast<ShapedTypeRepr>(f->params[9]->typeRepr);
    REQUIRE(shaped->dims.size() == 2);
    CHECK(shaped->dims[0].kind == ShapedTypeRepr::Dim::Kind::Variable);
    CHECK(shaped->dims[1].kind == ShapedTypeRepr::Dim::Kind::Literal);
    CHECK(shaped->dims[1].value == 784);
    CHECK(cast<ShapedTypeRepr>(f->params[10]->typeRepr)->dims[0].kind ==
          ShapedTypeRepr::Dim::Kind::Wildcard);
  }

  // --- Line breaks ----------------------------------------------------------------------

  TEST_CASE("a ( or [ opening a line does not continue the expression") {
    Parsed p("fn f() {\n"
             "  let a = b\n"
             "  (c, d) = (d, c)\n"
             "  let e = g\n"
             "  [1, 2]\n"
             "  let h = k(\n"
             "    1,\n"
             "    2)\n"
             "  let m = x\n"
             "    + y\n"
             "  return\n"
             "}\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    auto &stmts = p.decl<FuncDecl>(0)->body->stmts;
    REQUIRE(stmts.size() == 7);
    CHECK(isa<NameExpr>(cast<LetStmt>(stmts[0])->init));
    CHECK(isa<TupleExpr>(cast<AssignStmt>(stmts[1])->target));
    CHECK(isa<NameExpr>(cast<LetStmt>(stmts[2])->init));
    CHECK(isa<ArrayLitExpr>(cast<ExprStmt>(stmts[3])->expr));
    CHECK(isa<CallExpr>(cast<LetStmt>(stmts[4])->init));
    CHECK(isa<BinaryExpr>(cast<LetStmt>(stmts[5])->init));
  }

  TEST_CASE("return at the end of a line takes no value; @name opening a line is an attribute") {
    Parsed p("fn f() {\n  if a { return\n  }\n  return\n  g()\n}\n"
             "let y = a\n@inline fn h() {}\nlet z = a @ b\n");
    INFO(p.allErrors());
    REQUIRE(p.ok);
    auto &stmts = p.decl<FuncDecl>(0)->body->stmts;
    REQUIRE(stmts.size() == 3);
    CHECK(cast<ReturnStmt>(stmts[1])->value == nullptr);
    CHECK(isa<ExprStmt>(stmts[2]));
    REQUIRE(p.file.decls.size() == 2);
    CHECK(p.decl<FuncDecl>(1)->hasAttribute("inline"));
    CHECK(isa<BinaryExpr>(p.letInit(1)));
  }

  // --- Locations ------------------------------------------------------------------------

  TEST_CASE("source locations") {
    Parsed p("fn add(x: Int) -> Int {\n"
             "  y.z += f(x) * 2\n"
             "  return x\n"
             "}\n");
    REQUIRE(p.ok);
    auto *fn = p.decl<FuncDecl>(0);
    CHECK(fn->loc == SourceLoc{p.file.fileId, 1, 1});
    CHECK(fn->nameLoc == SourceLoc{p.file.fileId, 1, 4});
    CHECK(fn->params[0]->nameLoc == SourceLoc{p.file.fileId, 1, 8});
    CHECK(fn->body->loc == SourceLoc{p.file.fileId, 1, 23});
    CHECK(fn->body->endLoc == SourceLoc{p.file.fileId, 4, 1});
    auto *assign = cast<AssignStmt>(fn->body->stmts[0]);
    CHECK(assign->loc == SourceLoc{p.file.fileId, 2, 3});
    CHECK(assign->opLoc == SourceLoc{p.file.fileId, 2, 7});
    auto *member = cast<MemberExpr>(assign->target);
    CHECK(member->loc == SourceLoc{p.file.fileId, 2, 3});
    CHECK(member->memberLoc == SourceLoc{p.file.fileId, 2, 5});
    auto *mul = cast<BinaryExpr>(assign->value);
    CHECK(mul->loc == SourceLoc{p.file.fileId, 2, 15});
    CHECK(mul->opLoc == mul->loc);
    auto *call = cast<CallExpr>(mul->lhs);
    CHECK(call->loc == SourceLoc{p.file.fileId, 2, 10});
    CHECK(call->rparenLoc == SourceLoc{p.file.fileId, 2, 13});
    CHECK(mul->rhs->loc == SourceLoc{p.file.fileId, 2, 17});
    CHECK(fn->body->stmts[1]->loc == SourceLoc{p.file.fileId, 3, 3});
  }

  // --- Errors -----------------------------------------------------------------------------

  TEST_CASE("several syntax errors in one file, each at its line:col") {
    Parsed p("fn f(x: Float) -> Float {\n"
             "  let y = (x + \n"
             "  return y\n"
             "}\n"
             "fn g() { if x { } else }\n"
             "fn h() { let = 3 }\n"
             "fn k() {\n"
             "  let z = 1\n");
    CHECK(!p.ok);
    std::vector<std::string> errors = p.errors();
    INFO(p.allErrors());
    REQUIRE(errors.size() == 5);
    CHECK(errors[0] == "3:3: expected expression, found 'return'");
    CHECK(errors[1] == "4:1: expected ',' or ')', found '}'");
    CHECK(errors[2] == "5:24: expected 'if' or '{', found '}'");
    CHECK(errors[3] == "6:14: expected '(' or identifier, found '='");
    CHECK(errors[4] == "9:1: expected '}' at end of file");
    for (const Diagnostic &d : p.diags.emitted())
      CHECK(d.id == DiagId::err_syntax);
  }

  TEST_CASE("syntax error messages") {
    CHECK(Parsed("fn f() { else }\n").errors().at(0) == "1:10: unexpected 'else'");
    CHECK(Parsed("let x = \n").errors().at(0) == "2:1: expected expression, found end of file");
    CHECK(Parsed("fn f(x: ) {}\n").errors().at(0) == "1:9: expected type, found ')'");
    CHECK(Parsed("let x = f(1, 2\n").errors().at(0) == "2:1: expected ')' at end of file");
    CHECK(Parsed("let x = 1 $ 2\n").errors().at(0) == "1:11: unexpected character '$'");
    CHECK(Parsed("let s = \"abc\n").errors().at(0) == "1:9: unterminated string literal");
  }

  TEST_CASE("error recovery keeps the clean declarations") {
    Parsed p("fn good() { return 1 }\nfn bad() { let = }\nfn alsoGood() {}\n");
    CHECK(!p.ok);
    REQUIRE(p.file.decls.size() == 2);
    CHECK(p.file.decls[0]->name == "good");
    CHECK(p.file.decls[1]->name == "alsoGood");
  }

  TEST_CASE("lexical errors") {
    Parsed comment("fn f() {}\n/* open /* nested */ still open\nfn g() {}\n");
    CHECK(!comment.ok);
    REQUIRE(comment.errors().size() == 1);
    CHECK(comment.errors()[0] == "2:1: unterminated '/*' comment");
    CHECK(comment.hasDiag(DiagId::err_unterminated_comment));

    Parsed nested("/* a /* b */ c */ fn f() {}\n");
    CHECK(nested.ok);

    Parsed escape("let s = \"a\\qb\"\n");
    CHECK(!escape.ok);
    CHECK(escape.hasDiag(DiagId::err_bad_escape));
    CHECK(escape.errors().at(0) == "1:9: invalid escape sequence '\\q' in string literal");

    Parsed literal("let n = 18446744073709551616\nlet m = 0x1_0000_0000_0000_0000\n");
    CHECK(!literal.ok);
    REQUIRE(literal.errors().size() == 2);
    CHECK(literal.errors()[0] == "1:9: invalid integer literal '18446744073709551616'");
    CHECK(literal.hasDiag(DiagId::err_bad_literal));

    Parsed attr("@differentiable @fancy fn f() {}\n");
    CHECK(!attr.ok);
    CHECK(attr.hasDiag(DiagId::err_unknown_attribute));
    CHECK(attr.errors().at(0) == "1:18: unknown attribute '@fancy'");
  }

  TEST_CASE("misplaced self and bodies") {
    CHECK(Parsed("fn f(self) {}\n").errors().at(0) ==
          "1:6: only methods can take a 'self' parameter");
    CHECK(Parsed("struct S { fn f(x: Int, self) {} }\n").errors().at(0) ==
          "1:25: 'self' must be the first parameter");
    CHECK(!Parsed("trait T { fn f() {} }\n").ok);
    CHECK(!Parsed("fn f()\n").ok);
  }

  TEST_CASE("error count is capped") {
    std::string text;
    for (int i = 0; i < 100; ++i)
      text += "fn f( {\n";
    Parsed p(text);
    CHECK(!p.ok);
    CHECK(p.errors().size() <= 20);
    CHECK(p.errors().size() >= 10);
  }

  TEST_CASE("truncating a valid program at every character never crashes") {
    std::string program = kProgram;
    {
      Parsed whole(program);
      INFO(whole.allErrors());
      REQUIRE(whole.ok);
    }
    for (size_t n = 0; n < program.size(); ++n) {
      Parsed p(program.substr(0, n));
      // Either it parses, or it says why.
      CHECK((p.ok || p.diags.hasErrors()));
      (void)p.dump();
    }
  }

  TEST_CASE("hostile input is rejected, not crashed on") {
    std::vector<std::string> inputs = {
        std::string(5000, '('),
        "let x = " + std::string(20000, '-') + "1\n",
        "let x = " + std::string(3000, '[') + "\n",
        "fn f() {" + std::string(3000, '{') + std::string(3000, '}') + "}\n",
        std::string(200, '/') + std::string(300, '*'),
        "/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*/*",
        std::string("\0\x01\xff\xfe fn \xc3\xa9 ()", 14),
        "fn f() { t.1e5 + t.0x1 }",
        "@ @ @ fn fn fn struct { } } ) ] |||| ?: ..< ... -> \"",
    };
    unsigned seed = 12345;
    const std::string alphabet = "fn let (){}[]<>|&@.,:;=+-*/\"!?x1_ \n";
    for (int i = 0; i < 200; ++i) {
      std::string s;
      for (int j = 0; j < 60; ++j) {
        seed = seed * 1103515245 + 12345;
        s += alphabet[(seed >> 16) % alphabet.size()];
      }
      inputs.push_back(s);
    }
    for (const std::string &input : inputs) {
      Parsed p(input);
      CHECK((p.ok || p.diags.hasErrors()));
      (void)p.dump();
    }
  }

  // --- Dump ------------------------------------------------------------------------------

  TEST_CASE("dump is deterministic and names every construct") {
    Parsed a(kProgram);
    Parsed b(kProgram);
    REQUIRE(a.ok);
    std::string d = a.dump();
    CHECK(d == b.dump());
    for (const char *expected : {"ImportDecl 'nn'",
                                 "ImportDecl \"lib/util.dl\"",
                                 "StructDecl 'Dense' : Layer",
                                 "VarDecl 'useBias' var field#2 type=Bool @noDerivative",
                                 "FuncDecl 'init' [Init]",
                                 "FuncDecl 'call' [Method] @differentiable",
                                 "ParamDecl 'self' self",
                                 "FuncDecl 'scale' [Method] mutating",
                                 "ParamDecl 's' label='by' type=Float",
                                 "FuncDecl 'identity' [Method] static",
                                 "TraitDecl 'Layer' : Differentiable",
                                 "FuncDecl 'call' [Requirement]",
                                 "FuncDecl 'clock_ms' [Extern]",
                                 "@vjp(of: softplus)",
                                 "GenericParamDecl 'L' : Layer",
                                 "LetStmt let",
                                 "LetStmt var",
                                 "TuplePattern",
                                 "IdentPattern 'loss'",
                                 "ForInStmt",
                                 "in: BinaryExpr '..<'",
                                 "LambdaExpr expression-body",
                                 "ReturnStmt implicit",
                                 "InOutExpr",
                                 "for: NameExpr 'model'",
                                 "StringLitExpr \"train\"",
                                 "FloatLitExpr 0.05",
                                 "IntLitExpr 1000 '1_000'",
                                 "IntLitExpr 31 '0x1F'",
                                 "AssignStmt '+='",
                                 "AssignStmt '-='",
                                 "WhileStmt",
                                 "UnaryExpr '!'",
                                 "IfStmt",
                                 "else: IfStmt",
                                 "BreakStmt",
                                 "TernaryExpr",
                                 "BoolLitExpr true",
                                 "MemberExpr '.0'",
                                 "IndexExpr",
                                 "TupleExpr",
                                 "ArrayLitExpr"})
      CHECK_MESSAGE(contains(d, expected), std::string(expected));
    CHECK(std::string(kindName(NodeKind::ShapedTypeRepr)) == "ShapedTypeRepr");
    CHECK(std::string(binaryOpSpelling(BinaryOp::HalfOpenRange)) == "..<");
  }

} // TEST_SUITE("parser")

// --- Module loader ------------------------------------------------------------------------

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("dlc-parser-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string &name, const std::string &text) const {
    std::filesystem::path file = path / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }
  static inline int counter = 0;
};

} // namespace

TEST_SUITE("module loader") {

  TEST_CASE("imports load once, dependencies first, cycles are harmless") {
    TempDir dir;
    std::string main =
        dir.write("main.dl", "import \"lib/a.dl\"\nimport \"lib/b.dl\"\nfn main() {}\n");
    dir.write("lib/a.dl", "import \"b.dl\"\nfn a() {}\n");
    dir.write("lib/b.dl", "import \"../main.dl\"\nimport \"a.dl\"\nfn b() {}\n");
    SourceManager sources;
    DiagEngine diags(sources);
    diags.setSilent(true);
    Program program;
    bool ok = loadProgram(sources, main, diags, program);
    INFO(diags.emitted().size());
    CHECK(ok);
    REQUIRE(program.files.size() == 3);
    // The derivative rules are registered, not parsed: sema parses them
    // when a program differentiates tensors.
    CHECK(program.derivativeRulesFile != 0);
    CHECK(sources.name(program.derivativeRulesFile) == kDerivativeRulesPath);
    CHECK(program.files[0]->decls.back()->name == "b");
    CHECK(program.files[1]->decls.back()->name == "a");
    CHECK(program.mainFile == program.files[2].get());
    CHECK(program.mainFile->decls.back()->name == "main");
  }

  TEST_CASE("standard-library modules are embedded") {
    TempDir dir;
    std::string main = dir.write("main.dl", "import nn\nimport nn\nfn main() {}\n");
    SourceManager sources;
    DiagEngine diags(sources);
    diags.setSilent(true);
    Program program;
    CHECK(loadProgram(sources, main, diags, program));
    CHECK(diags.emitted().empty());
    // nn once (after data, which it imports), then main.
    REQUIRE(program.files.size() == 3);
    CHECK(program.files[0]->path == "<stdlib>/data.dl");
    CHECK(program.files[1]->path == "<stdlib>/nn.dl");
    bool hasMse = false;
    for (Decl *d : program.files[1]->decls)
      hasMse |= d->name == "mse";
    CHECK(hasMse);
  }

  TEST_CASE("missing imports and files") {
    TempDir dir;
    std::string main = dir.write("main.dl", "import nothere\nimport \"nowhere.dl\"\nfn main() {}\n");
    SourceManager sources;
    DiagEngine diags(sources);
    diags.setSilent(true);
    Program program;
    CHECK(!loadProgram(sources, main, diags, program));
    REQUIRE(diags.emitted().size() == 2);
    CHECK(diags.emitted()[0].id == DiagId::err_import_not_found);
    CHECK(diags.emitted()[0].message == "cannot find module 'nothere'");
    CHECK(diags.emitted()[0].loc.line == 1);
    CHECK(diags.emitted()[1].id == DiagId::err_import_not_found);
    CHECK(diags.emitted()[1].loc.line == 2);
    REQUIRE(program.mainFile != nullptr);

    Program missing;
    diags.clearHistory();
    CHECK(!loadProgram(sources, (dir.path / "absent.dl").string(), diags, missing));
    REQUIRE(diags.emitted().size() == 1);
    CHECK(diags.emitted()[0].id == DiagId::err_cannot_open_file);
    CHECK(!diags.emitted()[0].loc.isValid());
    CHECK(diags.emitted()[0].message.find("No such file or directory") != std::string::npos);
    CHECK(missing.mainFile == nullptr);
  }

  TEST_CASE("loading from a buffer") {
    SourceManager sources;
    DiagEngine diags(sources);
    diags.setSilent(true);
    Program program;
    uint32_t id = sources.addBuffer("<repl>", "let x = 1 + 2\n");
    CHECK(loadProgramFromBuffer(sources, id, diags, program));
    REQUIRE(program.mainFile != nullptr);
    CHECK(program.mainFile->topLevelStmts.size() == 1);
  }

} // TEST_SUITE("module loader")
