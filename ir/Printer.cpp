// DIR printer: renders a Module as deterministic text (`dlc build --emit ir`,
// golden tests, verifier debugging). Consumes ir::Module; produces a string.
// It never assumes the module is well formed: bad indices print as `%?N`/`?bbN`.
#include "ir/IR.h"
#include "ir/Fusion.h"

#include <charconv>
#include <cmath>
#include <set>

namespace dlc::ir {

namespace {

std::string typeStr(const Type *t) { return t ? t->str() : "<null type>"; }

/// Gives every entity a unique printed name: its hint when it has one (later
/// duplicates get `.1`, `.2`, ...), else a numbered fallback. Fallback names
/// are reserved first so that a hint can never collide with them.
std::vector<std::string> uniqueNames(const std::vector<std::string> &hints,
                                     const std::string &fallbackPrefix) {
  std::vector<std::string> names(hints.size());
  std::set<std::string> used;
  for (size_t i = 0; i < hints.size(); ++i)
    if (hints[i].empty()) {
      names[i] = fallbackPrefix + std::to_string(i);
      used.insert(names[i]);
    }
  for (size_t i = 0; i < hints.size(); ++i) {
    if (hints[i].empty())
      continue;
    std::string candidate = hints[i];
    for (int suffix = 1; used.count(candidate); ++suffix)
      candidate = hints[i] + "." + std::to_string(suffix);
    used.insert(candidate);
    names[i] = candidate;
  }
  return names;
}

std::string escape(const std::string &s) {
  std::string out = "\"";
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
      if (c < 0x20 || c == 0x7f) {
        static const char hex[] = "0123456789abcdef";
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += char(c);
      }
    }
  }
  return out + "\"";
}

/// The shortest text that reads back as the same value in the constant's own
/// precision, always recognisable as floating point (`1.0`, not `1`).
std::string floatStr(double v, const Type *type) {
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v < 0 ? "-inf" : "inf";
  char buf[64];
  std::to_chars_result r = type && type->kind == sema::TypeKind::Float
                               ? std::to_chars(buf, buf + sizeof buf, float(v))
                               : std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos)
    s += ".0";
  return s;
}

class FunctionPrinter {
public:
  FunctionPrinter(const Module &module, const Function &fn) : module(module), fn(fn) {
    std::vector<std::string> hints;
    for (const ValueInfo &v : fn.values)
      hints.push_back(v.name);
    valueNames = uniqueNames(hints, "");
    hints.clear();
    for (const Block &b : fn.blocks)
      hints.push_back(b.name);
    blockNames = uniqueNames(hints, "bb");
  }

  std::string print() {
    if (fn.isExtern)
      return printExtern();
    out += "fn " + fn.name + "(";
    if (!fn.blocks.empty()) {
      out += typedValueList(fn.blocks[0].args);
    } else if (fn.type) {
      out += typeList(fn.type->params);
    }
    out += ") -> " + (fn.type ? typeStr(fn.type->result) : "<null type>");
    if (fn.isEntry)
      out += " [entry]";
    out += " {\n";
    for (size_t b = 0; b < fn.blocks.size(); ++b)
      printBlock(fn.blocks[b], b);
    out += "}\n";
    return out;
  }

private:
  const Module &module;
  const Function &fn;
  std::vector<std::string> valueNames, blockNames;
  std::string out;

  std::string printExtern() {
    out += "extern fn " + fn.name + "(";
    if (fn.type)
      out += typeList(fn.type->params);
    out += ") -> " + (fn.type ? typeStr(fn.type->result) : "<null type>");
    out += " = " + escape(fn.externSymbol);
    if (fn.isEntry)
      out += " [entry]";
    return out + "\n";
  }

  static std::string typeList(const std::vector<const Type *> &types) {
    std::string s;
    for (size_t i = 0; i < types.size(); ++i)
      s += (i ? ", " : "") + typeStr(types[i]);
    return s;
  }

