/* The same MLP step as mlp.dl, written by hand in C with OpenBLAS: forward
 * and backward passes with cblas_sgemm, buffers allocated once, every update
 * in place. Build: cc -O3 -march=native mlp.c -lopenblas -lm. Prints steps/s. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { B = 128, NI = 784, NH = 512, NO = 10 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static float *buf(size_t n) { return aligned_alloc(64, ((n * sizeof(float) + 63) / 64) * 64); }
static uint64_t state = 88172645463325252ull;
static float uniform(void) { /* xorshift: inputs only, not compared with dlc */
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return (float)((state >> 11) * (1.0 / 9007199254740992.0));
}
static void glorot(float *w, int i, int o) {
  float lim = sqrtf(6.0f / (i + o));
  for (int k = 0; k < i * o; ++k)
    w[k] = (uniform() * 2 - 1) * lim;
}

static float *x, *y, *w1, *b1, *w2, *b2, *w3, *b3;      /* inputs, parameters */
static float *g[6], *v[6], *p[6];                          /* grads, velocities, params */
static float *h1, *h2, *lg, *dl, *d2, *d1;                 /* activations, adjoints */
static const int sizes[6] = {NI * NH, NH, NH * NH, NH, NH * NO, NO};

static void dense(const float *in, const float *w, const float *b, float *out, int n, int k, int m,
                  int relu) {
  for (int r = 0; r < n; ++r)
    memcpy(out + (size_t)r * m, b, m * sizeof(float));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, m, k, 1, in, k, w, m, 1, out, m);
  if (relu)
    for (int i = 0; i < n * m; ++i)
      out[i] = out[i] > 0 ? out[i] : 0;
}
/* dW = in^T d, db = column sums of d, din = d W^T masked by relu(in) > 0. */
static void backward(const float *in, const float *w, const float *d, float *dw, float *db,
                     float *din, int n, int k, int m) {
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, m, n, 1, in, k, d, m, 0, dw, m);
  memset(db, 0, m * sizeof(float));
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < m; ++c)
      db[c] += d[(size_t)r * m + c];
  if (din) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, m, 1, d, m, w, m, 0, din, k);
    for (int i = 0; i < n * k; ++i)
      din[i] = in[i] > 0 ? din[i] : 0;
  }
}

static float step(void) {
  dense(x, w1, b1, h1, B, NI, NH, 1);
  dense(h1, w2, b2, h2, B, NH, NH, 1);
  dense(h2, w3, b3, lg, B, NH, NO, 0);
  float loss = 0;
  for (int r = 0; r < B; ++r) { /* softmax cross-entropy and its adjoint */
    float *z = lg + r * NO, mx = z[0], s = 0;
    for (int c = 1; c < NO; ++c)
      mx = z[c] > mx ? z[c] : mx;
    for (int c = 0; c < NO; ++c)
      s += expf(z[c] - mx);
    float lse = mx + logf(s);
    for (int c = 0; c < NO; ++c) {
      loss -= y[r * NO + c] * (z[c] - lse);
      dl[r * NO + c] = (expf(z[c] - lse) - y[r * NO + c]) / B;
    }
  }
  backward(h2, w3, dl, g[4], g[5], d2, B, NH, NO);
  backward(h1, w2, d2, g[2], g[3], d1, B, NH, NH);
  backward(x, w1, d1, g[0], g[1], NULL, B, NI, NH);
  for (int k = 0; k < 6; ++k)
    for (int i = 0; i < sizes[k]; ++i) {
      v[k][i] = 0.9f * v[k][i] + g[k][i];
      p[k][i] -= 0.01f * v[k][i];
    }
  return loss / B;
}

int main(void) {
  x = buf(B * NI), y = buf(B * NO);
  for (int i = 0; i < B * NI; ++i)
    x[i] = uniform();
  memset(y, 0, B * NO * sizeof(float));
  for (int r = 0; r < B; ++r)
    y[r * NO + (r * 7) % NO] = 1;
  w1 = buf(NI * NH), b1 = buf(NH), w2 = buf(NH * NH), b2 = buf(NH), w3 = buf(NH * NO), b3 = buf(NO);
  glorot(w1, NI, NH), glorot(w2, NH, NH), glorot(w3, NH, NO);
  memset(b1, 0, NH * 4), memset(b2, 0, NH * 4), memset(b3, 0, NO * 4);
  float *ps[6] = {w1, b1, w2, b2, w3, b3};
  for (int k = 0; k < 6; ++k) {
    p[k] = ps[k], g[k] = buf(sizes[k]), v[k] = buf(sizes[k]);
    memset(v[k], 0, sizes[k] * sizeof(float));
  }
  h1 = buf(B * NH), h2 = buf(B * NH), lg = buf(B * NO), dl = buf(B * NO), d2 = buf(B * NH),
  d1 = buf(B * NH);
  float first = step(), last = first;
  for (int k = 0; k < 19; ++k)
    step();
  int steps = 200;
  double t = now();
  for (int k = 0; k < steps; ++k)
    last = step();
  printf("C steps/s %g loss %g -> %g\n", steps / (now() - t), first, last);
  return 0;
}
