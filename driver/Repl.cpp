// `dlc repl` (LANGUAGE.md §9): reads inputs, compiles each with the session's
// declarations through the whole pipeline, and runs it on the ORC JIT. See
// Note [REPL lines].
//
// Note [REPL lines]
// The session is a list of accepted declaration inputs and a list of
// variables, each in a slot: memory the JIT owns that holds the variable's
// value between lines. Every input is compiled as a whole program: the
// declarations accepted so far (less those a later input redefines), the
// input's own, and a generated function
//
//   fn __repl_line(__s0: inout Float, __s1: inout Tensor, __s2: inout Float) {
//     var x = __s0        // a `var` of the session
//     let w = __s1        // a `let` of the session
//     <the input's statements, as parsed from what the user typed>
//     __s0 = x            // vars are stored back,
//     __s2 = y            // and so are the input's new variables
//   }
//
// Codegen wraps it in `__dl_repl_entry(slots)`, which loads each parameter
// from its slot and stores its new value back (codegen/LowerModule.cpp).
// Values are stored only when the line finishes, so a runtime error part-way
// (caught by dlrt_call_trapping) leaves every variable as it was. An input
// that declares variables or is an expression is checked twice: first to learn
// the types of its variables and of its value, then compiled with their slots
// and with the expression wrapped in `print(value, ": T")`.
#include "driver/Repl.h"

#include "ad/AD.h"
#include "codegen/Codegen.h"
#include "driver/LineEditor.h"
#include "frontend/Diagnostics.h"
#include "frontend/ModuleLoader.h"
#include "frontend/Parser.h"
#include "ir/Fusion.h"
#include "ir/Inline.h"
#include "ir/InPlace.h"
#include "ir/Lower.h"
#include "ir/Ownership.h"
#include "ir/Verifier.h"
#include "runtime/dlrt.h"
#include "sema/Sema.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace dlc::driver {

namespace {

using namespace dlc::ast;

const char *kReplHelp = R"(Enter a declaration, a statement or an expression; an expression prints
its value and type. Input continues over several lines while a bracket is open.
Commands:
  :help          this text
  :type EXPR     the type of EXPR, without running it
  :ir NAME       the IR of function NAME and of its derivatives
  :load FILE     the declarations of FILE (call main() to run its main)
  :reset         forget every declaration and variable
  :quit          leave (so does end of input)
)";

/// A session variable and the slot that holds its value between lines.
struct Var {
  std::string name;
  std::string typeText; // as sema spells it; parsed back in the line's signature
  bool isMutable = false;
  void *slot = nullptr;
};

/// An accepted input with declarations, and the names it declares.
struct DeclInput {
  uint32_t fileId = 0;
  std::set<std::string> names;
  bool hasImports = false; // kept while it imports, even once its names are redefined
};

/// The parameters and fixed statements of one `__repl_line`.
struct Glue {
  struct Param {
    std::string typeText;
    std::string local;   // the session variable it opens as (empty: none)
    bool isMutable = false;
    std::string storeFrom; // the local stored back at the end (empty: none)
  };
  std::vector<Param> params;
  std::string extraBody; // generated statements after the input's (for :ir)

  size_t prologueCount() const {
    size_t n = 0;
    for (const Param &p : params)
      n += !p.local.empty();
    return n;
  }

  std::string text() const {
    std::string s = "fn __repl_line(";
    for (size_t i = 0; i < params.size(); ++i)
      s += (i ? ", " : "") + std::string("__s") + std::to_string(i) + ": inout " +
           params[i].typeText;
    s += ") {\n";
    for (size_t i = 0; i < params.size(); ++i)
      if (!params[i].local.empty())
        s += std::string(params[i].isMutable ? "var " : "let ") + params[i].local + " = __s" +
             std::to_string(i) + "\n";
    s += extraBody;
    for (size_t i = 0; i < params.size(); ++i)
      if (!params[i].storeFrom.empty())
        s += "__s" + std::to_string(i) + " = " + params[i].storeFrom + "\n";
    return s + "}\n";
  }
};

