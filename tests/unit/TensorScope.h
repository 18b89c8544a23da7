// Test helper shared by the tensor runtime unit tests: a scope that releases
// the tensors it is handed and checks, when it ends, that no tensor created
// in it is still alive. Include after <doctest/doctest.h>.
#pragma once

#include "runtime/dlrt.h"

#include <vector>

namespace dlc::testing {

struct TensorScope {
  int64_t start = dlrt_t_live_count();
  std::vector<DlTensor *> owned;
  DlTensor *operator()(DlTensor *t) {
    owned.push_back(t);
    return t;
  }
  ~TensorScope() {
    for (DlTensor *t : owned)
      dlrt_t_release(t);
    CHECK(dlrt_t_live_count() == start);
  }
};

} // namespace dlc::testing