  std::string value(ValueId v) const {
    if (v.index >= valueNames.size())
      return v.isValid() ? "%?" + std::to_string(v.index) : "%?";
    return "%" + valueNames[v.index];
  }

  const Type *typeOf(ValueId v) const {
    return v.index < fn.values.size() ? fn.values[v.index].type : nullptr;
  }

  std::string typedValue(ValueId v) const { return value(v) + ": " + typeStr(typeOf(v)); }

  std::string valueList(const std::vector<ValueId> &vs, size_t from = 0) const {
    std::string s;
    for (size_t i = from; i < vs.size(); ++i)
      s += (i > from ? ", " : "") + value(vs[i]);
    return s;
  }

  std::string typedValueList(const std::vector<ValueId> &vs) const {
    std::string s;
    for (size_t i = 0; i < vs.size(); ++i)
      s += (i ? ", " : "") + typedValue(vs[i]);
    return s;
  }

  std::string blockName(BlockId b) const {
    if (b.index >= blockNames.size())
      return b.isValid() ? "?bb" + std::to_string(b.index) : "?bb";
    return blockNames[b.index];
  }

  std::string target(const Target &t) const {
    return blockName(t.block) + "(" + valueList(t.args) + ")";
  }

  std::string callee(FuncId f) const {
    if (f.index >= module.functions.size())
      return f.isValid() ? "@?" + std::to_string(f.index) : "@?";
    return "@" + module.functions[f.index].name;
  }

  /// ` /* name */` after a field index whose struct type is known.
  std::string fieldComment(const Instr &in) const {
    if (in.operands.empty())
      return "";
    auto *st = sema::asStruct(typeOf(in.operands[0]));
    if (!st || in.imm < 0 || size_t(in.imm) >= st->fields.size() ||
        st->fields[size_t(in.imm)].name.empty())
      return "";
    return " /* " + st->fields[size_t(in.imm)].name + " */";
  }

  void printBlock(const Block &b, size_t index) {
    out += blockNames[index];
    if (!b.args.empty())
      out += "(" + typedValueList(b.args) + ")";
    out += ":\n";
    for (const Instr &in : b.instrs)
      printInstr(in);
  }

  void printInstr(const Instr &in) {
    out += "  ";
    if (in.result.isValid())
      out += typedValue(in.result) + " = ";
    out += mnemonic(in.op);
    if (in.op == Op::Tensor)
      out += std::string(".") + tensorOpName(tensorOpOf(in.imm));
    std::string body = operandsText(in);
    if (!body.empty())
      out += " " + body;
    // A malformed instruction still shows everything it holds.
    if (in.op != Op::Br && in.op != Op::CondBr && !in.targets.empty()) {
      out += " [targets:";
      for (const Target &t : in.targets)
        out += " " + target(t);
      out += "]";
    }
    out += "\n";
  }

