// `dlc repl`: the interactive session of LANGUAGE.md §9 (Repl.cpp).
#pragma once

#include <iosfwd>

namespace dlc::driver {

struct ReplOptions {
  int optLevel = 1;
  bool jsonDiagnostics = false;
  bool timeLines = false; // print each input's time to stderr (bench/repl)
};

/// Runs a session on standard input until `:quit` or end of input. Returns
/// the exit status: 0, or 1 when input that is not a terminal had an error.
int runRepl(const ReplOptions &opts);

} // namespace dlc::driver
