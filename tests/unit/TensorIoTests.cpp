// Unit tests for the file functions of the runtime (runtime/tensor_io.c,
// runtime/model_io.c): saveNPY writes the bytes NumPy writes, a failed load
// of a model changes nothing (the results are made only after the whole file
// is checked), and save replaces the target through a temporary file that
// never stays behind.
#include "runtime/tensor_internal.h"

#include <doctest/doctest.h>

#include "tests/unit/ChildProcess.h"
#include "tests/unit/TensorScope.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

namespace {

constexpr const char *L = dlc::testing::kTestLoc;

DlString *str(const std::string &s) { return dlrt_string_new(s.data(), static_cast<int64_t>(s.size())); }

DlTensor *floats(std::vector<int64_t> shape, std::vector<float> values) {
  DlTensor *t = dlrtTensorNew(DLRT_F32, int32_t(shape.size()), shape.data());
  REQUIRE(t->count == int64_t(values.size()));
  std::memcpy(t->data, values.data(), values.size() * sizeof(float));
  return t;
}

std::vector<float> valuesOf(const DlTensor *t) {
  const float *p = static_cast<const float *>(t->data);
  return std::vector<float>(p, p + t->count);
}

std::string fileText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> filesIn(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names.push_back(e->d_name);
    closedir(d);
  }
  return names;
}

/// A fresh scratch directory, removed (with its files) at the end.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    char name[] = "/tmp/dlc-io-test-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~ScratchDir() {
    for (const std::string &f : filesIn(path))
      unlink((path + "/" + f).c_str());
    rmdir(path.c_str());
  }
};

// A load_model call run through dlrt_call_trapping (the REPL's trap), so a
// failure returns here instead of ending the process.
struct LoadCall {
  const DlString *path;
  int64_t n;
  DlString *const *names;
  DlTensor *const *like;
  DlTensor **out;
};

void runLoad(void **slots) {
  auto *c = static_cast<LoadCall *>(slots[0]);
  dlrt_load_model(c->path, c->n, c->names, c->like, c->out, L);
}

bool loadTrapping(LoadCall call) {
  void *slots[] = {&call};
  return dlrt_call_trapping(runLoad, slots) == 0;
}

} // namespace

TEST_CASE("saveNPY writes the bytes NumPy writes") {
  dlc::testing::TensorScope s;
  ScratchDir dir;
  std::string path = dir.path + "/f.npy";
  DlTensor *t = s(floats({2, 3}, {0.5f, -1.25f, 3, 4, 5.5f, -6}));
  dlrt_t_save_npy(t, str(path), L);
  // np.save of the same float32 array (tests/stdlib/gen_io_fixtures.py).
  std::string numpy = fileText(DLC_SOURCE_DIR "/tests/programs/data/npy_f4.npy");
  REQUIRE(numpy.size() == 152);
  CHECK(fileText(path) == numpy);
  // And it reads back.
  DlTensor *back = s(dlrt_t_load_npy(str(path), DLRT_F32, L));
  CHECK(valuesOf(back) == valuesOf(t));
  CHECK(filesIn(dir.path) == std::vector<std::string>{"f.npy"});
}

TEST_CASE("save and load a model: round trip, and a failed load changes nothing") {
  dlc::testing::TensorScope s;
  ScratchDir dir;
  std::string path = dir.path + "/m.dlm";
  DlString *names[] = {str("l1.weight"), str("l1.bias")};
  DlTensor *saved[] = {s(floats({2, 2}, {1, 2, 3, 4})), s(floats({2}, {5, 6}))};
  dlrt_save_model(str(path), 2, names, saved, L);
  CHECK(filesIn(dir.path) == std::vector<std::string>{"m.dlm"});

  // Round trip into a model of the same shapes.
  DlTensor *like[] = {s(floats({2, 2}, {0, 0, 0, 0})), s(floats({2}, {0, 0}))};
  DlTensor *out[] = {nullptr, nullptr};
  REQUIRE(loadTrapping({str(path), 2, names, like, out}));
  s(out[0]);
  s(out[1]);
  CHECK(valuesOf(out[0]) == std::vector<float>{1, 2, 3, 4});
  CHECK(valuesOf(out[1]) == std::vector<float>{5, 6});
  CHECK(out[1]->rank == 1);

  // A shape mismatch in the second field: the first matched, but no result
  // is made and the "model" (like) is untouched.
  DlTensor *wrongLike[] = {s(floats({2, 2}, {9, 9, 9, 9})), s(floats({3}, {7, 7, 7}))};
  DlTensor *sentinel = reinterpret_cast<DlTensor *>(uintptr_t(0x1234));
  DlTensor *noOut[] = {sentinel, sentinel};
  int64_t live = dlrt_t_live_count();
  CHECK_FALSE(loadTrapping({str(path), 2, names, wrongLike, noOut}));
  CHECK(noOut[0] == sentinel);
  CHECK(noOut[1] == sentinel);
  CHECK(dlrt_t_live_count() == live);
  CHECK(valuesOf(wrongLike[0]) == std::vector<float>{9, 9, 9, 9});

  // A missing path and a missing file fail the same way.
  DlString *other[] = {str("l1.weight"), str("l2.bias")};
  CHECK_FALSE(loadTrapping({str(path), 2, other, like, noOut}));
  CHECK_FALSE(loadTrapping({str(dir.path + "/none.dlm"), 2, names, like, noOut}));
  CHECK(noOut[0] == sentinel);
  CHECK(noOut[1] == sentinel);
}

TEST_CASE("save replaces the target atomically and leaves no temporary file") {
  dlc::testing::TensorScope s;
  ScratchDir dir;
  std::string path = dir.path + "/m.dlm";
  DlString *names[] = {str("w")};
  DlTensor *first[] = {s(floats({1}, {1}))};
  DlTensor *second[] = {s(floats({3}, {1, 2, 3}))};
  dlrt_save_model(str(path), 1, names, first, L);
  std::string before = fileText(path);
  dlrt_save_model(str(path), 1, names, second, L);
  std::string after = fileText(path);
  CHECK(after != before);
  CHECK(after.size() == before.size() + 8);
  CHECK(filesIn(dir.path) == std::vector<std::string>{"m.dlm"});

  // A save that cannot finish (the target is a directory, so the rename
  // fails) fails with the reason and removes its temporary file.
  std::string sub = dir.path + "/sub";
  REQUIRE(mkdir(sub.c_str(), 0700) == 0);
  dlc::testing::checkFailure([&] { dlrt_save_model(str(sub), 1, names, first, L); },
                             "'" + sub + "' cannot be written: Is a directory");
  CHECK(filesIn(dir.path).size() == 2);
  rmdir(sub.c_str());
  CHECK(fileText(path) == after);
}

TEST_CASE("loadNPY and loadCSV errors") {
  ScratchDir dir;
  std::string csv = dir.path + "/a.csv";
  std::ofstream(csv) << "1,2\n3\n";
  dlc::testing::checkFailure([&] { dlrt_t_load_csv(str(csv), DLRT_F32, L); },
                             "'" + csv + "' line 2 has 1 column, expected 2");
  dlc::testing::checkFailure([&] { dlrt_t_load_npy(str(csv), DLRT_F32, L); },
                             "'" + csv + "' is not a .npy file");
  dlc::testing::checkFailure([&] { dlrt_t_load_npy(str(""), DLRT_F32, L); },
                             "'' is not a valid file name");
}
