// The built-in function table.
#include "sema/Builtins.h"

#include "frontend/ModuleLoader.h"
#include "frontend/Stdlib.h"

#include <cctype>
#include <cstring>
#include <string_view>

namespace dlc::sema {

namespace {
const char *const kNames[] = {
#define BUILTIN(Id, Name) Name,
#include "sema/Builtins.def"
};
constexpr int kCount = int(sizeof(kNames) / sizeof(kNames[0]));

bool isTypeNamed(Builtin b) {
  switch (b) {
  case Builtin::ToInt:
  case Builtin::ToFloat:
  case Builtin::ToDouble:
  case Builtin::ArrayRepeating:
  case Builtin::ArrayAppend:
  case Builtin::ArrayCount:
  case Builtin::Move:
  case Builtin::TensorInit:
  case Builtin::TensorShape:
  case Builtin::TensorRank:
  case Builtin::TensorCount:
  case Builtin::TensorItem:
  case Builtin::TensorTransposed:
  case Builtin::TensorToFloat:
    return true;
  default:
    return false;
  }
}

// Names of LANGUAGE.md §7 that the standard library will define (a later
// issue): using one is "not supported yet" rather than an unknown name.
} // namespace

const char *builtinName(Builtin b) { return kNames[int(b)]; }

int lookupFreeBuiltin(const std::string &name) {
  for (int i = 0; i < kCount; ++i)
    if (name == kNames[i] && !isTypeNamed(Builtin(i)))
      return i;
  return -1;
}

bool isMath1(Builtin b) {
  switch (b) {
#define MATH1(Id, Name) case Builtin::Id:
#define BUILTIN(Id, Name)
#define MATH2(Id, Name)
#include "sema/Builtins.def"
    return true;
  default:
    return false;
  }
}

bool isTensorBuiltin(Builtin b) {
  switch (b) {
  case Builtin::Rsqrt:
  case Builtin::Step:
  case Builtin::Broadcast:
  case Builtin::Unbroadcast:
  case Builtin::Zeros:
  case Builtin::Ones:
  case Builtin::Full:
  case Builtin::Arange:
  case Builtin::Randn:
  case Builtin::Rand:
  case Builtin::GlorotUniform:
  case Builtin::Seed:
  case Builtin::Sum:
  case Builtin::Mean:
  case Builtin::LogSumExp:
  case Builtin::Argmax:
  case Builtin::Matmul:
  case Builtin::Transpose:
  case Builtin::Reshape:
  case Builtin::Where:
  case Builtin::Softmax:
  case Builtin::LogSoftmax:
  case Builtin::Clip:
  case Builtin::LeakyRelu:
  case Builtin::Elu:
  case Builtin::Gelu:
  case Builtin::Softplus:
  case Builtin::Variance:
  case Builtin::Flatten:
  case Builtin::Squeeze:
  case Builtin::Unsqueeze:
  case Builtin::Concat:
  case Builtin::Stack:
  case Builtin::Slice:
  case Builtin::Gather:
  case Builtin::OneHot:
  case Builtin::LoadIdx:
  case Builtin::LoadNpy:
  case Builtin::SaveNpy:
  case Builtin::LoadCsv:
  case Builtin::SaveModel:
  case Builtin::LoadModel:
  case Builtin::Embedding:
  case Builtin::Dropout:
  case Builtin::BatchNorm:
  case Builtin::LayerNorm:
  case Builtin::Conv2d:
  case Builtin::MaxPool2d:
  case Builtin::AvgPool2d:
  case Builtin::TensorInit:
  case Builtin::TensorItem:
  case Builtin::TensorTransposed:
  case Builtin::TensorToFloat:
    return true;
  default:
    return false;
  }
}

bool isMath2(Builtin b) { return b == Builtin::Pow || b == Builtin::Min || b == Builtin::Max; }

const char *stdlibModuleOf(const std::string &name) {
  // A top-level `fn NAME`, `struct NAME` or `trait NAME` of a module's text.
  auto isIdent = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (unsigned m = 0; m < kStdlibModuleCount; ++m) {
    if (std::string_view(kStdlibModules[m].name) == kDerivativeRulesModule)
      continue; // loaded with every program, and not for the user to name
    std::string_view text = kStdlibModules[m].text;
    for (const char *keyword : {"fn ", "struct ", "trait "}) {
      std::string needle = std::string("\n") + keyword + name;
      for (size_t at = text.find(needle); at != std::string_view::npos;
           at = text.find(needle, at + 1)) {
        size_t end = at + needle.size();
        if (end >= text.size() || !isIdent(text[end]))
          return kStdlibModules[m].name;
      }
    }
  }
  return nullptr;
}

} // namespace dlc::sema
