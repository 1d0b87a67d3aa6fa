#include "smtp/wire/body_encoder.hpp"

#include <stdexcept>

#if defined(__x86_64__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace smtp::wire {

namespace {

[[noreturn]] void refuse_nul(std::uint64_t offset) {
  throw std::invalid_argument("NUL byte at offset " + std::to_string(offset) +
                              " of the message body (RFC 5321 section 4.5.2)");
}

// Whether byte `c`, following byte `prev`, stops a verbatim run: wire bytes equal message bytes
// only while every line ending is already CRLF (an LF exactly after each CR), there is no NUL,
// and (with dot-stuffing) no '.' starts a line.
template <bool Dots>
inline bool breaks_run(char prev, char c) {
  return c == '\0' || ((c == '\n') != (prev == '\r')) || (Dots && c == '.' && prev == '\n');
}

// The end of the verbatim run that starts at p (p < end, p[0] already accepted): the first q in
// (p, end] where breaks_run(q[-1], q[0]), or end. A CR just before q is in the run; the caller
// decides what it ends. The vector versions test 16 or 32 positions per step, each position
// against the byte before it (a second load one byte back): one vector first, as runs between
// line-initial dots or lone line endings may be short, then four at a time.
template <bool Dots>
const char* run_end_scalar(const char* q, const char* end) {
  while (q != end && !breaks_run<Dots>(q[-1], *q)) ++q;
  return q;
}

#if defined(__SSE2__)
template <bool Dots>
inline __m128i breaks_sse2(const char* at) {
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
  const __m128i prev = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at - 1));
  __m128i bad = _mm_or_si128(_mm_cmpeq_epi8(c, _mm_setzero_si128()),
                             _mm_xor_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('\n')),
                                           _mm_cmpeq_epi8(prev, _mm_set1_epi8('\r'))));
  if constexpr (Dots) {
    bad = _mm_or_si128(bad, _mm_and_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('.')),
                                          _mm_cmpeq_epi8(prev, _mm_set1_epi8('\n'))));
  }
  return bad;
}

template <bool Dots>
const char* run_end_sse2(const char* p, const char* end) {
  const char* q = p + 1;
  auto first = [&](const char* at) {
    return at + __builtin_ctz(static_cast<unsigned>(_mm_movemask_epi8(breaks_sse2<Dots>(at))));
  };
  if (end - q >= 16) {
    if (_mm_movemask_epi8(breaks_sse2<Dots>(q)) != 0) return first(q);
    q += 16;
  }
  while (end - q >= 64) {
    const __m128i b =
        _mm_or_si128(_mm_or_si128(breaks_sse2<Dots>(q), breaks_sse2<Dots>(q + 16)),
                     _mm_or_si128(breaks_sse2<Dots>(q + 32), breaks_sse2<Dots>(q + 48)));
    if (_mm_movemask_epi8(b) != 0) break;
    q += 64;
  }
  while (end - q >= 16) {
    if (_mm_movemask_epi8(breaks_sse2<Dots>(q)) != 0) return first(q);
    q += 16;
  }
  return run_end_scalar<Dots>(q, end);
}
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SMTP_WIRE_AVX2 1
template <bool Dots>
__attribute__((target("avx2"))) inline __m256i breaks_avx2(const char* at) {
  const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
  const __m256i prev = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at - 1));
  __m256i bad = _mm256_or_si256(_mm256_cmpeq_epi8(c, _mm256_setzero_si256()),
                                _mm256_xor_si256(_mm256_cmpeq_epi8(c, _mm256_set1_epi8('\n')),
                                                 _mm256_cmpeq_epi8(prev, _mm256_set1_epi8('\r'))));
  if constexpr (Dots) {
    bad = _mm256_or_si256(bad, _mm256_and_si256(_mm256_cmpeq_epi8(c, _mm256_set1_epi8('.')),
                                                _mm256_cmpeq_epi8(prev, _mm256_set1_epi8('\n'))));
  }
  return bad;
}

__attribute__((target("avx2"))) inline unsigned mask(__m256i b) {
  return static_cast<unsigned>(_mm256_movemask_epi8(b));
}

template <bool Dots>
__attribute__((target("avx2"))) const char* run_end_avx2(const char* p, const char* end) {
  const char* q = p + 1;
  if (end - q >= 32) {
    if (const unsigned m = mask(breaks_avx2<Dots>(q)); m != 0) return q + __builtin_ctz(m);
    q += 32;
  }
  while (end - q >= 128) {
    const __m256i b =
        _mm256_or_si256(_mm256_or_si256(breaks_avx2<Dots>(q), breaks_avx2<Dots>(q + 32)),
                        _mm256_or_si256(breaks_avx2<Dots>(q + 64), breaks_avx2<Dots>(q + 96)));
    if (!_mm256_testz_si256(b, b)) break;
    q += 128;
  }
  while (end - q >= 32) {
    if (const unsigned m = mask(breaks_avx2<Dots>(q)); m != 0) return q + __builtin_ctz(m);
    q += 32;
  }
  return run_end_sse2<Dots>(q - 1, end);
}
#endif