/// One input compiled with the session: its AST, types and checked program.
struct Compiled {
  Program program;
  sema::TypeContext types;
  sema::CheckedProgram checked;
  std::vector<Stmt *> userStmts; // the input's statements, inside __repl_line
  bool ok = false;
};

void collectPatternVars(Pattern *p, std::vector<VarDecl *> &out) {
  if (auto *ident = dynCast<IdentPattern>(p))
    out.push_back(ident->var);
  else if (auto *tuple = dynCast<TuplePattern>(p))
    for (Pattern *e : tuple->elements)
      collectPatternVars(e, out);
}

/// The variables an input's top-level statements declare, in order.
std::vector<VarDecl *> declaredVars(const std::vector<Stmt *> &stmts) {
  std::vector<VarDecl *> vars;
  for (Stmt *s : stmts)
    if (auto *let = dynCast<LetStmt>(s))
      collectPatternVars(let->pattern, vars);
  return vars;
}

/// The first `return` among `stmts` outside any function (a REPL line is
/// not one), or null.
const Stmt *findReturn(const std::vector<Stmt *> &stmts) {
  std::function<const Stmt *(const Stmt *)> walk = [&](const Stmt *s) -> const Stmt * {
    if (!s)
      return nullptr;
    if (isa<ReturnStmt>(s))
      return s;
    if (auto *b = dynCast<BlockStmt>(s)) {
      for (const Stmt *inner : b->stmts)
        if (const Stmt *r = walk(inner))
          return r;
    } else if (auto *i = dynCast<IfStmt>(s)) {
      if (const Stmt *r = walk(i->thenBlock))
        return r;
      return walk(i->elseStmt);
    } else if (auto *w = dynCast<WhileStmt>(s)) {
      return walk(w->body);
    } else if (auto *f = dynCast<ForInStmt>(s)) {
      return walk(f->body);
    }
    return nullptr;
  };
  for (const Stmt *s : stmts)
    if (const Stmt *r = walk(s))
      return r;
  return nullptr;
}

/// True when `text` mentions `name` as a whole identifier.
bool mentions(const std::string &text, const std::string &name) {
  auto isIdent = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    bool startOk = at == 0 || !isIdent(text[at - 1]);
    size_t end = at + name.size();
    if (startOk && (end == text.size() || !isIdent(text[end])))
      return true;
  }
  return false;
}

/// How many brackets `text` leaves open (strings and comments skipped).
int openBrackets(const std::string &text) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n')
        ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      size_t end = text.find("*/", i + 2);
      if (end == std::string::npos)
        return depth + 1; // an open comment continues too
      i = end + 1;
    } else if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    }
  }
  return depth;
}

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return "";
  size_t e = s.find_last_not_of(" \t\r\n;");
  return s.substr(b, e - b + 1);
}

class Session {
public:
  explicit Session(const ReplOptions &opts) : opts(opts), diags(sources) {
    diags.setSilent(true);
    diags.setFormat(opts.jsonDiagnostics ? DiagEngine::Format::Json : DiagEngine::Format::Text);
    diags.setColor(!opts.jsonDiagnostics && isatty(STDERR_FILENO) && !getenv("NO_COLOR"));
    jit = codegen::ReplJIT::create(diags);
    flushDiagnostics(0);
  }

  bool started() const { return jit != nullptr; }

  /// Compiles and runs one complete input of the session's `<repl>` text
  /// starting at session line `line`. False when it reported an error.
  bool input(const std::string &text, unsigned line) {
    // Pad with newlines so that diagnostics give the session's line numbers.
    uint32_t fileId = sources.addBuffer("<repl>", std::string(line - 1, '\n') + text);
    return run(fileId);
  }

