// Diagnostics rendering: text (clang style, optional color) and JSON lines.
#include "frontend/Diagnostics.h"

namespace dlc {

namespace {

struct DiagInfo {
  const char *name;
  Severity severity;
  const char *format;
};

const DiagInfo kDiagTable[] = {
#define DIAG(Id, Sev, Format) {#Id, Severity::Sev, Format},
#include "frontend/Diagnostics.def"
};

const char *severityWord(Severity s) {
  switch (s) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "error";
}

// ANSI colors matching clang's scheme.
const char *severityColor(Severity s) {
  switch (s) {
  case Severity::Error:
    return "\033[1;31m";
  case Severity::Warning:
    return "\033[1;35m";
  case Severity::Note:
    return "\033[1;36m";
  }
  return "";
}

void appendJsonString(std::string &out, const std::string &s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += char(c);
      }
    }
  }
  out += '"';
}

} // namespace

DiagBuilder::~DiagBuilder() {
  if (engine)
    engine->emit(std::move(diag));
}

DiagBuilder &DiagBuilder::note(DiagId id, SourceLoc loc, std::vector<std::string> args) {
  diag.notes.push_back(
      Diagnostic{id, Severity::Note, loc, DiagEngine::formatMessage(id, args), {}});
  return *this;
}

DiagEngine::DiagEngine(const SourceManager &sources, FILE *out) : sources(sources), out(out) {}

DiagBuilder DiagEngine::report(DiagId id, SourceLoc loc, std::vector<std::string> args) {
  return DiagBuilder(this, Diagnostic{id, severityOf(id), loc, formatMessage(id, args), {}});
}

Severity DiagEngine::severityOf(DiagId id) { return kDiagTable[int(id)].severity; }
const char *DiagEngine::idName(DiagId id) { return kDiagTable[int(id)].name; }

std::string DiagEngine::formatMessage(DiagId id, const std::vector<std::string> &args) {
  std::string result;
  const char *f = kDiagTable[int(id)].format;
  for (size_t i = 0; f[i]; ++i) {
    if (f[i] == '%' && f[i + 1] >= '0' && f[i + 1] <= '9') {
      size_t index = size_t(f[i + 1] - '0');
      if (index < args.size())
        result += args[index];
      ++i;
      continue;
    }
    result += f[i];
  }
  return result;
}

void DiagEngine::pushContextNote(DiagId id, SourceLoc loc, std::vector<std::string> args) {
  contextNotes.push_back(Diagnostic{id, Severity::Note, loc, formatMessage(id, args), {}});
}

void DiagEngine::emit(Diagnostic d) {
  for (auto it = contextNotes.rbegin(); it != contextNotes.rend(); ++it)
    d.notes.push_back(*it);
  if (d.severity == Severity::Warning && werror)
    d.severity = Severity::Error;
  if (d.severity == Severity::Error)
    ++errors;
  else if (d.severity == Severity::Warning)
    ++warnings;
  if (!silent) {
    std::string text = format == Format::Json ? renderJson(d) : renderText(d);
    fputs(text.c_str(), out);
    fflush(out);
  }
  history.push_back(std::move(d));
}

void DiagEngine::renderOne(std::string &s, const Diagnostic &d) const {
  const char *bold = color ? "\033[1m" : "";
  const char *reset = color ? "\033[0m" : "";
  s += bold;
  if (d.loc.isValid())
    s += sources.describe(d.loc) + ": ";
  else
    s += "dlc: ";
  s += reset;
  if (color)
    s += severityColor(d.severity);
  s += severityWord(d.severity);
  s += ": ";
  s += reset;
  s += bold;
  s += d.message;
  s += reset;
  s += '\n';
  if (!d.loc.isValid())
    return;
  std::string_view line = sources.lineText(d.loc.file, d.loc.line);
  if (line.empty() && d.loc.col <= 1)
    return;
  // Expand tabs so the caret lines up with what a terminal shows.
  std::string shown;
  size_t caretCol = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (i + 1 == d.loc.col)
      caretCol = shown.size();
    if (line[i] == '\t')
      shown.append(4 - shown.size() % 4, ' ');
    else
      shown += line[i];
  }
  if (d.loc.col > line.size())
    caretCol = shown.size() + (d.loc.col - 1 - line.size());
  s += shown;
  s += '\n';
  s += std::string(caretCol, ' ');
  s += color ? "\033[1;32m^\033[0m" : "^";
  s += '\n';
}

std::string DiagEngine::renderText(const Diagnostic &d) const {
  std::string s;
  renderOne(s, d);
  for (const Diagnostic &n : d.notes)
    renderOne(s, n);
  return s;
}

std::string DiagEngine::renderJson(const Diagnostic &d) const {
  auto one = [&](std::string &s, const Diagnostic &x) {
    s += "{\"file\":";
    appendJsonString(s, x.loc.isValid() ? sources.name(x.loc.file) : std::string());
    s += ",\"line\":" + std::to_string(x.loc.line);
    s += ",\"col\":" + std::to_string(x.loc.col);
    s += ",\"severity\":\"";
    s += severityWord(x.severity);
    s += "\",\"id\":\"";
    s += idName(x.id);
    s += "\",\"message\":";
    appendJsonString(s, x.message);
  };
  std::string s;
  one(s, d);
  s += ",\"notes\":[";
  for (size_t i = 0; i < d.notes.size(); ++i) {
    if (i)
      s += ',';
    one(s, d.notes[i]);
    s += '}';
  }
  s += "]}\n";
  return s;
}

} // namespace dlc
