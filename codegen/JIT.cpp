// `dlc run`: DIR -> optimized LLVM module -> ORC LLJIT in this process, then a
// call of the generated C `main`. The REPL's JIT (ReplJIT) adds one module per
// line and calls its `__dl_repl_entry` under dlrt_call_trapping. The runtime's dlrt_* functions are bound from
// runtime/Symbols.def as absolute symbols (dlc exports no dynamic symbols);
// libc/libm symbols of extern functions resolve through the process.
#include "codegen/Codegen.h"
#include "codegen/Lowering.h"
#include "codegen/Target.h"

#include "runtime/dlrt.h"

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>

namespace dlc::codegen {

namespace {
bool reportIfError(llvm::Error err, DiagEngine &diags, const char *what) {
  if (!err)
    return false;
  diags.report(DiagId::err_codegen, {},
               {std::string(what) + ": " + llvm::toString(std::move(err))});
  return true;
}

llvm::orc::SymbolMap runtimeSymbols(llvm::orc::LLJIT &jit) {
  llvm::orc::SymbolMap symbols;
  auto flags = llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable;
#define DLRT_FN(name)                                                                              \
  symbols[jit.mangleAndIntern(#name)] = {                                                          \
      llvm::orc::ExecutorAddr(reinterpret_cast<uint64_t>(&name)), flags};
#include "runtime/Symbols.def"
  return symbols;
}

/// An LLJIT for the host whose main JITDylib sees the runtime and this
/// process's libc/libm. Null after reporting.
std::unique_ptr<llvm::orc::LLJIT> createHostJIT(int optLevel, DiagEngine &diags,
                                                std::unique_ptr<llvm::TargetMachine> &tmOut) {
  initNativeTarget();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) {
    reportIfError(jtmb.takeError(), diags, "cannot target the host");
    return nullptr;
  }
  jtmb->setCodeGenOptLevel(codeGenOptLevel(optLevel));
  auto tm = jtmb->createTargetMachine();
  if (!tm) {
    reportIfError(tm.takeError(), diags, "cannot create a target machine");
    return nullptr;
  }
  tmOut = std::move(*tm);
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*jtmb).create();
  if (!jit) {
    reportIfError(jit.takeError(), diags, "cannot create the JIT");
    return nullptr;
  }
  llvm::orc::JITDylib &main = (*jit)->getMainJITDylib();
  if (reportIfError(main.define(llvm::orc::absoluteSymbols(runtimeSymbols(**jit))), diags,
                    "cannot bind the runtime"))
    return nullptr;
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!process) {
    reportIfError(process.takeError(), diags, "cannot search this process's symbols");
    return nullptr;
  }
  main.addGenerator(std::move(*process));
  return std::move(*jit);
}
} // namespace

int runJIT(const ir::Module &module, int optLevel, const std::string &programName,
           const std::vector<std::string> &args, DiagEngine &diags) {
  bool hasEntry = false;
  for (const ir::Function &f : module.functions)
    hasEntry |= f.isEntry;
  if (!hasEntry) {
    diags.report(DiagId::err_codegen, {}, {"the program has no 'main' function"});
    return -1;
  }

  std::unique_ptr<llvm::TargetMachine> tm;
  std::unique_ptr<llvm::orc::LLJIT> jit = createHostJIT(optLevel, diags, tm);
  if (!jit)
    return -1;

  llvm::orc::ThreadSafeContext tsc(std::make_unique<llvm::LLVMContext>());
  std::unique_ptr<llvm::Module> mod = lowerToLLVM(
      module, *tsc.getContext(), jit->getDataLayout(), jit->getTargetTriple().str(), diags);
  if (!mod || !verifyAndOptimize(*mod, tm.get(), optLevel, diags))
    return -1;
  if (reportIfError(jit->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), tsc)), diags,
                    "cannot add the module to the JIT"))
    return -1;
  auto entry = jit->lookup("main");
  if (!entry) {
    reportIfError(entry.takeError(), diags, "cannot compile the program");
    return -1;
  }

  std::vector<std::string> argvStorage{programName};
  argvStorage.insert(argvStorage.end(), args.begin(), args.end());
  std::vector<char *> argv;
  for (std::string &a : argvStorage)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  auto *cMain = entry->toPtr<int (*)(int, char **)>();
  return cMain(int(argvStorage.size()), argv.data());
}

