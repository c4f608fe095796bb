// core/error.h — the error types and assertion macros.
// UserError (and subtypes) = bad input the user can fix: the CLI prints one line and exits 2.
// BITLM_ASSERT = broken invariant in our own code: prints file:line and aborts (never for user input).
#pragma once
#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace bitlm {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file whose content is malformed; the message starts with the path.
class FormatError : public UserError {
 public:
  FormatError(std::string_view path, std::string_view what)
      : UserError(fmt::format("{}: {}", path, what)) {}
};

// A file that cannot be opened, read or written.
class IoError : public UserError {
 public:
  using UserError::UserError;
};

[[noreturn]] void assert_fail(const char* expr, const char* file, int line);

}  // namespace bitlm

#define BITLM_ASSERT(cond) \
  ((cond) ? (void)0 : ::bitlm::assert_fail(#cond, __FILE__, __LINE__))

#ifdef NDEBUG
#define BITLM_DASSERT(cond) ((void)0)
#else
#define BITLM_DASSERT(cond) BITLM_ASSERT(cond)
#endif

// Validates user input: throws UserError with a fmt-formatted message.
#define BITLM_CHECK(cond, ...) \
  ((cond) ? (void)0 : throw ::bitlm::UserError(fmt::format(__VA_ARGS__)))
