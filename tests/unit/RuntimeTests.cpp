// Unit tests for the runtime library dlrt (runtime/dlrt.h): shortest
// round-trip formatting of Float and Double, strings, arrays, allocation,
// services, printing, and the runtime-error functions (run in a forked child
// whose stdout and stderr come back through pipes).
#include "runtime/dlrt.h"

#include <doctest/doctest.h>

#include "tests/unit/ChildProcess.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::string_literals;

namespace {

std::string formatDouble(double v) {
  char buf[32];
  std::memset(buf, 'x', sizeof buf);
  int n = dlrt_format_double(v, buf);
  REQUIRE(n >= 0);
  REQUIRE(n <= 31);
  REQUIRE(buf[n] == '\0');
  return std::string(buf, static_cast<size_t>(n));
}

std::string formatFloat(float v) {
  char buf[32];
  std::memset(buf, 'x', sizeof buf);
  int n = dlrt_format_float(v, buf);
  REQUIRE(n >= 0);
  REQUIRE(n <= 31);
  REQUIRE(buf[n] == '\0');
  return std::string(buf, static_cast<size_t>(n));
}

template <class T> T parse(const std::string &text) {
  if constexpr (sizeof(T) == 4)
    return std::strtof(text.c_str(), nullptr);
  else
    return std::strtod(text.c_str(), nullptr);
}

template <class T> bool sameBits(T a, T b) { return std::memcmp(&a, &b, sizeof(T)) == 0; }

// Significant digits of a formatted finite nonzero value ("0.00120" -> 2).
int significantDigits(const std::string &text) {
  std::string digits;
  for (char c : text) {
    if (c == 'e')
      break;
    if (c >= '0' && c <= '9' && !(digits.empty() && c == '0'))
      digits += c;
  }
  while (digits.size() > 1 && digits.back() == '0')
    digits.pop_back();
  return static_cast<int>(digits.size());
}

// Whether some precision below `digits` already round-trips with printf's
// correctly rounded %e, which would make the output not the shortest.
template <class T> bool shorterPrecisionRoundTrips(T v, int digits) {
  for (int p = 1; p < digits; ++p) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*e", p - 1, static_cast<double>(v));
    if (sameBits(parse<T>(text), v))
      return true;
  }
  return false;
}

// An independent reference for finite values: the shortest digits from
// std::to_chars (Ryu), laid out by the rules of dlrt.h.
template <class T> std::string referenceFormat(T v) {
  char sci[64];
  auto result = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific);
  std::string text(sci, result.ptr);
  bool negative = text[0] == '-';
  if (negative)
    text.erase(0, 1);
  size_t ePos = text.find('e');
  std::string digits;
  for (size_t i = 0; i < ePos; ++i)
    if (text[i] != '.')
      digits += text[i];
  int exponent = std::stoi(text.substr(ePos + 1));
  if (digits == "0")
    return negative ? "-0" : "0";
  std::string out = negative ? "-" : "";
  if (exponent < -5 || exponent >= 16) {
    out += digits[0];
    if (digits.size() > 1)
      out += "." + digits.substr(1);
    char expText[16];
    std::snprintf(expText, sizeof expText, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + expText;
  }
  if (exponent < 0)
    return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  size_t intDigits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= intDigits)
    return out + digits + std::string(intDigits - digits.size(), '0');
  return out + digits.substr(0, intDigits) + "." + digits.substr(intDigits);
}

// The layout rules, checked on the text alone.
void checkLayout(const std::string &text) {
  static const std::regex scientific(R"(-?[1-9](\.[0-9]*[1-9])?e[+-][0-9]{2,3})");
  static const std::regex fixed(R"(-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?)");
  size_t ePos = text.find('e');
  if (ePos != std::string::npos) {
    CHECK_MESSAGE(std::regex_match(text, scientific), text);
    int exponent = std::stoi(text.substr(ePos + 1));
    CHECK_MESSAGE((exponent < -5 || exponent >= 16), text);
    return;
  }
  CHECK_MESSAGE(std::regex_match(text, fixed), text);
}

