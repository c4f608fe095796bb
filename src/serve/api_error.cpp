// serve/api_error.cpp — see api_error.h.
#include "serve/api_error.h"

#include <nlohmann/json.hpp>

namespace bitlm {

ApiError::ApiError(int status, std::string message, std::string param, std::string code)
    : UserError(std::move(message)), status_(status), param_(std::move(param)), code_(std::move(code)) {}

std::string_view ApiError::type() const { return error_type(status_); }

std::string_view error_type(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 404: return "not_found_error";
    case 503: return "unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string error_body(int status, std::string_view message, std::string_view param, std::string_view code) {
  nlohmann::json e = {{"message", message}, {"type", error_type(status)}};
  e["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  e["code"] = code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code);
  // replace: a message may quote the request's bytes, which need not be UTF-8
  return nlohmann::json{{"error", e}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_body(const ApiError& e) { return error_body(e.status(), e.what(), e.param(), e.code()); }

}  // namespace bitlm