  /// `:load FILE`: its declarations (and any top-level statements) as one input.
  bool load(const std::string &path) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      commandError("cannot open '" + path + "': it is a directory");
      return false;
    }
    errno = 0;
    std::string error;
    uint32_t fileId = sources.loadFile(path, error);
    if (fileId == 0) {
      int code = errno;
      commandError(error + (code ? std::string(": ") + strerror(code) : std::string()));
      return false;
    }
    return run(fileId);
  }

  /// `:type EXPR`.
  bool showType(const std::string &text, unsigned line) {
    uint32_t fileId = sources.addBuffer("<repl>", std::string(line - 1, '\n') + text);
    Compiled c;
    bool ok = compile(fileId, glueFor({}, false), nullptr, c);
    if (flushDiagnostics(fileId, /*warnings=*/false) > 0 || !ok)
      return false;
    if (c.userStmts.size() != 1 || !isa<ExprStmt>(c.userStmts[0])) {
      commandError("':type' takes one expression");
      return false;
    }
    printf("%s : %s\n", trim(text).c_str(), cast<ExprStmt>(c.userStmts[0])->expr->type->str().c_str());
    fflush(stdout);
    return true;
  }

  /// `:ir NAME`: the DIR of NAME and of the derivatives the session's code
  /// asks for, plus its gradient or tangent where NAME has one.
  bool showIR(const std::string &name) {
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0]))) {
      commandError("':ir' takes the name of a function");
      return false;
    }
    std::unique_ptr<Compiled> best;
    std::unique_ptr<ir::Module> module;
    // Ask for the derivatives too where NAME has them; fall back to fewer.
    for (const char *extra : {"let _ = valueAndGrad(%)\nlet _ = jvp(%)\n",
                              "let _ = vjp(%)\nlet _ = jvp(%)\n", "let _ = vjp(%)\n",
                              "let _ = jvp(%)\n", ""}) {
      std::string body;
      for (const char *p = extra; *p; ++p)
        body += *p == '%' ? name : std::string(1, *p);
      auto c = std::make_unique<Compiled>();
      Glue glue = glueFor({}, false);
      glue.extraBody = body;
      bool ok = compile(0, glue, nullptr, *c);
      auto m = std::make_unique<ir::Module>();
      if (ok)
        ok = lowerAndDifferentiate(*c, *m);
      if (ok) {
        best = std::move(c);
        module = std::move(m);
      }
      diags.clearHistory(); // a form NAME does not allow is no error
      diags.resetCounts();
      if (module)
        break;
    }
    if (!module) {
      commandError("the session's declarations do not compile");
      return false;
    }
    std::string text;
    for (const ir::Function &f : module->functions) {
      bool match = f.name == name ||
                   (f.name.size() > name.size() && f.name.compare(0, name.size(), name) == 0 &&
                    !std::isalnum(static_cast<unsigned char>(f.name[name.size()])) &&
                    f.name[name.size()] != '_');
      if (match)
        text += ir::print(*module, f);
    }
    if (text.empty()) {
      commandError("no function named '" + name + "'");
      return false;
    }
    fputs(text.c_str(), stdout);
    fflush(stdout);
    return true;
  }

  void reset() {
    decls.clear();
    vars.clear(); // their slots stay with the JIT, unreferenced
  }

  void commandError(const std::string &message) {
    fflush(stdout);
    fprintf(stderr, "error: %s\n", message.c_str());
    fflush(stderr);
  }

