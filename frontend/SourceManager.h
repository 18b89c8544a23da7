// SourceManager: owns the text of every source file the compiler reads and maps
// (file, line, column) locations back to their file name and source line.
// Consumed by the parser and the diagnostics engine; produces nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dlc {

/// A position in a source file. Lines and columns are 1-based; file 0 means
/// "no location" (compiler-synthesized code).
struct SourceLoc {
  uint32_t file = 0;
  uint32_t line = 0;
  uint32_t col = 0;

  bool isValid() const { return file != 0; }
  friend bool operator==(const SourceLoc &a, const SourceLoc &b) {
    return a.file == b.file && a.line == b.line && a.col == b.col;
  }
};

class SourceManager {
public:
  SourceManager();

  /// Registers a buffer under `name` and returns its file id (never 0).
  uint32_t addBuffer(std::string name, std::string text);

  /// Reads `path` from disk. Returns 0 and sets `error` when it cannot.
  uint32_t loadFile(const std::string &path, std::string &error);

  const std::string &name(uint32_t file) const;
  const std::string &text(uint32_t file) const;
  /// The text of `line` (1-based) without its line terminator; empty when out of range.
  std::string_view lineText(uint32_t file, uint32_t line) const;
  /// "name:line:col", or "<unknown>" for an invalid location.
  std::string describe(SourceLoc loc) const;
  uint32_t fileCount() const { return uint32_t(files.size() - 1); }

private:
  struct File {
    std::string name;
    std::string text;
    std::vector<uint32_t> lineStarts;
  };
  std::vector<File> files; // files[0] is the "no file" sentinel
};

} // namespace dlc
