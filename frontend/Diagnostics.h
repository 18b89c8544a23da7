// The diagnostics engine: one table of IDs (Diagnostics.def), clang-style text
// rendering with source line and caret, JSON lines for editors, -Werror.
// Every phase reports through it; nothing else prints to stderr.
#pragma once

#include "frontend/SourceManager.h"

#include <cstdio>
#include <string>
#include <vector>

namespace dlc {

enum class DiagId {
#define DIAG(Id, Severity, Format) Id,
#include "frontend/Diagnostics.def"
};

enum class Severity { Error, Warning, Note };

/// One rendered diagnostic with its attached notes.
struct Diagnostic {
  DiagId id;
  Severity severity;
  SourceLoc loc;
  std::string message;
  std::vector<Diagnostic> notes;
};

class DiagEngine;

/// Returned by DiagEngine::report; the diagnostic is emitted when the builder
/// is destroyed, so notes can be chained: `diags.report(...).note(...)`.
class DiagBuilder {
public:
  DiagBuilder(DiagEngine *engine, Diagnostic diag) : engine(engine), diag(std::move(diag)) {}
  DiagBuilder(DiagBuilder &&other) noexcept : engine(other.engine), diag(std::move(other.diag)) {
    other.engine = nullptr;
  }
  DiagBuilder(const DiagBuilder &) = delete;
  DiagBuilder &operator=(const DiagBuilder &) = delete;
  ~DiagBuilder();

  DiagBuilder &note(DiagId id, SourceLoc loc, std::vector<std::string> args = {});

private:
  DiagEngine *engine;
  Diagnostic diag;
};

class DiagEngine {
public:
  enum class Format { Text, Json };

  explicit DiagEngine(const SourceManager &sources, FILE *out = stderr);

  DiagBuilder report(DiagId id, SourceLoc loc, std::vector<std::string> args = {});

  void setFormat(Format f) { format = f; }
  void setWarningsAsErrors(bool on) { werror = on; }
  void setColor(bool on) { color = on; }
  /// Suppresses output (diagnostics are still counted and recorded).
  void setSilent(bool on) { silent = on; }

  /// While a context note is pushed, every diagnostic reported gets it as a
  /// last note (innermost context first): "in 'f<Float>' instantiated here".
  void pushContextNote(DiagId id, SourceLoc loc, std::vector<std::string> args = {});
  void popContextNote() { contextNotes.pop_back(); }

  unsigned errorCount() const { return errors; }
  unsigned warningCount() const { return warnings; }
  bool hasErrors() const { return errors != 0; }
  /// Every diagnostic emitted so far, in order (for tests and the REPL).
  const std::vector<Diagnostic> &emitted() const { return history; }
  void clearHistory() { history.clear(); }
  void resetCounts() { errors = warnings = 0; }

  /// Formats `id` with `args` substituted for %0, %1, ...
  static std::string formatMessage(DiagId id, const std::vector<std::string> &args);
  static Severity severityOf(DiagId id);
  static const char *idName(DiagId id);

  /// Renders one diagnostic as text (with notes) or as one JSON line.
  std::string renderText(const Diagnostic &d) const;
  std::string renderJson(const Diagnostic &d) const;
  const SourceManager &sourceManager() const { return sources; }

private:
  friend class DiagBuilder;
  void emit(Diagnostic d);
  void renderOne(std::string &out, const Diagnostic &d) const;

  const SourceManager &sources;
  FILE *out;
  Format format = Format::Text;
  bool werror = false;
  bool color = false;
  bool silent = false;
  unsigned errors = 0;
  unsigned warnings = 0;
  std::vector<Diagnostic> contextNotes;
  std::vector<Diagnostic> history;
};

} // namespace dlc