private:
  /// The glue for the session's variables; `exclude` are names the input
  /// declares again (their old variables are not opened).
  Glue glueFor(const std::set<std::string> &exclude, bool storeBack) const {
    Glue glue;
    for (const Var &v : vars) {
      if (exclude.count(v.name))
        continue;
      Glue::Param p;
      p.typeText = v.typeText;
      p.local = v.name;
      p.isMutable = v.isMutable;
      if (storeBack && v.isMutable)
        p.storeFrom = v.name;
      glue.params.push_back(p);
    }
    return glue;
  }

  /// Prints the diagnostics emitted so far and forgets them: every error, and
  /// warnings only in `warnFile` (old inputs' warnings were shown already).
  /// Returns the number of errors.
  unsigned flushDiagnostics(uint32_t warnFile, bool warnings = true) {
    unsigned errors = 0;
    fflush(stdout);
    for (const Diagnostic &d : diags.emitted()) {
      if (d.severity == Severity::Error)
        ++errors;
      else if (!warnings || d.loc.file != warnFile || warnFile == 0)
        continue;
      std::string text =
          opts.jsonDiagnostics ? diags.renderJson(d) : diags.renderText(d);
      fputs(text.c_str(), stderr);
    }
    fflush(stderr);
    diags.clearHistory();
    diags.resetCounts();
    return errors;
  }

  /// Parses the session's declarations, input `inputFile` (0: none) and
  /// `glue` into one program, moves the input's statements into the glue's
  /// function (wrapping the last in `print(value, ": T")` when `exprType` is
  /// set) and type-checks it. Diagnostics stay pending (flushDiagnostics).
  bool compile(uint32_t inputFile, const Glue &glue, const std::string *exprType, Compiled &c) {
    uint32_t glueFile = sources.addBuffer("<repl-glue>", glue.text());
    std::vector<uint32_t> files;
    for (const DeclInput &d : decls)
      files.push_back(d.fileId);
    if (inputFile)
      files.push_back(inputFile);
    files.push_back(glueFile);
    if (!loadProgramFromBuffers(sources, files, diags, c.program))
      return false;

    // Earlier inputs contribute their declarations only: their statements ran.
    for (auto &file : c.program.files)
      if (file->fileId != inputFile)
        file->topLevelStmts.clear();

    // Drop declarations that a later input redefines.
    std::set<std::string> inputNames;
    for (auto &file : c.program.files)
      if (file->fileId == inputFile)
        for (Decl *d : file->decls)
          if (!isa<ImportDecl>(d))
            inputNames.insert(d->name);
    for (auto &file : c.program.files) {
      size_t index = decls.size();
      for (size_t k = 0; k < decls.size(); ++k)
        if (decls[k].fileId == file->fileId)
          index = k;
      if (index == decls.size())
        continue;
      std::vector<Decl *> kept;
      for (Decl *d : file->decls) {
        bool redefined = !isa<ImportDecl>(d) && inputNames.count(d->name);
        for (size_t later = index + 1; later < decls.size() && !redefined; ++later)
          redefined = !isa<ImportDecl>(d) && decls[later].names.count(d->name);
        if (!redefined)
          kept.push_back(d);
      }
      file->decls = kept;
    }

    // Move the input's statements into __repl_line.
    FuncDecl *line = nullptr;
    SourceFile *input = nullptr;
    for (auto &file : c.program.files) {
      if (file->fileId == glueFile)
        for (Decl *d : file->decls)
          if (auto *f = dynCast<FuncDecl>(d); f && f->name == "__repl_line")
            line = f;
      if (inputFile && file->fileId == inputFile)
        input = file.get();
    }
    if (!line || !line->body) {
      diags.report(DiagId::err_codegen, {}, {"internal error: the REPL's glue does not parse"});
      return false;
    }
    if (input) {
      c.userStmts = input->topLevelStmts;
      input->topLevelStmts.clear();
      if (const Stmt *r = findReturn(c.userStmts)) {
        diags.report(DiagId::err_repl_return, r->loc);
        return false;
      }
    }
    if (exprType && !c.userStmts.empty()) {
      auto *last = cast<ExprStmt>(c.userStmts.back());
      auto *call = c.program.context.make<CallExpr>(last->expr->loc);
      auto *callee = c.program.context.make<NameExpr>(last->expr->loc);
      callee->name = "print";
      auto *label = c.program.context.make<StringLitExpr>(last->expr->loc);
      label->value = ": " + *exprType;
      call->callee = callee;
      call->args = {Argument{"", {}, last->expr}, Argument{"", {}, label}};
      call->rparenLoc = last->expr->loc;
      last->expr = call;
    }
    auto &body = line->body->stmts;
    body.insert(body.begin() + long(glue.prologueCount()), c.userStmts.begin(),
                c.userStmts.end());

    c.ok = sema::check(c.program, c.types, diags, c.checked);
    c.checked.main = nullptr; // a `main` of the session is an ordinary function
    return c.ok;
  }

  /// Lowers a checked program and runs differentiation and the ownership
  /// passes, marking __repl_line for codegen.
  bool lowerAndDifferentiate(Compiled &c, ir::Module &module) {
    module.types = &c.types;
    module.sources = &sources;
    ir::lower(c.checked, module);
    if (!ir::verify(module).empty() || !ad::differentiate(module, diags) ||
        !ir::verify(module).empty()) {
      if (diags.errorCount() == 0)
        diags.report(DiagId::err_codegen, {}, {"internal error: invalid IR in the REPL line"});
      return false;
    }
    ir::inlineRules(module);
    ir::inlineSmallFunctions(module);
    ir::fuseElementwise(module);
    ir::markInPlaceUpdates(module);
    ir::insertRetainRelease(module);
    ir::FuncId lineId = module.lookup("__repl_line");
    if (!lineId.isValid())
      return false;
    module.function(lineId).isReplLine = true;
    return true;
  }

  /// Checks, compiles and runs input `fileId`; updates the session when it
  /// compiled (declarations) and ran (variables).
  bool run(uint32_t fileId) {
    // Parse alone first: syntax errors, and what the input declares.
    std::set<std::string> declNames, structNames;
    std::vector<std::string> newVarNames;
    bool hasStmts = false, hasDecls = false, hasImports = false;
    {
      Program alone;
      SourceFile file;
      if (!parseSourceFile(sources, fileId, alone.context, diags, file)) {
        flushDiagnostics(fileId);
        return false;
      }
      hasDecls = !file.decls.empty();
      for (Decl *d : file.decls) {
        if (isa<ImportDecl>(d)) {
          hasImports = true;
          continue;
        }
        declNames.insert(d->name);
        if (isa<StructDecl>(d))
          structNames.insert(d->name);
      }
      for (VarDecl *v : declaredVars(file.topLevelStmts))
        newVarNames.push_back(v->name);
      hasStmts = !file.topLevelStmts.empty();
      if (file.decls.empty() && !hasStmts)
        return true; // only comments
    }
    std::set<std::string> redeclared(newVarNames.begin(), newVarNames.end());

    // Pass 1: learn the types of the new variables and of the value.
    Glue glue = glueFor(redeclared, /*storeBack=*/true);
    std::optional<std::string> exprType;
    std::vector<Var> newVars; // without slots yet
    {
      Compiled probe;
      if (!compile(fileId, glue, nullptr, probe)) {
        // Warnings wait for an input that compiles (the value of the last
        // expression, say, is not unused: it is printed).
        flushDiagnostics(fileId, /*warnings=*/false);
        return false;
      }
      diags.clearHistory(); // warnings come with pass 2
      diags.resetCounts();
      for (VarDecl *v : declaredVars(probe.userStmts))
        newVars.push_back(Var{v->name, v->type->str(), v->isMutable, nullptr});
      if (!probe.userStmts.empty())
        if (auto *e = dynCast<ExprStmt>(probe.userStmts.back()))
          if (e->expr->type && !e->expr->type->isUnit())
            exprType = e->expr->type->str();
      // The new variables' slots: an old slot of the same type is reused (the
      // line's entry releases what it held); otherwise a new one.
      for (const Var &v : newVars) {
        Glue::Param p;
        p.typeText = v.typeText;
        p.storeFrom = v.name;
        glue.params.push_back(p);
      }
    }
    // Pass 2: compile with every slot and run.
    Compiled c;
    ir::Module module;
    bool ok = compile(fileId, glue, exprType ? &*exprType : nullptr, c) &&
              lowerAndDifferentiate(c, module);
    if (flushDiagnostics(fileId) > 0 || !ok)
      return false;

    std::vector<void *> slots;
    std::vector<Var> updated;
    for (const Var &v : vars)
      if (!redeclared.count(v.name)) {
        slots.push_back(v.slot);
        updated.push_back(v);
      }
    std::vector<size_t> newSlotIndex;
    for (const Var &v : newVars) {
      void *reuse = nullptr;
      for (const Var &old : vars)
        if (old.name == v.name && old.typeText == v.typeText)
          reuse = old.slot;
      newSlotIndex.push_back(slots.size());
      slots.push_back(reuse);
    }
    int status = jit->run(module, opts.optLevel, slots, diags);
    if (status < 0) {
      flushDiagnostics(fileId);
      return false;
    }

    // The declarations compiled: keep them, and forget variables whose
    // struct type was redefined, and inputs whose every declaration is.
    // Variables whose type is a struct this input redefines are forgotten:
    // their layout may have changed.
    auto withoutStale = [&](const std::vector<Var> &list) {
      std::vector<Var> still;
      for (const Var &v : list) {
        bool stale = false;
        for (const std::string &name : structNames)
          stale |= mentions(v.typeText, name);
        if (!stale)
          still.push_back(v);
      }
      return still;
    };
    if (hasDecls) {
      for (DeclInput &d : decls)
        for (const std::string &n : declNames)
          d.names.erase(n);
      std::vector<DeclInput> kept;
      for (DeclInput &d : decls)
        if (!d.names.empty() || d.hasImports)
          kept.push_back(d);
      decls = kept;
      decls.push_back(DeclInput{fileId, declNames, hasImports});
    }
    if (status != 0) {
      // The declarations stay; no variable changed, none was redeclared.
      vars = withoutStale(vars);
      return false;
    }
    updated = withoutStale(updated);
    for (size_t i = 0; i < newVars.size(); ++i) {
      newVars[i].slot = slots[newSlotIndex[i]];
      updated.push_back(newVars[i]);
    }
    vars = updated;
    return true;
  }

  ReplOptions opts;
  SourceManager sources;
  DiagEngine diags;
  std::unique_ptr<codegen::ReplJIT> jit;
  std::vector<DeclInput> decls;
  std::vector<Var> vars;
};

} // namespace

