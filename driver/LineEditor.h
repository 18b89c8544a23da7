// Reading the REPL's input: llvm::LineEditor (editing and history) on a
// terminal, plain lines with no prompt otherwise. LLVM headers stay in
// LineEditor.cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace dlc::driver {

class LineReader {
public:
  /// Interactive when standard input and output are terminals.
  LineReader();
  ~LineReader();

  bool isInteractive() const { return interactive; }
  /// The next line without its terminator, or nullopt at end of input.
  std::optional<std::string> read(const std::string &prompt);

private:
  struct Editor;
  bool interactive;
  std::unique_ptr<Editor> editor;
};

} // namespace dlc::driver