// --- Forked child runs ----------------------------------------------------

using dlc::testing::ChildResult;
using dlc::testing::runInChild;

void checkFailure(const std::function<void()> &body, const std::string &expectedErr) {
  ChildResult r = runInChild(body);
  CHECK(r.exitStatus == 1);
  CHECK(r.err == expectedErr);
}

DlString *str(const std::string &s) {
  return dlrt_string_new(s.data(), static_cast<int64_t>(s.size()));
}

std::string text(const DlString *s) { return std::string(s->data, static_cast<size_t>(s->length)); }

template <class T> T *elementsOf(DlArray *a) {
  return reinterpret_cast<T *>(reinterpret_cast<char *>(a) + DLRT_ARRAY_HEADER_SIZE);
}

} // namespace

// --- Formatting --------------------------------------------------------------

TEST_CASE("format_double: table") {
  struct Case {
    double value;
    const char *text;
  };
  const Case cases[] = {
      {0.1, "0.1"},
      {2.0, "2"},
      {-1.0, "-1"},
      {0.5, "0.5"},
      {9.5, "9.5"},
      {100.0, "100"},
      {100000.0, "100000"},
      {123.456, "123.456"},
      {123456789.0, "123456789"},
      {1234567.0, "1234567"},
      {0.3, "0.3"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1.0 / 3.0, "0.3333333333333333"},
      {2.0 / 3.0, "0.6666666666666666"},
      {3.141592653589793, "3.141592653589793"},
      {4.35, "4.35"},
      {1e-5, "0.00001"},
      {5e-5, "0.00005"},
      {0.00001234, "0.00001234"},
      {-2.5e-5, "-0.000025"},
      {1e-6, "1e-06"},
      {9.999999e-6, "9.999999e-06"},
      {-2.5e-6, "-2.5e-06"},
      {1e-7, "1e-07"},
      {1e15, "1000000000000000"},
      {9999999999999998.0, "9999999999999998"},
      {1234567890123456.7, "1234567890123456.8"},
      {1e16, "1e+16"},
      {1.5e20, "1.5e+20"},
      {1e21, "1e+21"},
      {1e22, "1e+22"},
      {1e23, "1e+23"},
      {12345678901234567890.0, "1.2345678901234567e+19"},
      {1e100, "1e+100"},
      {1e-100, "1e-100"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {-1.7976931348623157e308, "-1.7976931348623157e+308"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {-2.2250738585072014e-308, "-2.2250738585072014e-308"},
      {5e-324, "5e-324"},
      // 2^-24: printf's 16-digit tie rounds to even, below the power of two,
      // where the round-trip interval is narrower; the next decimal up works.
      {std::ldexp(1.0, -24), "5.960464477539063e-08"},
      {std::ldexp(1.0, 100), "1.2676506002282294e+30"},
      {9007199254740993.0, "9007199254740992"},
      {0.0, "0"},
      {-0.0, "-0"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {-std::numeric_limits<double>::infinity(), "-inf"},
      {std::numeric_limits<double>::quiet_NaN(), "nan"},
      {-std::numeric_limits<double>::quiet_NaN(), "nan"},
  };
  for (const Case &c : cases) {
    CAPTURE(c.text);
    CHECK(formatDouble(c.value) == c.text);
  }
}

TEST_CASE("format_float: table") {
  struct Case {
    float value;
    const char *text;
  };
  const Case cases[] = {
      {0.1f, "0.1"},
      {2.0f, "2"},
      {-1.5f, "-1.5"},
      {0.3f, "0.3"},
      {0.1f + 0.2f, "0.3"},
      {1.0f / 3.0f, "0.33333334"},
      {3.14159265f, "3.1415927"},
      {100000.0f, "100000"},
      {65504.0f, "65504"},
      {16777216.0f, "16777216"},
      {123456789.0f, "123456790"}, // the float is 123456792; 8 digits suffice
      {1e10f, "10000000000"},
      {1e-5f, "0.00001"},
      {1e-6f, "1e-06"},
      {1e-7f, "1e-07"},
      {1e16f, "1e+16"},
      {1.5e20f, "1.5e+20"},
      {3.4028235e38f, "3.4028235e+38"},
      {-3.4028235e38f, "-3.4028235e+38"},
      {1.17549435e-38f, "1.1754944e-38"},
      {1.4e-45f, "1e-45"},
      // A power of two whose nearest 8-digit decimal misses but a neighbour hits.
      {std::ldexp(1.0f, -96), "1.2621775e-29"},
      {0.0f, "0"},
      {-0.0f, "-0"},
      {std::numeric_limits<float>::infinity(), "inf"},
      {-std::numeric_limits<float>::infinity(), "-inf"},
      {std::numeric_limits<float>::quiet_NaN(), "nan"},
  };
  for (const Case &c : cases) {
    CAPTURE(c.text);
    CHECK(formatFloat(c.value) == c.text);
  }
}

TEST_CASE("format: every power of two and its neighbours matches std::to_chars") {
  for (int e = -1074; e <= 1023; ++e) {
    double p = std::ldexp(1.0, e);
    for (double v : {p, std::nextafter(p, 0.0), std::nextafter(p, INFINITY)}) {
      if (!std::isfinite(v) || v == 0)
        continue;
      CAPTURE(e);
      REQUIRE(formatDouble(v) == referenceFormat(v));
      REQUIRE(formatDouble(-v) == referenceFormat(-v));
    }
  }
  for (int e = -149; e <= 127; ++e) {
    float p = std::ldexp(1.0f, e);
    for (float v : {p, std::nextafter(p, 0.0f), std::nextafter(p, INFINITY)}) {
      if (!std::isfinite(v) || v == 0)
        continue;
      CAPTURE(e);
      REQUIRE(formatFloat(v) == referenceFormat(v));
    }
  }
}

TEST_CASE("format: powers of ten and their neighbours") {
  for (int e = -320; e <= 308; ++e) {
    double v = std::strtod(("1e" + std::to_string(e)).c_str(), nullptr);
    if (v == 0 || !std::isfinite(v))
      continue;
    CAPTURE(e);
    std::string t = formatDouble(v);
    CHECK(t == referenceFormat(v));
    CHECK(sameBits(parse<double>(t), v));
    CHECK(formatDouble(std::nextafter(v, 0.0)) == referenceFormat(std::nextafter(v, 0.0)));
    double up = std::nextafter(v, INFINITY);
    CHECK(formatDouble(up) == referenceFormat(up));
  }
  for (int e = -45; e <= 38; ++e) {
    float v = std::strtof(("1e" + std::to_string(e)).c_str(), nullptr);
    if (v == 0 || !std::isfinite(v))
      continue;
    CAPTURE(e);
    CHECK(formatFloat(v) == referenceFormat(v));
  }
}

TEST_CASE("format_double: random bit patterns round-trip and are shortest") {
  std::mt19937_64 rng(20240611);
  int checked = 0;
  for (int i = 0; i < 100000; ++i) {
    uint64_t bits = rng();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    std::string t = formatDouble(v);
    if (std::isnan(v)) {
      REQUIRE(t == "nan");
      continue;
    }
    CAPTURE(t);
    REQUIRE(sameBits(parse<double>(t), v));
    if (v == 0 || std::isinf(v))
      continue;
    checkLayout(t);
    REQUIRE_FALSE(shorterPrecisionRoundTrips(v, significantDigits(t)));
    REQUIRE(t == referenceFormat(v));
    ++checked;
  }
  CHECK(checked > 99000);
}

TEST_CASE("format_float: random bit patterns round-trip and are shortest") {
  std::mt19937 rng(611);
  int checked = 0;
  for (int i = 0; i < 100000; ++i) {
    uint32_t bits = rng();
    float v;
    std::memcpy(&v, &bits, sizeof v);
    std::string t = formatFloat(v);
    if (std::isnan(v)) {
      REQUIRE(t == "nan");
      continue;
    }
    CAPTURE(t);
    REQUIRE(sameBits(parse<float>(t), v));
    if (v == 0 || std::isinf(v))
      continue;
    checkLayout(t);
    REQUIRE_FALSE(shorterPrecisionRoundTrips(v, significantDigits(t)));
    REQUIRE(t == referenceFormat(v));
    ++checked;
  }
  CHECK(checked > 99000);
}

TEST_CASE("format: random values of ordinary magnitude") {
  // Bit patterns rarely land in the fixed-notation range; these do.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> mantissa(-10.0, 10.0);
  std::uniform_int_distribution<int> exponent(-8, 18);
  for (int i = 0; i < 50000; ++i) {
    double v = mantissa(rng) * std::pow(10.0, exponent(rng));
    if (i % 3 == 0)
      v = std::round(v * 1000.0) / 1000.0; // few digits
    std::string t = formatDouble(v);
    CAPTURE(t);
    REQUIRE(t == referenceFormat(v));
    REQUIRE(sameBits(parse<double>(t), v));
    float f = static_cast<float>(v);
    std::string tf = formatFloat(f);
    CAPTURE(tf);
    REQUIRE(tf == referenceFormat(f));
    REQUIRE(sameBits(parse<float>(tf), f));
  }
}

// --- Strings ---------------------------------------------------------------------

TEST_CASE("string_new copies bytes and adds a NUL") {
  char source[] = "hello";
  DlString *s = dlrt_string_new(source, 5);
  source[0] = 'J';
  CHECK(s->refcount == 1);
  CHECK(s->length == 5);
  CHECK(text(s) == "hello");
  CHECK(s->data[5] == '\0');

  DlString *empty = dlrt_string_new(nullptr, 0);
  CHECK(empty->refcount == 1);
  CHECK(empty->length == 0);
  CHECK(empty->data[0] == '\0');

  DlString *withNul = dlrt_string_new("a\0b", 3);
  CHECK(withNul->length == 3);
  CHECK(text(withNul) == std::string("a\0b", 3));
  CHECK(withNul->data[3] == '\0');
}

TEST_CASE("string_concat") {
  DlString *ab = dlrt_string_concat(str("ab"), str("cde"));
  CHECK(ab->refcount == 1);
  CHECK(ab->length == 5);
  CHECK(text(ab) == "abcde");
  CHECK(ab->data[5] == '\0');
  CHECK(text(dlrt_string_concat(str(""), str("x"))) == "x");
  CHECK(text(dlrt_string_concat(str("x"), str(""))) == "x");
  DlString *none = dlrt_string_concat(str(""), str(""));
  CHECK(none->length == 0);
  CHECK(none->data[0] == '\0');
}

TEST_CASE("string_compare is bytewise, shorter is less") {
  CHECK(dlrt_string_compare(str("abc"), str("abc")) == 0);
  CHECK(dlrt_string_compare(str("abc"), str("abd")) == -1);
  CHECK(dlrt_string_compare(str("abd"), str("abc")) == 1);
  CHECK(dlrt_string_compare(str("ab"), str("abc")) == -1);
  CHECK(dlrt_string_compare(str("abc"), str("ab")) == 1);
  CHECK(dlrt_string_compare(str(""), str("")) == 0);
  CHECK(dlrt_string_compare(str(""), str("a")) == -1);
  CHECK(dlrt_string_compare(str("b"), str("abc")) == 1);
  CHECK(dlrt_string_compare(str("Z"), str("a")) == -1);
  // Bytes compare unsigned: UTF-8 sorts after ASCII.
  CHECK(dlrt_string_compare(str("\xc3\xa9"), str("z")) == 1);
  CHECK(dlrt_string_compare(str(std::string("a\0b", 3)), str(std::string("a\0c", 3))) == -1);
  CHECK(dlrt_string_compare(str("a"), str(std::string("a\0", 2))) == -1);
}

// --- Arrays ----------------------------------------------------------------------

TEST_CASE("array_new zero-fills and aligns") {
  DlArray *a = dlrt_array_new(8, 10);
  CHECK(a->refcount == 1);
  CHECK(a->count == 10);
  CHECK(a->capacity >= 10);
  CHECK(a->elemSize == 8);
  CHECK(reinterpret_cast<uintptr_t>(a) % 16 == 0);
  int64_t *items = elementsOf<int64_t>(a);
  CHECK(reinterpret_cast<uintptr_t>(items) % 16 == 0);
  for (int i = 0; i < 10; ++i)
    CHECK(items[i] == 0);
  for (int i = 0; i < 10; ++i)
    items[i] = i * 7; // the whole range is writable

  DlArray *empty = dlrt_array_new(4, 0);
  CHECK(empty->count == 0);
  CHECK(empty->elemSize == 4);

  DlArray *odd = dlrt_array_new(3, 5);
  unsigned char *bytes = elementsOf<unsigned char>(odd);
  for (int i = 0; i < 15; ++i)
    CHECK(bytes[i] == 0);
}

TEST_CASE("empty arrays are shared, immortal and never written") {
  DlArray *a = dlrt_array_new(8, 0);
  DlArray *b = dlrt_array_new(8, 0);
  CHECK(a == b);
  CHECK(a->refcount < 0);
  CHECK(a->capacity == 0);
  CHECK(dlrt_array_new(16, 0) != a); // one per element size
  CHECK(dlrt_array_new(16, 0)->elemSize == 16);
  dlrt_array_free(a); // a no-op
  CHECK(dlrt_array_new(8, 0) == a);

  // Growing one (a push or an in-place append) gives a fresh buffer and
  // leaves the shared one empty.
  DlArray *grown = dlrt_array_grow1(a);
  CHECK(grown != a);
  CHECK(grown->refcount == 1);
  CHECK(grown->count == 0);
  CHECK(grown->capacity >= 1);
  CHECK(a->count == 0);
  CHECK(a->capacity == 0);
  DlArray *tape = dlrt_array_reserve(a, 100);
  CHECK(tape != a);
  CHECK(tape->capacity >= 100);
  CHECK(a->capacity == 0);
  dlrt_array_free(grown);
  dlrt_array_free(tape);
}

TEST_CASE("array_grow1 and array_reserve keep the elements") {
  DlArray *a = dlrt_array_new(8, 3);
  for (int i = 0; i < 3; ++i)
    elementsOf<int64_t>(a)[i] = 10 + i;
  DlArray *g = dlrt_array_grow1(a); // full: grows
  CHECK(g->capacity > 3);
  CHECK(g->count == 3);
  for (int i = 0; i < 3; ++i)
    CHECK(elementsOf<int64_t>(g)[i] == 10 + i);
  CHECK(dlrt_array_grow1(g) == g); // room left: unchanged
  DlArray *r = dlrt_array_reserve(g, 1000);
  CHECK(r->capacity >= 1003);
  CHECK(r->count == 3);
  for (int i = 0; i < 3; ++i)
    CHECK(elementsOf<int64_t>(r)[i] == 10 + i);
  CHECK(dlrt_array_reserve(r, 1000) == r);
  dlrt_array_free(r);
}

TEST_CASE("array_clone copies elements and adds capacity") {
  DlArray *a = dlrt_array_new(4, 5);
  for (int i = 0; i < 5; ++i)
    elementsOf<int32_t>(a)[i] = i + 1;
  a->refcount = 3;

  DlArray *same = dlrt_array_clone(a, 0);
  CHECK(same != a);
  CHECK(same->refcount == 1);
  CHECK(same->count == 5);
  CHECK(same->capacity >= 5);
  CHECK(same->elemSize == 4);
  for (int i = 0; i < 5; ++i)
    CHECK(elementsOf<int32_t>(same)[i] == i + 1);

  DlArray *grown = dlrt_array_clone(a, 100);
  CHECK(grown->refcount == 1);
  CHECK(grown->count == 5);
  CHECK(grown->capacity >= 105);
  CHECK(reinterpret_cast<uintptr_t>(grown) % 16 == 0);
  for (int i = 0; i < 5; ++i)
    CHECK(elementsOf<int32_t>(grown)[i] == i + 1);
  for (int64_t i = 5; i < grown->capacity; ++i)
    elementsOf<int32_t>(grown)[i] = -1; // the extra room is writable
  CHECK(a->refcount == 3);
  CHECK(elementsOf<int32_t>(a)[0] == 1);

  DlArray *one = dlrt_array_clone(a, 1);
  CHECK(one->capacity >= 6);

  DlArray *empty = dlrt_array_clone(dlrt_array_new(8, 0), 1);
  CHECK(empty->count == 0);
  CHECK(empty->capacity >= 1);
  CHECK(empty->elemSize == 8);
}

TEST_CASE("array_clone growing one at a time is amortized") {
  DlArray *a = dlrt_array_new(8, 0);
  int clones = 0;
  for (int64_t i = 0; i < 10000; ++i) {
    if (a->count == a->capacity) {
      a = dlrt_array_clone(a, 1);
      ++clones;
    }
    elementsOf<int64_t>(a)[a->count++] = i;
  }
  CHECK(clones < 40);
  for (int64_t i = 0; i < 10000; ++i)
    REQUIRE(elementsOf<int64_t>(a)[i] == i);
}

TEST_CASE("array_repeat") {
  double x = 2.5;
  DlArray *a = dlrt_array_repeat(&x, sizeof x, 7, "t.dl:1:1");
  CHECK(a->refcount == 1);
  CHECK(a->count == 7);
  CHECK(a->elemSize == 8);
  for (int i = 0; i < 7; ++i)
    CHECK(elementsOf<double>(a)[i] == 2.5);

  struct Triple {
    char a, b, c;
  } t{'x', 'y', 'z'};
  DlArray *triples = dlrt_array_repeat(&t, sizeof t, 1000, "t.dl:1:1");
  std::string bytes(elementsOf<char>(triples), 3000);
  std::string expected;
  for (int i = 0; i < 1000; ++i)
    expected += "xyz";
  CHECK(bytes == expected);

  DlArray *none = dlrt_array_repeat(&x, sizeof x, 0, "t.dl:1:1");
  CHECK(none->count == 0);
  CHECK(none->elemSize == 8);
  CHECK(none->refcount == 1);

  DlArray *one = dlrt_array_repeat(&x, sizeof x, 1, "t.dl:1:1");
  CHECK(one->count == 1);
  CHECK(elementsOf<double>(one)[0] == 2.5);
}

TEST_CASE("array_repeat with a negative count fails at its location") {
  int64_t x = 1;
  checkFailure([&] { dlrt_array_repeat(&x, 8, -3, "main.dl:4:9"); },
               "runtime error: main.dl:4:9: "
               "cannot repeat an element a negative number of times (-3)\n");
}

// --- Memory and services -----------------------------------------------------------

TEST_CASE("alloc is aligned and zeroed") {
  for (int64_t size : {1, 7, 16, 33, 1000, 0}) {
    auto *p = static_cast<unsigned char *>(dlrt_alloc(size));
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % 16 == 0);
    for (int64_t i = 0; i < size; ++i)
      CHECK(p[i] == 0);
  }
}

TEST_CASE("running out of memory is a runtime error") {
  const char *expected = "runtime error: <runtime>: out of memory\n";
  checkFailure([] { dlrt_alloc(INT64_MAX); }, expected);
  checkFailure([] { dlrt_alloc(-1); }, expected);
  checkFailure([] { dlrt_array_new(8, INT64_MAX / 4); }, expected);
  checkFailure([] { dlrt_array_new(1 << 20, int64_t{1} << 50); }, expected);
  checkFailure([] { dlrt_string_new("", INT64_MAX); }, expected);
}

TEST_CASE("args returns argv[1..] as strings") {
  char prog[] = "prog";
  char a1[] = "first";
  char a2[] = "";
  char a3[] = "third arg";
  char *argv[] = {prog, a1, a2, a3, nullptr};
  dlrt_init(4, argv);
  DlArray *args = dlrt_args();
  CHECK(args->refcount == 1);
  CHECK(args->count == 3);
  CHECK(args->elemSize == 8);
  DlString **items = elementsOf<DlString *>(args);
  CHECK(text(items[0]) == "first");
  CHECK(text(items[1]) == "");
  CHECK(text(items[2]) == "third arg");
  CHECK(items[0]->refcount == 1);
  CHECK(dlrt_args() != args); // a fresh array each call

  char *onlyProgram[] = {prog, nullptr};
  dlrt_init(1, onlyProgram);
  DlArray *none = dlrt_args();
  CHECK(none->count == 0);
  CHECK(none->elemSize == 8);
}

TEST_CASE("clock is monotonic seconds") {
  double t0 = dlrt_clock();
  usleep(20000);
  double t1 = dlrt_clock();
  CHECK(t1 - t0 >= 0.015);
  CHECK(t1 - t0 < 5.0);
}

TEST_CASE("finish flushes and returns the code") {
  ChildResult r = runInChild([] {
    dlrt_print_cstr("pending");
    int code = dlrt_finish(3);
    _exit(code); // skips stdio's own flush at exit
  });
  CHECK(r.exitStatus == 3);
  CHECK(r.out == "pending");
  CHECK(r.err.empty());
  CHECK(dlrt_finish(0) == 0);
  CHECK(dlrt_finish(42) == 42);
}

TEST_CASE("exit flushes and ends with the code") {
  ChildResult r = runInChild([] {
    dlrt_print_int(5);
    dlrt_exit(4);
  });
  CHECK(r.exitStatus == 4);
  CHECK(r.out == "5");
  CHECK(runInChild([] { dlrt_exit(0); }).exitStatus == 0);
}

// --- Printing ------------------------------------------------------------------------

TEST_CASE("print functions") {
  ChildResult r = runInChild([] {
    dlrt_print_int(-42);
    dlrt_print_cstr(" ");
    dlrt_print_int(INT64_MIN);
    dlrt_print_newline();
    dlrt_print_float(0.1f);
    dlrt_print_cstr(", ");
    dlrt_print_double(0.1 + 0.2);
    dlrt_print_cstr(", ");
    dlrt_print_double(1e-7);
    dlrt_print_cstr(", ");
    dlrt_print_float(-INFINITY);
    dlrt_print_newline();
    dlrt_print_bool(true);
    dlrt_print_cstr(" ");
    dlrt_print_bool(false);
    dlrt_print_newline();
    dlrt_print_string(str("raw \"text\"\n"));
    dlrt_print_string_quoted(str("a\"b\\c\nd\te"));
    dlrt_print_newline();
    dlrt_print_string(str(std::string("nul\0byte", 8)));
    dlrt_print_string_quoted(str(""));
    dlrt_exit(0);
  });
  CHECK(r.exitStatus == 0);
  CHECK(r.out == "-42 -9223372036854775808\n"
                 "0.1, 0.30000000000000004, 1e-07, -inf\n"
                 "true false\n"
                 "raw \"text\"\n"
                 "\"a\\\"b\\\\c\\nd\\te\"\n"
                 "nul\0byte\"\""s);
  CHECK(r.err.empty());
}

// --- Runtime errors ----------------------------------------------------------------

TEST_CASE("fail writes the message and exits with status 1") {
  checkFailure([] { dlrt_fail("main.dl:3:5", "something broke"); },
               "runtime error: main.dl:3:5: something broke\n");
}

TEST_CASE("fail flushes stdout first") {
  ChildResult r = runInChild([] {
    dlrt_print_cstr("partial output");
    dlrt_fail_div_zero("a.dl:1:2");
  });
  CHECK(r.exitStatus == 1);
  CHECK(r.out == "partial output");
  CHECK(r.err == "runtime error: a.dl:1:2: division by zero\n");
}

TEST_CASE("fail_index") {
  checkFailure([] { dlrt_fail_index("m.dl:2:7", 5, 3); },
               "runtime error: m.dl:2:7: index 5 is out of range for an array of 3 elements\n");
  checkFailure([] { dlrt_fail_index("m.dl:2:7", 1, 1); },
               "runtime error: m.dl:2:7: index 1 is out of range for an array of 1 element\n");
  checkFailure([] { dlrt_fail_index("m.dl:2:7", -1, 0); },
               "runtime error: m.dl:2:7: index -1 is out of range for an array of 0 elements\n");
}

TEST_CASE("fail_div_zero") {
  checkFailure([] { dlrt_fail_div_zero("x.dl:10:20"); },
               "runtime error: x.dl:10:20: division by zero\n");
}

TEST_CASE("fail_overflow") {
  checkFailure([] { dlrt_fail_overflow("x.dl:1:1", "+"); },
               "runtime error: x.dl:1:1: integer overflow in '+'\n");
  checkFailure([] { dlrt_fail_overflow("x.dl:1:1", "unary -"); },
               "runtime error: x.dl:1:1: integer overflow in 'unary -'\n");
}

TEST_CASE("fail_assert") {
  checkFailure([] { dlrt_fail_assert("t.dl:5:3", str("x must be positive")); },
               "runtime error: t.dl:5:3: assertion failed: x must be positive\n");
  checkFailure([] { dlrt_fail_assert("t.dl:5:3", str("")); },
               "runtime error: t.dl:5:3: assertion failed\n");
  checkFailure([] { dlrt_fail_assert("t.dl:5:3", nullptr); },
               "runtime error: t.dl:5:3: assertion failed\n");
  static const DlString *immortal = [] {
    DlString *s = str("literal");
    s->refcount = DLRT_IMMORTAL;
    return s;
  }();
  checkFailure([] { dlrt_fail_assert("t.dl:6:1", immortal); },
               "runtime error: t.dl:6:1: assertion failed: literal\n");
}

TEST_CASE("fail_convert") {
  checkFailure([] { dlrt_fail_convert("c.dl:1:9", NAN); },
               "runtime error: c.dl:1:9: cannot convert nan to Int\n");
  checkFailure([] { dlrt_fail_convert("c.dl:1:9", 1e20); },
               "runtime error: c.dl:1:9: cannot convert 1e+20 to Int\n");
  checkFailure([] { dlrt_fail_convert("c.dl:1:9", -INFINITY); },
               "runtime error: c.dl:1:9: cannot convert -inf to Int\n");
  checkFailure([] { dlrt_fail_convert("c.dl:1:9", 9223372036854775808.0); },
               "runtime error: c.dl:1:9: cannot convert 9.223372036854776e+18 to Int\n");
}

// --- The symbol table ----------------------------------------------------------------

TEST_CASE("Symbols.def lists every function of dlrt.h exactly once") {
  struct Symbol {
    const char *name;
    void *address;
  };
#define DLRT_FN(n) {#n, reinterpret_cast<void *>(&n)},
  const Symbol symbols[] = {
#include "runtime/Symbols.def"
  };
  std::set<std::string> listed;
  for (const Symbol &s : symbols) {
    CHECK(s.address != nullptr);
    CHECK_MESSAGE(listed.insert(s.name).second, "listed twice: " << s.name);
  }

  // Read the declarations from the header next to this test's sources.
  std::string here = __FILE__;
  std::string header = here.substr(0, here.rfind("tests/unit/")) + "runtime/dlrt.h";
  std::ifstream in(header);
  if (!in) {
    MESSAGE("skipping the header cross-check: cannot open " << header);
    return;
  }
  std::stringstream content;
  content << in.rdbuf();
  std::string source = content.str();
  static const std::regex declaration(R"(\b(dlrt_[a-z_0-9]+)\s*\()");
  std::set<std::string> declared;
  for (auto it = std::sregex_iterator(source.begin(), source.end(), declaration);
       it != std::sregex_iterator(); ++it)
    declared.insert((*it)[1].str());
  CHECK(declared.size() >= 28);
  CHECK(declared == listed);
}
