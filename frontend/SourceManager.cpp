// SourceManager: file buffers and line lookup for diagnostics.
#include "frontend/SourceManager.h"

#include <fstream>
#include <sstream>

namespace dlc {

SourceManager::SourceManager() { files.push_back(File{"<none>", "", {0}}); }

uint32_t SourceManager::addBuffer(std::string name, std::string text) {
  File f;
  f.name = std::move(name);
  f.text = std::move(text);
  f.lineStarts.push_back(0);
  for (uint32_t i = 0; i < f.text.size(); ++i)
    if (f.text[i] == '\n')
      f.lineStarts.push_back(i + 1);
  files.push_back(std::move(f));
  return uint32_t(files.size() - 1);
}

uint32_t SourceManager::loadFile(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return 0;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = "cannot read '" + path + "'";
    return 0;
  }
  return addBuffer(path, ss.str());
}

const std::string &SourceManager::name(uint32_t file) const {
  return files[file < files.size() ? file : 0].name;
}

const std::string &SourceManager::text(uint32_t file) const {
  return files[file < files.size() ? file : 0].text;
}

std::string_view SourceManager::lineText(uint32_t file, uint32_t line) const {
  if (file == 0 || file >= files.size())
    return {};
  const File &f = files[file];
  if (line == 0 || line > f.lineStarts.size())
    return {};
  uint32_t begin = f.lineStarts[line - 1];
  uint32_t end = line < f.lineStarts.size() ? f.lineStarts[line] : uint32_t(f.text.size());
  while (end > begin && (f.text[end - 1] == '\n' || f.text[end - 1] == '\r'))
    --end;
  return std::string_view(f.text).substr(begin, end - begin);
}

std::string SourceManager::describe(SourceLoc loc) const {
  if (!loc.isValid())
    return "<unknown>";
  return name(loc.file) + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col);
}

} // namespace dlc
