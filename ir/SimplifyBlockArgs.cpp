// Removes block arguments that are trivial (every incoming value is the same
// value, or the argument itself) and blocks no path from the entry reaches.
// Lowering passes every mutable variable through every join; this pass keeps
// only the arguments that really merge different values.
#include "ir/Lower.h"

#include <set>
#include <unordered_map>

namespace dlc::ir {

namespace {

void removeUnreachableBlocks(Function &f) {
  std::vector<bool> reached(f.blocks.size(), false);
  std::vector<uint32_t> work{0};
  reached[0] = true;
  while (!work.empty()) {
    uint32_t b = work.back();
    work.pop_back();
    for (const Instr &in : f.blocks[b].instrs)
      for (const Target &t : in.targets)
        if (!reached[t.block.index]) {
          reached[t.block.index] = true;
          work.push_back(t.block.index);
        }
  }
  std::vector<uint32_t> newIndex(f.blocks.size(), UINT32_MAX);
  std::vector<Block> kept;
  for (uint32_t b = 0; b < f.blocks.size(); ++b)
    if (reached[b]) {
      newIndex[b] = uint32_t(kept.size());
      kept.push_back(std::move(f.blocks[b]));
    }
  for (Block &b : kept)
    for (Instr &in : b.instrs)
      for (Target &t : in.targets)
        t.block.index = newIndex[t.block.index];
  f.blocks = std::move(kept);
}

} // namespace

void simplifyBlockArgs(Function &f) {
  if (f.blocks.empty())
    return;
  removeUnreachableBlocks(f);
  std::unordered_map<uint32_t, ValueId> replaced;
  auto resolve = [&](ValueId v) {
    while (true) {
      auto it = replaced.find(v.index);
      if (it == replaced.end())
        return v;
      v = it->second;
    }
  };
  bool changed = true;
  while (changed) {
    changed = false;
    for (uint32_t b = 1; b < f.blocks.size(); ++b) {
      Block &block = f.blocks[b];
      for (size_t k = block.args.size(); k-- > 0;) {
        ValueId arg = block.args[k];
        std::set<uint32_t> incoming;
        for (Block &pred : f.blocks)
          for (Instr &in : pred.instrs)
            for (Target &t : in.targets)
              if (t.block.index == b) {
                ValueId v = resolve(t.args[k]);
                if (v != arg)
                  incoming.insert(v.index);
              }
        if (incoming.size() != 1)
          continue;
        replaced[arg.index] = ValueId{*incoming.begin()};
        block.args.erase(block.args.begin() + long(k));
        for (Block &pred : f.blocks)
          for (Instr &in : pred.instrs)
            for (Target &t : in.targets)
              if (t.block.index == b)
                t.args.erase(t.args.begin() + long(k));
        changed = true;
      }
    }
  }
  replaceUses(f, resolve);
}

} // namespace dlc::ir
