// Unit tests for the source manager and the diagnostics engine: line lookup,
// message formatting, clang-style rendering with caret, notes, JSON lines,
// -Werror, and counting.
#include "frontend/Diagnostics.h"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

using namespace dlc;

TEST_CASE("source manager: line text and locations") {
  SourceManager sm;
  uint32_t f = sm.addBuffer("a.dl", "fn main() {\n\tlet x = 1\r\n}\n");
  CHECK(f == 1);
  CHECK(sm.fileCount() == 1);
  CHECK(sm.name(f) == "a.dl");
  CHECK(sm.lineText(f, 1) == "fn main() {");
  CHECK(sm.lineText(f, 2) == "\tlet x = 1"); // \r\n stripped
  CHECK(sm.lineText(f, 3) == "}");
  CHECK(sm.lineText(f, 4) == "");
  CHECK(sm.lineText(f, 99) == "");
  CHECK(sm.lineText(0, 1) == "");
  CHECK(sm.describe(SourceLoc{f, 2, 6}) == "a.dl:2:6");
  CHECK(sm.describe(SourceLoc{}) == "<unknown>");
  std::string error;
  CHECK(sm.loadFile("/nonexistent/dir/x.dl", error) == 0);
  CHECK(error.find("cannot open") != std::string::npos);
}

TEST_CASE("diagnostics: message formatting substitutes arguments") {
  CHECK(DiagEngine::formatMessage(DiagId::err_type_mismatch, {"Int", "Float"}) ==
        "cannot convert value of type 'Int' to expected type 'Float'");
  CHECK(DiagEngine::severityOf(DiagId::warn_unused_result) == Severity::Warning);
  CHECK(DiagEngine::severityOf(DiagId::note_did_you_mean) == Severity::Note);
  CHECK(std::string(DiagEngine::idName(DiagId::err_unknown_name)) == "err_unknown_name");
}

namespace {
/// Renders through a temporary FILE and returns what was written.
struct Capture {
  FILE *file = tmpfile();
  ~Capture() { fclose(file); }
  std::string text() {
    fflush(file);
    rewind(file);
    std::string s;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, file)) > 0)
      s.append(buf, n);
    return s;
  }
};
} // namespace

TEST_CASE("diagnostics: clang-style text with source line, caret and notes") {
  SourceManager sm;
  uint32_t f = sm.addBuffer("prog.dl", "fn main() {\n    let y = foo + 1\n}\n");
  Capture out;
  DiagEngine diags(sm, out.file);
  diags.report(DiagId::err_unknown_name, SourceLoc{f, 2, 13}, {"foo"})
      .note(DiagId::note_did_you_mean, SourceLoc{}, {"food"});
  CHECK(out.text() == "prog.dl:2:13: error: cannot find 'foo' in scope\n"
                      "    let y = foo + 1\n"
                      "            ^\n"
                      "dlc: note: did you mean 'food'?\n");
  CHECK(diags.errorCount() == 1);
  CHECK(diags.hasErrors());
  REQUIRE(diags.emitted().size() == 1);
  CHECK(diags.emitted()[0].notes.size() == 1);
}

TEST_CASE("diagnostics: tabs are expanded so the caret lines up") {
  SourceManager sm;
  uint32_t f = sm.addBuffer("t.dl", "\tx = 1\n");
  Capture out;
  DiagEngine diags(sm, out.file);
  diags.report(DiagId::err_assign_to_let, SourceLoc{f, 1, 2}, {"x"});
  CHECK(out.text() == "t.dl:1:2: error: cannot assign to value: 'x' is a 'let' constant\n"
                      "    x = 1\n"
                      "    ^\n");
}

TEST_CASE("diagnostics: a caret past the end of the line (end of file)") {
  SourceManager sm;
  uint32_t f = sm.addBuffer("e.dl", "fn f(");
  Capture out;
  DiagEngine diags(sm, out.file);
  diags.report(DiagId::err_syntax, SourceLoc{f, 1, 6}, {"expected ')'"});
  CHECK(out.text() == "e.dl:1:6: error: expected ')'\nfn f(\n     ^\n");
}

TEST_CASE("diagnostics: JSON lines escape text and carry notes") {
  SourceManager sm;
  uint32_t f = sm.addBuffer("j.dl", "let s = \"a\"\n");
  Capture out;
  DiagEngine diags(sm, out.file);
  diags.setFormat(DiagEngine::Format::Json);
  diags.report(DiagId::err_syntax, SourceLoc{f, 1, 9}, {"unexpected \"quote\"\n"})
      .note(DiagId::note_candidate, SourceLoc{f, 1, 1}, {"f(x: Int)"});
  CHECK(out.text() ==
        "{\"file\":\"j.dl\",\"line\":1,\"col\":9,\"severity\":\"error\",\"id\":\"err_syntax\","
        "\"message\":\"unexpected \\\"quote\\\"\\n\",\"notes\":[{\"file\":\"j.dl\",\"line\":1,"
        "\"col\":1,\"severity\":\"note\",\"id\":\"note_candidate\",\"message\":\"candidate: "
        "f(x: Int)\"}]}\n");
}

TEST_CASE("diagnostics: -Werror turns warnings into errors; silent mode still counts") {
  SourceManager sm;
  uint32_t f = sm.addBuffer("w.dl", "fn main() { f() }\n");
  Capture out;
  DiagEngine diags(sm, out.file);
  diags.report(DiagId::warn_unused_result, SourceLoc{f, 1, 13}, {"f"});
  CHECK(diags.warningCount() == 1);
  CHECK(diags.errorCount() == 0);
  diags.setWarningsAsErrors(true);
  diags.report(DiagId::warn_unused_result, SourceLoc{f, 1, 13}, {"f"});
  CHECK(diags.errorCount() == 1);
  CHECK(out.text().find("w.dl:1:13: error: result of 'f' is unused") != std::string::npos);
  diags.setSilent(true);
  diags.report(DiagId::err_no_main, SourceLoc{f, 1, 1});
  CHECK(diags.errorCount() == 2);
  CHECK(diags.emitted().size() == 3);
}

TEST_CASE("diagnostics: color escapes only when enabled") {
  SourceManager sm;
  uint32_t f = sm.addBuffer("c.dl", "x\n");
  Capture plain, colored;
  DiagEngine a(sm, plain.file), b(sm, colored.file);
  b.setColor(true);
  a.report(DiagId::err_unknown_name, SourceLoc{f, 1, 1}, {"x"});
  b.report(DiagId::err_unknown_name, SourceLoc{f, 1, 1}, {"x"});
  CHECK(plain.text().find('\033') == std::string::npos);
  CHECK(colored.text().find("\033[1;31merror") != std::string::npos);
}
