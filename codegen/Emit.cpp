// `dlc build`: DIR -> LLVM module (LowerModule.cpp) -> verified and optimized
// (Target.cpp) -> one of: textual LLVM IR, assembly, an object file, or an
// executable linked with the runtime through a temporary object file (Link.cpp).
#include "codegen/Codegen.h"
#include "codegen/Lowering.h"
#include "codegen/Target.h"

#include <llvm/IR/LegacyPassManager.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/FileUtilities.h>
#include <llvm/Support/raw_ostream.h>

namespace dlc::codegen {

namespace {
bool writeMachineCode(llvm::Module &mod, llvm::TargetMachine &tm, llvm::raw_pwrite_stream &os,
                      llvm::CodeGenFileType type, DiagEngine &diags) {
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type)) {
    diags.report(DiagId::err_codegen, {}, {"the target cannot emit this kind of file"});
    return false;
  }
  pm.run(mod);
  return true;
}

/// Writes `path` with `write(stream)`; reports err_write_output on failure.
template <typename Write> bool writeFile(const std::string &path, DiagEngine &diags, Write write) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    diags.report(DiagId::err_write_output, {}, {path, ec.message()});
    return false;
  }
  if (!write(os))
    return false;
  os.close();
  if (os.has_error()) {
    diags.report(DiagId::err_write_output, {}, {path, os.error().message()});
    os.clear_error();
    return false;
  }
  return true;
}

bool hasEntry(const ir::Module &module) {
  for (const ir::Function &f : module.functions)
    if (f.isEntry)
      return true;
  return false;
}
} // namespace

bool emit(const ir::Module &module, const Options &opts, DiagEngine &diags) {
  if (opts.emit == EmitKind::Exe && !hasEntry(module)) {
    diags.report(DiagId::err_codegen, {}, {"the program has no 'main' function"});
    return false;
  }
  std::unique_ptr<llvm::TargetMachine> tm = createHostTargetMachine(opts.optLevel, diags);
  if (!tm)
    return false;
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> mod =
      lowerToLLVM(module, ctx, tm->createDataLayout(), tm->getTargetTriple().str(), diags);
  if (!mod || !verifyAndOptimize(*mod, tm.get(), opts.optLevel, diags))
    return false;

  switch (opts.emit) {
  case EmitKind::Llvm:
    return writeFile(opts.outputPath, diags, [&](llvm::raw_fd_ostream &os) {
      mod->print(os, nullptr);
      return true;
    });
  case EmitKind::Asm:
  case EmitKind::Obj: {
    auto type = opts.emit == EmitKind::Asm ? llvm::CodeGenFileType::AssemblyFile
                                           : llvm::CodeGenFileType::ObjectFile;
    return writeFile(opts.outputPath, diags, [&](llvm::raw_fd_ostream &os) {
      return writeMachineCode(*mod, *tm, os, type, diags);
    });
  }
  case EmitKind::Exe:
    break;
  }

  // An executable: a temporary object file (in $TMPDIR), linked, then removed.
  int fd = -1;
  llvm::SmallString<128> objectPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile("dlc", "o", fd, objectPath)) {
    diags.report(DiagId::err_write_output, {}, {"a temporary object file", ec.message()});
    return false;
  }
  llvm::FileRemover remover(objectPath);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    if (!writeMachineCode(*mod, *tm, os, llvm::CodeGenFileType::ObjectFile, diags))
      return false;
    os.close();
    if (os.has_error()) {
      diags.report(DiagId::err_write_output, {}, {objectPath.str().str(), os.error().message()});
      os.clear_error();
      return false;
    }
  }
  std::string runtime = opts.runtimeLibrary.empty() ? defaultRuntimeLibrary() : opts.runtimeLibrary;
  return linkExecutable(objectPath.str().str(), opts.outputPath, runtime, opts.libraries, diags);
}

} // namespace dlc::codegen
