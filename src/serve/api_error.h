// serve/api_error.h — errors answered over HTTP: a status and the OpenAI API's error body,
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "temperature", "code": "..."}}
// ApiError is a UserError, so code below serve/ that throws UserError for bad input (a prompt too
// long for the context, a token id outside the vocabulary) is answered 400 the same way.
#pragma once
#include <string>
#include <string_view>

#include "core/error.h"

namespace bitlm {

class ApiError : public UserError {
 public:
  // status: 400 (invalid_request_error), 401 (authentication_error), 404 (not_found_error),
  // 413 (invalid_request_error), 503 (unavailable_error), 500 (server_error).
  ApiError(int status, std::string message, std::string param = {}, std::string code = {});
  int status() const { return status_; }
  std::string_view param() const { return param_; }
  std::string_view code() const { return code_; }
  std::string_view type() const;

 private:
  int status_;
  std::string param_, code_;
};

// The OpenAI error body for an ApiError; for any other exception, a 500 server_error body.
std::string error_body(const ApiError& e);
std::string error_body(int status, std::string_view message, std::string_view param = {},
                       std::string_view code = {});
std::string_view error_type(int status);

}  // namespace bitlm
