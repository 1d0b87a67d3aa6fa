// A timeout as smtplib takes it: a number of seconds (`30`, `2.5`), a std::chrono duration
// (`30s`, `500ms`), or none (std::nullopt, the default: wait forever, smtplib's timeout=None).
//
// Example (compiled by the tests):
//   smtp::SMTP s("mx.example.org", 25, std::nullopt, 30);  // as smtplib.SMTP(..., timeout=30)
//   s.set_timeout(std::chrono::milliseconds(1500));
//   s.set_timeout(2.5);
//   s.set_timeout(std::nullopt);                           // wait forever
//
// It is a std::optional<std::chrono::duration<double>> (seconds) with the conversions above, so
// `if (t)`, `*t`, `t.value()` and `t == std::nullopt` work as before.
#pragma once

#include <chrono>
#include <concepts>
#include <optional>
#include <type_traits>

namespace smtp {

class Timeout : public std::optional<std::chrono::duration<double>> {
 public:
  using seconds = std::chrono::duration<double>;
  using base = std::optional<seconds>;

  constexpr Timeout() noexcept = default;
  constexpr Timeout(std::nullopt_t) noexcept {}  // NOLINT: implicit, as std::optional
  constexpr Timeout(const base& b) : base(b) {}  // NOLINT
  template <class Rep, class Period>
  constexpr Timeout(std::chrono::duration<Rep, Period> d)  // NOLINT
      : base(std::chrono::duration_cast<seconds>(d)) {}
  template <class Rep, class Period>
  constexpr Timeout(std::optional<std::chrono::duration<Rep, Period>> d)  // NOLINT
      : base(d ? base(std::chrono::duration_cast<seconds>(*d)) : base()) {}
  // Seconds as a plain number, as smtplib's timeout=30. (Not bool: `Timeout(true)` is a bug.)
  template <class N>
  requires(std::is_arithmetic_v<N> && !std::same_as<N, bool>) constexpr Timeout(N secs)
      : base(seconds(static_cast<double>(secs))) {}  // NOLINT
};

}  // namespace smtp