using RunEnd = const char* (*)(const char*, const char*);

// The widest scan this CPU runs, chosen once.
template <bool Dots>
RunEnd pick_run_end() {
#if defined(SMTP_WIRE_AVX2)
  if (__builtin_cpu_supports("avx2")) return run_end_avx2<Dots>;
#endif
#if defined(__SSE2__)
  return run_end_sse2<Dots>;
#else
  return [](const char* p, const char* end) { return run_end_scalar<Dots>(p + 1, end); };
#endif
}

// Chosen when the library loads, not on every call.
template <bool Dots>
const RunEnd kScan = pick_run_end<Dots>();

template <bool Dots>
const char* run_end(const char* p, const char* end) {
  RunEnd scan = kScan<Dots>;
  if (scan == nullptr) scan = pick_run_end<Dots>();  // called before this file's initialisers ran
  // The shortest runs (".." CRLF, a lone LF after a short line) end within a few bytes: looked at
  // one by one, they cost no vector set-up.
  const char* q = p + 1;
  for (int i = 0; i < 4; ++i, ++q) {
    if (q == end || breaks_run<Dots>(q[-1], *q)) return q;
  }
  return scan(q - 1, end);
}

}  // namespace

void BodyEncoder::end_line(std::string& out) {
  out.append("\r\n", 2);
  size_ += 2;
  at_line_start_ = true;
}

// Copies runs at once: between two events the wire bytes are the message bytes, and run_end()
// finds the next event with a vector scan. An event is a lone CR or LF (written as CRLF), a CR at
// the end of the chunk (its LF may start the next one), NUL (refused) or a line-initial '.'
// (doubled, RFC 5321 section 4.5.2).
void BodyEncoder::encode(std::string_view chunk, std::string& out) {
  out.reserve(out.size() + chunk.size() + chunk.size() / 32 + 4);
  const char* const begin = chunk.data();
  const char* const end = begin + chunk.size();
  const char* p = begin;
  while (p != end) {
    if (pending_cr_) {
      pending_cr_ = false;
      end_line(out);
      if (*p == '\n') {  // CRLF: already written
        ++p;
        continue;
      }
    }
    const char c = *p;
    if (c == '\0') refuse_nul(consumed_ + static_cast<std::uint64_t>(p - begin));
    if (c == '\r') {
      pending_cr_ = true;
      ++p;
      continue;
    }
    if (c == '\n') {  // lone LF
      end_line(out);
      ++p;
      continue;
    }
    if (at_line_start_ && c == '.' && dot_stuffing_) out += '.';
    const char* q = dot_stuffing_ ? run_end<true>(p, end) : run_end<false>(p, end);
    // A CR ending the run has no LF after it here: it is an event of its own.
    if (q[-1] == '\r') --q;
    out.append(p, static_cast<std::size_t>(q - p));
    size_ += static_cast<std::size_t>(q - p);
    at_line_start_ = q[-1] == '\n';
    p = q;
  }
  consumed_ += chunk.size();
}

void BodyEncoder::encode(std::span<const std::byte> chunk, std::string& out) {
  encode(std::string_view(reinterpret_cast<const char*>(chunk.data()), chunk.size()), out);
}

void BodyEncoder::finish_chunked(std::string& out) {
  if (pending_cr_) {
    pending_cr_ = false;
    end_line(out);
  }
  if (!at_line_start_) end_line(out);
}

void BodyEncoder::finish(std::string& out) {
  finish_chunked(out);
  out += ".\r\n";
}

std::string BodyEncoder::encode_all(std::string_view message) {
  BodyEncoder e;
  std::string out;
  e.encode(message, out);
  e.finish(out);
  return out;
}

std::size_t BodyEncoder::measure(std::string_view message) {
  // Every CR, LF or CRLF becomes one CRLF; everything else counts once. Same runs as encode().
  std::size_t size = 0;
  bool line_start = true;
  const char* const begin = message.data();
  const char* const end = begin + message.size();
  const char* p = begin;
  while (p != end) {
    const char c = *p;
    if (c == '\0') refuse_nul(static_cast<std::uint64_t>(p - begin));
    if (c == '\r' || c == '\n') {
      p += c == '\r' && p + 1 != end && p[1] == '\n' ? 2 : 1;
      size += 2;
      line_start = true;
      continue;
    }
    const char* q = run_end<false>(p, end);
    if (q[-1] == '\r') --q;
    size += static_cast<std::size_t>(q - p);
    line_start = q[-1] == '\n';
    p = q;
  }
  return size + (line_start ? 0 : 2);
}

}  // namespace smtp::wire