int runRepl(const ReplOptions &opts) {
  LineReader reader;
  Session session(opts);
  if (!session.started())
    return 1;
  dlrt_init(0, nullptr);
  if (reader.isInteractive())
    printf("dlc REPL (DL language v1). :help for help, :quit to leave.\n");
  bool anyError = false;
  unsigned line = 0; // session line numbers of what was read
  while (true) {
    std::optional<std::string> first = reader.read("dl> ");
    if (!first)
      break;
    unsigned start = ++line;
    std::string text = *first;
    std::string command = trim(text);
    if (!command.empty() && command[0] == ':') {
      std::string name = command.substr(0, command.find_first_of(" \t"));
      std::string arg = name.size() < command.size() ? trim(command.substr(name.size())) : "";
      if (name == ":quit" || name == ":q")
        break;
      if (name == ":help" || name == ":h") {
        fputs(kReplHelp, stdout);
      } else if (name == ":reset") {
        session.reset();
        printf("the session is empty\n");
      } else if (name == ":type" || name == ":t") {
        size_t at = text.find(name) + name.size();
        anyError |= !session.showType(std::string(at, ' ') + text.substr(at), start);
      } else if (name == ":ir") {
        anyError |= !session.showIR(arg);
      } else if (name == ":load" || name == ":l") {
        if (arg.empty()) {
          session.commandError("':load' takes a file name");
          anyError = true;
        } else {
          anyError |= !session.load(arg);
        }
      } else {
        session.commandError("unknown command '" + name + "' (:help lists the commands)");
        anyError = true;
      }
      fflush(stdout);
      continue;
    }
    // Read on while brackets are open.
    while (openBrackets(text) > 0) {
      std::optional<std::string> more = reader.read("... ");
      if (!more)
        break;
      ++line;
      text += "\n" + *more;
    }
    if (trim(text).empty())
      continue;
    auto began = std::chrono::steady_clock::now();
    anyError |= !session.input(text, start);
    if (opts.timeLines)
      fprintf(stderr, "[repl] line %u: %.3f ms\n", start,
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began)
                  .count());
  }
  fflush(stdout);
  return anyError && !reader.isInteractive() ? 1 : 0;
}

} // namespace dlc::driver
