// The derivative rules of the prelude's tensor operations written in DL
// (stdlib/derivatives.dl).
//
// Note [Derivative rules in DL]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Every program registers stdlib/derivatives.dl (frontend/ModuleLoader.cpp),
// and sema parses it once the program turns out to differentiate tensors.
// Its functions are generic over the element type and carry `@vjp(of: op)` or
// `@jvp(of: op)` naming a builtin or an operator. They are not in the program's scope (a
// user's `expVJP` does not clash with them), and inside them every name
// that is not local resolves to the builtin, never to a user's function of
// the same name.
//
//  * Sema makes each rule for Float and for Double, when the program has
//    tensors of that element type and differentiates anything (an AD
//    operator or a `@differentiable` contract), and matches its signature
//    against the forms of its builtin or operator (`sum(x)`, `sum(x, axis:,
//    keepDims:)`, `a * b`, …, see kForms) to learn which tensor operation
//    (ir/TensorOps.def) it is for. A rule that matches no form is reported
//    like a user's `@vjp` with the wrong signature.
//  * A @vjp may take the operation's result, as a parameter labelled
//    `result` between the operands and the seed (`fn reluVJP<T>(x:
//    Tensor<T>, result y: Tensor<T>, seed: Tensor<T>)`): reverse mode then
//    saves the result for it (Function::ruleTakesResult), which spares
//    recomputing an activation and often saving its operand.
//  * The instances are ordinary functions from then on; lowering records
//    them in ir::Module::tensorRules and marks them Function::isRule.
//  * AD calls the rule where it differentiates the operation
//    (ad/TensorRules.cpp), and ir/Inline.cpp inlines every call of a rule
//    before fusion, dropping what the caller does not use (the cotangent of
//    an operand that needs none) and the rules nobody calls.
//  * A rule is an ordinary DL function, so higher orders differentiate it
//    like any other; the operations it uses have rules of their own.
#include "sema/SemaImpl.h"

#include "frontend/ModuleLoader.h"
#include "frontend/Parser.h"

