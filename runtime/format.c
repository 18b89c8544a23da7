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

static bool roundTripsDouble(double v, const Decimal *d) {
  char text[64];
  integerMantissaText(signbit(v), d, text, sizeof text);
  return strtod(text, NULL) == v;
}

static bool roundTripsFloat(float v, const Decimal *d) {
  char text[64];
  integerMantissaText(signbit(v), d, text, sizeof text);
  return strtof(text, NULL) == v;
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
  for (int precision = 1; precision <= MaxDigits; ++precision) {
    roundToDigits(v, precision, &d);
    if (roundTripsDouble(v, &d))
      break;
  }
  return layout(signbit(v), &d, buf);
}

int dlrt_format_float(float v, char *buf) {
  int special = formatSpecial(v, buf);
  if (special >= 0)
    return special;
  Decimal d;
  /* Nine significant digits always identify a float. */
  for (int precision = 1; precision <= 9; ++precision) {
    roundToDigits((double)v, precision, &d);
    if (roundTripsFloat(v, &d))
      break;
  }
  return layout(signbit(v), &d, buf);
}

/* Note [Shortest digits]
 * For each precision p from 1 up, the candidate is |v| correctly rounded to p
 * significant digits; the first candidate that reads back as v wins. 17
 * digits always round-trip a double and 9 a float, so the loop always ends
 * with a match. The winner never ends in 0: if it did, it would also be the
 * value rounded to p-1 digits and would have won one step earlier. The
 * longest result is "-1.2345678901234567e-308" (24 characters), within the
 * 31 that dlrt.h promises. */