  std::string operandsText(const Instr &in) const {
    switch (in.op) {
    case Op::ConstInt:
      return std::to_string(in.imm);
    case Op::ConstFloat:
      return floatStr(in.fimm, typeOf(in.result));
    case Op::ConstBool:
      return in.imm ? "true" : "false";
    case Op::ConstString:
      return escape(in.str);
    case Op::TupleGet:
      return valueList(in.operands) + ", " + std::to_string(in.imm);
    case Op::StructGet:
      return valueList(in.operands) + ", " + std::to_string(in.imm) + fieldComment(in);
    case Op::TupleSet:
    case Op::StructSet: {
      std::string s = in.operands.empty() ? "%?" : value(in.operands[0]);
      s += ", " + std::to_string(in.imm);
      if (in.op == Op::StructSet)
        s += fieldComment(in);
      if (in.operands.size() > 1)
        s += ", " + valueList(in.operands, 1);
      return s;
    }
    case Op::Call:
    case Op::MakeClosure:
      return callee(in.callee) + "(" + valueList(in.operands) + ")";
    case Op::Derivative: {
      static const char *const kinds[] = {"jvp", "vjp", "grad", "valueAndGrad"};
      std::string k = in.imm >= 0 && in.imm < 4 ? kinds[in.imm] : "?";
      return k + " " + valueList(in.operands);
    }
    case Op::CallClosure:
      if (in.operands.empty())
        return "%?()";
      return value(in.operands[0]) + "(" + valueList(in.operands, 1) + ")";
    case Op::Br:
    case Op::CondBr: {
      std::string s = valueList(in.operands);
      for (const Target &t : in.targets)
        s += (s.empty() ? "" : ", ") + target(t);
      return s;
    }
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Rem:
    case Op::Neg: {
      bool unchecked = in.imm == 1 && typeOf(in.result)->kind == sema::TypeKind::Int;
      return valueList(in.operands) + (unchecked ? " /* unchecked */" : "");
    }
    case Op::Undef:
    case Op::Concat:
    case Op::CmpEq:
    case Op::CmpNe:
    case Op::CmpLt:
    case Op::CmpLe:
    case Op::CmpGt:
    case Op::CmpGe:
    case Op::Not:
    case Op::Convert:
    case Op::Sin:
    case Op::Cos:
    case Op::Tan:
    case Op::Exp:
    case Op::Log:
    case Op::Log1p:
    case Op::Sqrt:
    case Op::Tanh:
    case Op::Sigmoid:
    case Op::Relu:
    case Op::Abs:
    case Op::Floor:
    case Op::Ceil:
    case Op::Round:
    case Op::Sign:
    case Op::Pow:
    case Op::Min:
    case Op::Max:
    case Op::Select:
    case Op::StopGradient:
    case Op::StackPush:
    case Op::ArrayMaterialize:
    case Op::ArrayTruncate:
    case Op::ArrayCopy:
    case Op::Tuple:
    case Op::StructMake:
    case Op::ArrayMake:
    case Op::ArrayRepeat:
    case Op::ArrayCount:
    case Op::ArraySet:
    case Op::ArrayAppend:
      return valueList(in.operands) + (in.imm == 1 ? " /* in place */" : "");
    case Op::ArrayAccum:
      return valueList(in.operands) + (in.imm == 1 ? " /* in range */" : "");
    case Op::ArrayGet:
    case Op::Tensor: {
      std::string s = valueList(in.operands);
      if (in.op == Op::Tensor && tensorOpOf(in.imm) == TensorOp::Fused && in.kernel >= 0 &&
          size_t(in.kernel) < fn.kernels.size())
        s += " /* kernel " + std::to_string(in.kernel) + ": " +
             describeKernel(fn.kernels[size_t(in.kernel)]) + " */";
      if (in.extraReuse.empty()) {
        if (in.reuse)
          s += " /* reuses " + value(in.operands[in.reuse - 1]) + " */";
        return s;
      }
      // Several outputs (Note [Fused outputs]): the buffer each may take.
      std::string reuses;
      for (size_t o = 0; o <= in.extraReuse.size(); ++o)
        if (uint8_t r = o == 0 ? in.reuse : in.extraReuse[o - 1]; r && r <= in.operands.size())
          reuses += std::string(reuses.empty() ? "" : ", ") + "output " + std::to_string(o) +
                    " reuses " + value(in.operands[r - 1]);
      if (!reuses.empty())
        s += " /* " + reuses + " */";
      return s;
    }
    case Op::Seed:
    case Op::Retain:
    case Op::Release:
    case Op::Print:
    case Op::Assert:
    case Op::Args:
    case Op::Environment:
    case Op::Clock:
    case Op::Exit:
    case Op::Ret:
    case Op::Unreachable:
      return valueList(in.operands);
    }
    return valueList(in.operands);
  }
};

} // namespace

std::string print(const Module &module, const Function &function) {
  return FunctionPrinter(module, function).print();
}

std::string print(const Module &module) {
  std::string out;
  for (size_t i = 0; i < module.functions.size(); ++i) {
    if (i)
      out += "\n";
    out += print(module, module.functions[i]);
  }
  return out;
}

} // namespace dlc::ir
