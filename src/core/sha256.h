// core/sha256.h — SHA-256 (FIPS 180-4) of a byte span, as lowercase hex; used to pin decoded
// weight patterns against fixtures (tests) and to fingerprint files.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace bitlm {

std::string sha256_hex(std::span<const uint8_t> bytes);

}  // namespace bitlm
