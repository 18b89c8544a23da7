// Semantic analysis: name resolution, type checking and inference, overload
// resolution, mutability and definite-initialization checks. Annotates the
// AST in place (types, resolved names, call targets) for lowering.
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "sema/Type.h"

#include <map>
#include <vector>

namespace dlc::sema {

/// What lowering needs besides the annotated AST.
struct CheckedProgram {
  /// Every function to compile: top-level functions, methods, inits and
  /// extern declarations, in source order.
  std::vector<ast::FuncDecl *> functions;
  std::vector<ast::StructDecl *> structs;
  ast::FuncDecl *main = nullptr; // null when the program has no `fn main()`

  // Differentiation (LANGUAGE.md §5.3, §5.4).
  struct Contract {
    SourceLoc loc;         // of the @differentiable attribute
    std::vector<bool> wrt; // per parameter
  };
  std::map<const ast::FuncDecl *, Contract> contracts;
  std::map<const ast::FuncDecl *, const ast::FuncDecl *> customVJP; // f -> its @vjp
  std::map<const ast::FuncDecl *, const ast::FuncDecl *> customJVP; // f -> its @jvp
  std::map<const ast::FuncDecl *, std::vector<bool>> noDerivativeParams;
  /// Rules of stdlib/derivatives.dl made for this program (Note [Derivative
  /// rules in DL] in sema/DerivativeRules.cpp).
  struct TensorRule {
    std::string op;        // the tensor operation's name in ir/TensorOps.def
    const Type *element;   // Float or Double
    bool isVJP;            // else a JVP
    bool takesResult;      // a @vjp with a `result` parameter before the seed
    ast::FuncDecl *fn;
  };
  std::vector<TensorRule> tensorRules;
};

/// Checks `program`. Returns false when any error was reported.
bool check(ast::Program &program, TypeContext &types, DiagEngine &diags, CheckedProgram &out);

} // namespace dlc::sema
