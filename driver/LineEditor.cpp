// The REPL's line input: llvm::LineEditor, with history kept in
// ~/.dlc_history, when both ends are a terminal; std::getline otherwise, so a
// piped session prints no prompts.
#include "driver/LineEditor.h"

#include <llvm/LineEditor/LineEditor.h>

#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace dlc::driver {

struct LineReader::Editor {
  llvm::LineEditor editor;
  explicit Editor(const std::string &history) : editor("dlc", history) {}
};

LineReader::LineReader() : interactive(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
  if (!interactive)
    return;
  std::string history;
  if (const char *home = std::getenv("HOME"))
    history = std::string(home) + "/.dlc_history";
  editor = std::make_unique<Editor>(history);
  editor->editor.loadHistory();
}

LineReader::~LineReader() {
  if (editor)
    editor->editor.saveHistory();
}

std::optional<std::string> LineReader::read(const std::string &prompt) {
  if (editor) {
    editor->editor.setPrompt(prompt);
    std::optional<std::string> line = editor->editor.readLine();
    if (line) {
      while (!line->empty() && (line->back() == '\n' || line->back() == '\r'))
        line->pop_back();
      editor->editor.saveHistory();
    }
    return line;
  }
  std::string line;
  if (!std::getline(std::cin, line))
    return std::nullopt;
  if (!line.empty() && line.back() == '\r')
    line.pop_back();
  return line;
}

} // namespace dlc::driver
