// io/checksum.h — content checksums for checkpoints and downloads. Both are incremental: pass the
// previous result back in to continue over the next chunk (crc32(b, crc32(a)) == crc32(a ++ b)).
#pragma once
#include <cstdint>
#include <span>

namespace bitlm {

// CRC-32 (IEEE 802.3, reflected 0xEDB88320; the zlib/PNG/gzip one): crc32("123456789") = 0xCBF43926.
uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

// FNV-1a 64-bit: fnv1a64("") = 0xcbf29ce484222325 (the offset basis).
inline constexpr uint64_t kFnv1a64Basis = 0xcbf29ce484222325ull;
uint64_t fnv1a64(std::span<const uint8_t> bytes, uint64_t hash = kFnv1a64Basis);

}  // namespace bitlm
