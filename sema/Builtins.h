// The built-in function table (Builtins.def) and the names reserved for
// features of later versions, which sema reports as "not supported yet".
#pragma once

#include <string>

namespace dlc::sema {

enum class Builtin : int {
#define BUILTIN(Id, Name) Id,
#include "sema/Builtins.def"
};

const char *builtinName(Builtin b);
/// The free-function builtin called `name` (print, sin, ...), or -1. Type-named
/// builtins (Int, Float, Double, Array) and members are not found here.
int lookupFreeBuiltin(const std::string &name);
bool isMath1(Builtin b);
/// Builtins that only operate on tensors (creation, reductions, linear
/// algebra, tensor members, and the file builtins loadNPY, saveNPY, loadCSV,
/// save and load); the math builtins apply to tensors as well when given one.
bool isTensorBuiltin(Builtin b);
bool isMath2(Builtin b);
/// True for names the language reserves for a later version (tensor
/// operations, AD operators): using one is "not supported yet", not unknown.
/// The standard-library module that defines function `name` ("nn" for
/// "mse"), or null: an unknown name gets a note to import it.
const char *stdlibModuleOf(const std::string &name);

} // namespace dlc::sema