// --- The REPL's JIT ---------------------------------------------------------------

struct ReplJIT::State {
  std::unique_ptr<llvm::TargetMachine> tm;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  unsigned lines = 0;
  std::vector<std::unique_ptr<uint64_t[]>> slotStorage;
};

ReplJIT::ReplJIT(std::unique_ptr<State> state) : state(std::move(state)) {}
ReplJIT::~ReplJIT() = default;

std::unique_ptr<ReplJIT> ReplJIT::create(DiagEngine &diags) {
  auto state = std::make_unique<State>();
  // Lines are compiled at -O1 whatever the session's level: a line's
  // latency is mostly the code generator's.
  state->jit = createHostJIT(1, diags, state->tm);
  if (!state->jit)
    return nullptr;
  return std::unique_ptr<ReplJIT>(new ReplJIT(std::move(state)));
}

int ReplJIT::run(const ir::Module &module, int optLevel, std::vector<void *> &slots,
                 DiagEngine &diags) {
  llvm::orc::LLJIT &jit = *state->jit;
  llvm::orc::ThreadSafeContext tsc(std::make_unique<llvm::LLVMContext>());
  std::unique_ptr<llvm::Module> mod = lowerToLLVM(module, *tsc.getContext(), jit.getDataLayout(),
                                                  jit.getTargetTriple().str(), diags);
  if (!mod)
    return -1;
  // Allocate the new slots, sized as this module lays out their types
  // (before optimization, which may inline the line into its entry).
  const ir::Function *line = nullptr;
  for (const ir::Function &f : module.functions)
    if (f.isReplLine)
      line = &f;
  if (!line || line->type->params.size() != slots.size()) {
    diags.report(DiagId::err_codegen, {}, {"internal error: the REPL line's slots do not match"});
    return -1;
  }
  llvm::Function *lineFn = mod->getFunction("dl." + line->name);
  if (!lineFn || !mod->getFunction("__dl_repl_entry")) {
    diags.report(DiagId::err_codegen, {}, {"internal error: the REPL line has no entry"});
    return -1;
  }
  llvm::FunctionType *lineTy = lineFn->getFunctionType();
  for (size_t i = 0; i < slots.size(); ++i) {
    if (slots[i])
      continue;
    uint64_t bytes = jit.getDataLayout().getTypeAllocSize(lineTy->getParamType(unsigned(i)));
    state->slotStorage.push_back(std::make_unique<uint64_t[]>(bytes / 8 + 1)); // zeroed
    slots[i] = state->slotStorage.back().get();
  }
  if (!verifyAndOptimize(*mod, state->tm.get(), optLevel, diags))
    return -1;

  llvm::orc::JITDylib *dylib = nullptr;
  auto created = jit.createJITDylib("repl.line" + std::to_string(++state->lines));
  if (!created) {
    reportIfError(created.takeError(), diags, "cannot create the line's library");
    return -1;
  }
  dylib = &*created;
  dylib->addToLinkOrder(jit.getMainJITDylib());
  if (reportIfError(jit.addIRModule(*dylib, llvm::orc::ThreadSafeModule(std::move(mod), tsc)),
                    diags, "cannot add the line to the JIT"))
    return -1;
  auto entry = jit.lookup(*dylib, "__dl_repl_entry");
  if (!entry) {
    reportIfError(entry.takeError(), diags, "cannot compile the line");
    return -1;
  }
  int status = dlrt_call_trapping(entry->toPtr<void (*)(void **)>(), slots.data());
  fflush(stdout);
  return status;
}

} // namespace dlc::codegen
