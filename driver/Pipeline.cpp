// The compiler at a glance: each phase of ARCHITECTURE.md, in order, one line
// each, with the verifier between IR passes and optional per-phase timing.
#include "driver/Pipeline.h"

#include "ad/AD.h"
#include "codegen/Codegen.h"
#include "frontend/Diagnostics.h"
#include "frontend/ModuleLoader.h"
#include "ir/Fusion.h"
#include "ir/Inline.h"
#include "ir/InPlace.h"
#include "ir/Ownership.h"
#include "ir/Lower.h"
#include "ir/Verifier.h"
#include "sema/Sema.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace dlc::driver {

namespace {

class PassTimer {
public:
  explicit PassTimer(bool enabled) : enabled(enabled) {}
  ~PassTimer() {
    if (!enabled)
      return;
    fprintf(stderr, "=== dlc pass timing ===\n");
    for (auto &[name, ms] : times)
      fprintf(stderr, "%10.3f ms  %s\n", ms, name.c_str());
  }
  template <class F> auto time(const char *name, F &&f) {
    auto start = std::chrono::steady_clock::now();
    auto result = f();
    times.push_back({name, std::chrono::duration<double, std::milli>(
                               std::chrono::steady_clock::now() - start)
                               .count()});
    return result;
  }

private:
  bool enabled;
  std::vector<std::pair<std::string, double>> times;
};

/// Internal errors in the IR are compiler bugs; say so plainly.
bool verifyOrReport(const ir::Module &module, const char *after) {
  std::vector<std::string> problems = ir::verify(module);
  if (problems.empty())
    return true;
  fprintf(stderr, "dlc: internal compiler error: invalid IR after %s:\n", after);
  for (const std::string &p : problems)
    fprintf(stderr, "  %s\n", p.c_str());
  return false;
}

bool writeText(const std::string &text, const std::string &path, DiagEngine &diags) {
  if (path.empty() || path == "-") {
    fwrite(text.data(), 1, text.size(), stdout);
    return true;
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) {
    diags.report(DiagId::err_write_output, SourceLoc{}, {path, "cannot write the file"});
    return false;
  }
  return true;
}

std::string defaultOutput(const Options &opts) {
  std::filesystem::path stem = std::filesystem::path(opts.input).stem();
  switch (opts.emit) {
  case Emit::Exe:
    return stem.string();
  case Emit::Obj:
    return stem.string() + ".o";
  case Emit::Llvm:
    return stem.string() + ".ll";
  case Emit::Asm:
    return stem.string() + ".s";
  case Emit::Lib:
  case Emit::Ptx:
  case Emit::Ir:
  case Emit::Ast:
    return "-";
  }
  return "-";
}

} // namespace

int runPipeline(const Options &opts) {
  SourceManager sources;
  DiagEngine diags(sources);
  diags.setFormat(opts.jsonDiagnostics ? DiagEngine::Format::Json : DiagEngine::Format::Text);
  diags.setWarningsAsErrors(opts.warningsAsErrors);
  diags.setColor(!opts.jsonDiagnostics && isatty(STDERR_FILENO) && !getenv("NO_COLOR"));
  PassTimer timer(opts.timePasses);

  ast::Program program;
  bool loaded = timer.time("load and parse", [&] {
    return loadProgram(sources, opts.input, diags, program);
  });
  if (!loaded)
    return 1;
  if (opts.emit == Emit::Ast && opts.command == Command::Build) {
    std::string text;
    for (auto &file : program.files)
      text += ast::dump(*file);
    return writeText(text, opts.output, diags) ? 0 : 1;
  }

  sema::TypeContext types;
  sema::CheckedProgram checked;
  if (!timer.time("sema", [&] { return sema::check(program, types, diags, checked); }))
    return 1;
  bool needsMain = opts.command == Command::Run ||
                   (opts.command == Command::Build && opts.emit == Emit::Exe);
  if (needsMain && !checked.main) {
    diags.report(DiagId::err_no_main, SourceLoc{program.mainFile->fileId, 1, 1});
    return 1;
  }
  if (opts.emit == Emit::Lib || opts.emit == Emit::Ptx || opts.deviceCuda) {
    const char *what = opts.deviceCuda ? "'--device cuda'"
                       : opts.emit == Emit::Lib ? "'--emit lib'"
                                                : "'--emit ptx'";
    diags.report(DiagId::err_not_supported, SourceLoc{}, {what});
    return 1;
  }

  ir::Module module;
  module.types = &types;
  module.sources = &sources;
  timer.time("lower", [&] {
    ir::lower(checked, module);
    return 0;
  });
  if (!timer.time("verify", [&] { return verifyOrReport(module, "lowering"); }))
    return 1;
  // `dlc check` goes as far as differentiation: its reports (§5.5) are
  // compile-time diagnostics too.
  if (!timer.time("differentiate", [&] { return ad::differentiate(module, diags); }))
    return 1;
  if (!timer.time("verify", [&] { return verifyOrReport(module, "differentiation"); }))
    return 1;
  if (opts.command == Command::Check)
    return diags.errorCount() > 0 ? 1 : 0;
  timer.time("inline rules", [&] {
    ir::inlineRules(module);
    return 0;
  });
  timer.time("inline small functions", [&] {
    ir::inlineSmallFunctions(module);
    return 0;
  });
  timer.time("fusion", [&] {
    ir::fuseElementwise(module);
    return 0;
  });
  if (opts.verifyEach && !timer.time("verify", [&] { return verifyOrReport(module, "fusion"); }))
    return 1;
  timer.time("in-place updates", [&] {
    ir::markInPlaceUpdates(module);
    return 0;
  });
  timer.time("retain/release", [&] {
    ir::insertRetainRelease(module);
    return 0;
  });

  if (opts.emit == Emit::Ir && opts.command == Command::Build)
    return writeText(ir::print(module), opts.output, diags) ? 0 : 1;

  if (opts.command == Command::Run) {
    std::string programName = std::filesystem::path(opts.input).stem().string();
    int status = timer.time("jit and run", [&] {
      return codegen::runJIT(module, opts.optLevel, programName, opts.programArgs, diags);
    });
    return status < 0 ? 1 : status;
  }

  codegen::Options cg;
  cg.optLevel = opts.optLevel;
  cg.libraries = opts.libraries;
  cg.outputPath = opts.output.empty() ? defaultOutput(opts) : opts.output;
  switch (opts.emit) {
  case Emit::Exe:
    cg.emit = codegen::EmitKind::Exe;
    break;
  case Emit::Obj:
    cg.emit = codegen::EmitKind::Obj;
    break;
  case Emit::Llvm:
    cg.emit = codegen::EmitKind::Llvm;
    break;
  case Emit::Asm:
    cg.emit = codegen::EmitKind::Asm;
    break;
  case Emit::Lib:
  case Emit::Ptx:
  case Emit::Ir:
  case Emit::Ast:
    return 1;
  }
  if (cg.outputPath == "-")
    cg.outputPath = "/dev/stdout";
  return timer.time("codegen", [&] { return codegen::emit(module, cg, diags); }) ? 0 : 1;
}

} // namespace dlc::driver
