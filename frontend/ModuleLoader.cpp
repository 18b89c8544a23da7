// The module loader: parses the main file and, depth first, every file it
// imports, each once (so import cycles are harmless), and lists them in the
// Program dependencies first, main file last. `import "path.dl"` is relative to
// the importing file; `import name` comes from the embedded standard library.
#include "frontend/ModuleLoader.h"

#include "frontend/Parser.h"
#include "frontend/Stdlib.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

namespace dlc {

namespace {

namespace fs = std::filesystem;

/// The source of standard-library module `name` (`import nn`), or nullopt.
std::optional<std::string> embeddedModule(const std::string &name) {
  for (unsigned i = 0; i < kStdlibModuleCount; ++i)
    if (name == kStdlibModules[i].name)
      return std::string(kStdlibModules[i].text);
  return std::nullopt;
}

/// Normalized key for "have we loaded this file already".
std::string canonicalKey(const std::string &path) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::path(path), ec);
  if (ec)
    return fs::path(path).lexically_normal().string();
  return canonical.string();
}

class Loader {
public:
  Loader(SourceManager &sources, DiagEngine &diags, ast::Program &program)
      : sources(sources), diags(diags), program(program) {}

  /// Reads `path` from disk and loads it with its imports. Reports why a file
  /// cannot be read at `requestLoc` (invalid for the main file).
  bool loadPath(const std::string &path, SourceLoc requestLoc, DiagId idIfMissing,
                const std::string &spelledName) {
    std::string key = canonicalKey(path);
    if (visited.count(key) != 0)
      return true; // already loaded or being loaded: a cycle or a diamond
    std::string reason;
    if (!readable(path, reason)) {
      if (idIfMissing == DiagId::err_import_not_found)
        diags.report(idIfMissing, requestLoc, {spelledName});
      else
        diags.report(idIfMissing, requestLoc, {"cannot open '" + path + "': " + reason});
      return false;
    }
    std::string error;
    uint32_t fileId = sources.loadFile(path, error);
    if (fileId == 0) {
      diags.report(idIfMissing, requestLoc,
                   {idIfMissing == DiagId::err_import_not_found ? spelledName : error});
      return false;
    }
    visited[key] = fileId;
    return loadFile(fileId, fs::path(path).parent_path());
  }

  void markLoaded(const std::string &path, uint32_t fileId) {
    visited[canonicalKey(path)] = fileId;
  }

  /// Parses an already registered buffer, then its imports, then appends it.
  bool loadFile(uint32_t fileId, const fs::path &directory) {
    auto file = std::make_unique<ast::SourceFile>();
    file->fileId = fileId;
    file->path = sources.name(fileId);
    bool ok = parseSourceFile(sources, fileId, program.context, diags, *file);
    for (ast::Decl *decl : file->decls) {
      auto *import = ast::dynCast<ast::ImportDecl>(decl);
      if (import == nullptr)
        continue;
      if (!loadImport(*import, directory))
        ok = false;
    }
    program.files.push_back(std::move(file));
    return ok;
  }

  /// The derivative rules of the prelude's tensor operations
  /// (stdlib/derivatives.dl) come with every program, registered but not
  /// parsed: sema parses them when the program differentiates tensors, and
  /// keeps their names out of its scope (Note [Derivative rules in DL] in
  /// sema/DerivativeRules.cpp).
  void registerDerivativeRules() {
    if (program.derivativeRulesFile == 0)
      program.derivativeRulesFile =
          sources.addBuffer(kDerivativeRulesPath, *embeddedModule(kDerivativeRulesModule));
  }

private:
  bool loadImport(const ast::ImportDecl &import, const fs::path &directory) {
    if (import.isPath) {
      fs::path target = fs::path(import.name);
      if (target.is_relative())
        target = directory / target;
      return loadPath(target.string(), import.loc, DiagId::err_import_not_found, import.name);
    }
    return loadEmbedded(import.name, import.loc);
  }

  /// Loads the standard-library module `name` once.
  bool loadEmbedded(const std::string &name, SourceLoc requestLoc) {
    std::string key = "<stdlib>/" + name;
    if (visited.count(key) != 0)
      return true;
    std::optional<std::string> source = embeddedModule(name);
    if (!source) {
      diags.report(DiagId::err_import_not_found, requestLoc, {name});
      return false;
    }
    uint32_t fileId = sources.addBuffer(key + ".dl", std::move(*source));
    visited[key] = fileId;
    return loadFile(fileId, fs::path());
  }


  static bool readable(const std::string &path, std::string &reason) {
    std::error_code ec;
    if (fs::is_directory(fs::path(path), ec)) {
      reason = std::strerror(EISDIR);
      return false;
    }
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      reason = std::strerror(errno);
      return false;
    }
    std::fclose(f);
    return true;
  }

  SourceManager &sources;
  DiagEngine &diags;
  ast::Program &program;
  std::map<std::string, uint32_t> visited; // canonical path (or <stdlib>/name) -> file id
};

} // namespace

bool loadProgram(SourceManager &sources, const std::string &mainPath, DiagEngine &diags,
                 ast::Program &program) {
  Loader loader(sources, diags, program);
  loader.registerDerivativeRules();
  size_t before = program.files.size();
  bool ok = loader.loadPath(mainPath, SourceLoc{}, DiagId::err_cannot_open_file, mainPath);
  // Once the main file could be read it is always appended, and appended last.
  program.mainFile = program.files.size() > before ? program.files.back().get() : nullptr;
  return ok;
}

bool loadProgramFromBuffer(SourceManager &sources, uint32_t fileId, DiagEngine &diags,
                           ast::Program &program) {
  Loader loader(sources, diags, program);
  loader.registerDerivativeRules();
  // Imports in a buffer resolve against its name's directory (the current one
  // for "<repl>" or "<stdin>").
  fs::path directory = fs::path(sources.name(fileId)).parent_path();
  loader.markLoaded(sources.name(fileId), fileId);
  bool ok = loader.loadFile(fileId, directory);
  program.mainFile = program.files.back().get();
  return ok;
}

bool loadProgramFromBuffers(SourceManager &sources, const std::vector<uint32_t> &fileIds,
                            DiagEngine &diags, ast::Program &program) {
  Loader loader(sources, diags, program);
  loader.registerDerivativeRules();
  bool ok = true;
  for (uint32_t fileId : fileIds) {
    fs::path directory = fs::path(sources.name(fileId)).parent_path();
    ok = loader.loadFile(fileId, directory) && ok;
  }
  program.mainFile = program.files.empty() ? nullptr : program.files.back().get();
  return ok;
}

} // namespace dlc