namespace dlc::sema {

namespace {

/// How a builtin's tensor form takes its operands (T the element type).
enum class Form {
  Unary,      // (Tensor<T>) -> Tensor<T>
  Reduce,     // (Tensor<T>) -> T
  ReduceAxis, // (Tensor<T>, axis: Int, keepDims: Bool) -> Tensor<T>
  Binary,     // (Tensor<T>, Tensor<T>) -> Tensor<T>
  Select,     // (Tensor<Bool>, Tensor<T>, Tensor<T>) -> Tensor<T>
  Shape,      // (Tensor<T>, [Int]) -> Tensor<T>
  Axis,       // (Tensor<T>, Int) -> Tensor<T>
};

struct RuleForm {
  const char *builtin; // the name written after `of:`
  Form form;
  const char *op;      // the tensor operation (TensorOps.def's name)
};

constexpr RuleForm kForms[] = {
    {"+", Form::Binary, "add"},
    {"-", Form::Binary, "sub"},
    {"-", Form::Unary, "neg"},
    {"*", Form::Binary, "mul"},
    {"/", Form::Binary, "div"},
    {"exp", Form::Unary, "exp"},
    {"log", Form::Unary, "log"},
    {"log1p", Form::Unary, "log1p"},
    {"sqrt", Form::Unary, "sqrt"},
    {"rsqrt", Form::Unary, "rsqrt"},
    {"abs", Form::Unary, "abs"},
    {"sin", Form::Unary, "sin"},
    {"cos", Form::Unary, "cos"},
    {"tanh", Form::Unary, "tanh"},
    {"sigmoid", Form::Unary, "sigmoid"},
    {"relu", Form::Unary, "relu"},
    {"pow", Form::Binary, "pow"},
    {"max", Form::Binary, "max"},
    {"min", Form::Binary, "min"},
    {"sum", Form::Reduce, "sum"},
    {"sum", Form::ReduceAxis, "sum.axis"},
    {"mean", Form::Reduce, "mean"},
    {"mean", Form::ReduceAxis, "mean.axis"},
    {"logSumExp", Form::Reduce, "logsumexp"},
    {"logSumExp", Form::ReduceAxis, "logsumexp.axis"},
    {"max", Form::Reduce, "max.all"},
    {"max", Form::ReduceAxis, "max.axis"},
    {"min", Form::Reduce, "min.all"},
    {"min", Form::ReduceAxis, "min.axis"},
    {"matmul", Form::Binary, "matmul"},
    {"transpose", Form::Unary, "transpose"},
    {"where", Form::Select, "where"},
    {"reshape", Form::Shape, "reshape"},
    {"flatten", Form::Axis, "flatten"},
    {"unsqueeze", Form::Axis, "unsqueeze"},
};

} // namespace

bool Sema::inDerivativeRules() const {
  return rulesFile && !funcs.empty() && funcs.front().decl &&
         funcs.front().decl->loc.file == *rulesFile;
}

void Sema::instantiateTensorRules() {
  if (program.derivativeRulesFile == 0 || (!usesAD && out.contracts.empty()))
    return;
  // Only for the element types of the program's tensors: a program without
  // Tensor<Double> needs no rule for it, one without tensors not the module.
  std::vector<const Type *> elements;
  for (const Type *e : {types.floatType(), types.doubleType()})
    if (types.hasTensorType(e))
      elements.push_back(e);
  if (elements.empty())
    return;
  auto owned = std::make_unique<SourceFile>();
  SourceFile *file = owned.get();
  file->fileId = program.derivativeRulesFile;
  file->path = kDerivativeRulesPath;
  if (!parseSourceFile(diags.sourceManager(), file->fileId, program.context, diags, *file))
    return;
  program.files.push_back(std::move(owned));
  rulesFile = file->fileId;
  for (Decl *d : file->decls) {
    auto *g = dynCast<FuncDecl>(d);
    if (!g)
      continue;
    const Attribute *attr = nullptr;
    for (const Attribute &a : g->attributes)
      if (a.name == "vjp" || a.name == "jvp")
        attr = &a;
    if (!attr || attr->args.size() != 1 || g->genericParams.size() != 1) {
      diags.report(DiagId::err_custom_derivative_of, g->nameLoc, {"vjp"});
      continue;
    }
    bool isVJP = attr->name == "vjp";
    const std::string &of = attr->args[0].value;
    for (const Type *elem : elements) {
      FuncDecl *inst = instantiateFunction(g, {elem}, g->nameLoc);
      if (!inst)
        continue;
      const Type *tt = types.tensorType(elem);
      std::string expected;
      bool matched = false;
      for (const RuleForm &rf : kForms) {
        if (of != rf.builtin)
          continue;
        std::vector<const Type *> params;
        const Type *result = tt;
        unsigned tensors = 1;
        switch (rf.form) {
        case Form::Unary:
          params = {tt};
          break;
        case Form::Reduce:
          params = {tt};
          result = elem;
          break;
        case Form::ReduceAxis:
          params = {tt, types.intType(), types.boolType()};
          break;
        case Form::Binary:
          params = {tt, tt};
          tensors = 2;
          break;
        case Form::Select:
          params = {types.tensorType(types.boolType()), tt, tt};
          tensors = 2;
          break;
        case Form::Shape:
          params = {tt, types.arrayType(types.intType())};
          break;
        case Form::Axis:
          params = {tt, types.intType()};
          break;
        }
        std::vector<const Type *> tangents(tensors, tt);
        const Type *ruleType;
        // A @vjp may take the operation's result too, as a parameter labelled
        // `result` before the seed (`relu`'s derivative is step(y)): the tape
        // then keeps the result instead of recomputing it, and the operand
        // may be left out of the tape altogether.
        size_t operands = params.size();
        bool takesResult = isVJP && g->params.size() == operands + 2 &&
                           g->params[operands]->label == "result";
        if (isVJP) {
          if (takesResult)
            params.push_back(result);
          params.push_back(result);
          ruleType = types.functionType(
              params, tensors == 1 ? static_cast<const Type *>(tt) : types.tupleType(tangents));
        } else {
          params.insert(params.end(), tangents.begin(), tangents.end());
          ruleType = types.functionType(params, types.tupleType({result, result}));
        }
        if (inst->type == ruleType) {
          out.tensorRules.push_back({rf.op, elem, isVJP, takesResult, inst});
          matched = true;
          break;
        }
        expected += (expected.empty() ? "" : " or ") + ruleType->str();
      }
      if (!matched)
        diags.report(DiagId::err_custom_derivative_signature, g->nameLoc,
                     {"@" + attr->name, g->name, of,
                      expected.empty() ? "a tensor operation" : expected});
    }
  }
}

} // namespace dlc::sema
