/* Shortest round-trip text for Float and Double: the fewest significant digits
 * that strtof/strtod read back as the identical value, laid out in fixed
 * notation when the decimal exponent is in [-5, 16) and as %e-style scientific
 * otherwise. See Note [Shortest digits] at the bottom. */
#include "runtime/dlrt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MaxDigits = 17 };

/* Decimal digits of a value: value = 0.d1d2...dn × 10^(exponent+1), i.e.
 * d1.d2...dn × 10^exponent, with d1 != 0. */
typedef struct Decimal {
  char digits[MaxDigits + 1];
  int count;
  int exponent;
} Decimal;

/* Rounds |v| to `precision` significant digits with printf (correctly
 * rounded in glibc) and splits the result into digits and exponent. Reading
 * the digits back by hand keeps this independent of the locale's decimal
 * point. */
static void roundToDigits(double v, int precision, Decimal *out) {
  char text[64];
  snprintf(text, sizeof text, "%.*e", precision - 1, fabs(v));
  out->count = 0;
  const char *p = text;
  for (; *p && *p != 'e'; ++p)
    if (*p >= '0' && *p <= '9')
      out->digits[out->count++] = *p;
  out->digits[out->count] = '\0';
  out->exponent = *p == 'e' ? atoi(p + 1) : 0;
}

/* The digits as text that strtod/strtof parse without a decimal point
 * ("-12345e-4"), so the check does not depend on the locale either. */
static void integerMantissaText(bool negative, const Decimal *d, char *text, size_t size) {
  snprintf(text, size, "%s%se%d", negative ? "-" : "", d->digits, d->exponent - (d->count - 1));
}

static bool roundTrips(double v, bool isFloat, const Decimal *d) {
  char text[64];
  integerMantissaText(signbit(v), d, text, sizeof text);
  if (isFloat)
    return strtof(text, NULL) == (float)v;
  return strtod(text, NULL) == v;
}

/* Steps the digits by one unit in the last place, up or down, keeping
 * `count` significant digits (999 -> 1000 becomes 100 with exponent + 1;
 * 100 - 1 becomes 999 with exponent - 1). */
static void stepLastDigit(Decimal *d, int direction) {
  if (direction > 0) {
    int i = d->count - 1;
    for (; i >= 0 && d->digits[i] == '9'; --i)
      d->digits[i] = '0';
    if (i >= 0) {
      ++d->digits[i];
      return;
    }
    d->digits[0] = '1';
    ++d->exponent;
    return;
  }
  int i = d->count - 1;
  for (; i >= 0 && d->digits[i] == '0'; --i)
    d->digits[i] = '9';
  --d->digits[i]; /* digits[0] >= '1', so some digit can borrow. */
  if (d->digits[0] != '0')
    return;
  memset(d->digits, '9', (size_t)d->count);
  --d->exponent;
}

/* Whether some decimal with `precision` significant digits reads back as v;
 * if so, stores the closest such decimal in *out. */
static bool shortestAt(double v, bool isFloat, int precision, Decimal *out) {
  Decimal nearest;
  roundToDigits(v, precision, &nearest);
  if (roundTrips(v, isFloat, &nearest)) {
    *out = nearest;
    return true;
  }
  for (int direction = -1; direction <= 1; direction += 2) {
    Decimal neighbour = nearest;
    stepLastDigit(&neighbour, direction);
    if (roundTrips(v, isFloat, &neighbour)) {
      *out = neighbour;
      return true;
    }
  }
  return false;
}

/* The fewest digits that read back as v, by bisection over the precision
 * (Note [Shortest digits]); `maxDigits` digits always suffice. */
static void shortestDigits(double v, bool isFloat, int maxDigits, Decimal *out) {
  int lo = 1;
  int hi = maxDigits;
  bool haveHi = false; /* whether *out holds the digits for `hi` */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (shortestAt(v, isFloat, mid, out)) {
      hi = mid;
      haveHi = true;
    } else {
      lo = mid + 1;
    }
  }
  if (!haveHi)
    shortestAt(v, isFloat, maxDigits, out); /* always succeeds */
}

/* Lays out sign, digits and exponent; returns the length written to buf. */
static int layout(bool negative, Decimal *d, char *buf) {
  /* Shortest digits never end in 0 (Note [Shortest digits]), but keep the
   * layout correct for any input. */
  while (d->count > 1 && d->digits[d->count - 1] == '0')
    d->digits[--d->count] = '\0';
  char *out = buf;
  if (negative)
    *out++ = '-';
  int e = d->exponent;
  if (e < -5 || e >= 16) {
    *out++ = d->digits[0];
    if (d->count > 1) {
      *out++ = '.';
      memcpy(out, d->digits + 1, (size_t)(d->count - 1));
      out += d->count - 1;
    }
    out += sprintf(out, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    return (int)(out - buf);
  }
  if (e < 0) {
    *out++ = '0';
    *out++ = '.';
    for (int i = 0; i < -e - 1; ++i)
      *out++ = '0';
    memcpy(out, d->digits, (size_t)d->count);
    out += d->count;
    *out = '\0';
    return (int)(out - buf);
  }
  /* e in [0, 16): e+1 integer digits, padded with zeros past the digits. */
  for (int i = 0; i <= e; ++i)
    *out++ = i < d->count ? d->digits[i] : '0';
  if (d->count > e + 1) {
    *out++ = '.';
    memcpy(out, d->digits + e + 1, (size_t)(d->count - e - 1));
    out += d->count - e - 1;
  }
  *out = '\0';
  return (int)(out - buf);
}

/* inf, -inf, nan, 0 and -0; returns -1 for other values. */
static int formatSpecial(double v, char *buf) {
  const char *text = NULL;
  if (isnan(v))
    text = "nan";
  else if (isinf(v))
    text = v < 0 ? "-inf" : "inf";
  else if (v == 0)
    text = signbit(v) ? "-0" : "0";
  if (!text)
    return -1;
  strcpy(buf, text);
  return (int)strlen(text);
}

int dlrt_format_double(double v, char *buf) {
  int special = formatSpecial(v, buf);
  if (special >= 0)
    return special;
  Decimal d;
  shortestDigits(v, false, MaxDigits, &d);
  return layout(signbit(v), &d, buf);
}

int dlrt_format_float(float v, char *buf) {
  int special = formatSpecial(v, buf);
  if (special >= 0)
    return special;
  Decimal d;
  /* Rounding the float's exact double value, then checking with strtof,
   * finds the shortest text in float precision. */
  shortestDigits((double)v, true, 9, &d);
  return layout(signbit(v), &d, buf);
}

/* Note [Shortest digits]
 * Let I be the interval of reals that round to v. Some p-digit decimal lies
 * in I exactly when the p-digit decimal nearest v does, or, if that one falls
 * just outside (I is lopsided at powers of two, and printf rounds exact ties
 * to even), its neighbour one unit away on the other side of v; nothing
 * further out can be in I when a nearer one is not. A p-digit decimal is also
 * a (p+1)-digit one, so "some p-digit decimal reads back as v" is monotone in
 * p and bisection finds the least p in at most five probes; 17 digits always
 * suffice for a double and 9 for a float. The winner is the closest p-digit
 * decimal in I, the same digits as Ryu or C++ std::to_chars, and it never
 * ends in 0 (p-1 digits would have done). The longest result is
 * "-2.2250738585072014e-308" (24 characters), within the 31 dlrt.h allows. */
