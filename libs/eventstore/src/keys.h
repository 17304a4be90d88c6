// Key layout of the event store's RocksDB column families (see README.md).
//
//   streams      <stream_id> 0x00 <version: 8 bytes big-endian>  -> EventEnvelope
//   log          <position: 8 bytes big-endian>                  -> EventEnvelope
//   outbox       (empty: written before ADR 0005 only; the log after the
//                 published cursor is the outbox)
//   commands     <command_id>                                    -> AppendRecord
//   projections  <projection> 0x00 <key>                         -> row value
//   default      "outbox_published"                              -> position (8 bytes BE)
//   default      "rebuild_in_progress"                           -> targets, NUL-separated
//   default      "page_token_key"                                -> 32 random bytes
//   default      "incarnation"                                   -> the store's incarnation
//
// Big-endian integers make byte order equal numeric order, so iterators walk
// versions and positions in order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace crm::eventstore::keys {

inline void AppendBigEndian64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

inline std::string BigEndian64(uint64_t v) {
  std::string out;
  out.reserve(8);
  AppendBigEndian64(out, v);
  return out;
}

// Decodes the last 8 bytes of `key` (callers check the size first).
inline uint64_t DecodeBigEndian64(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes.substr(bytes.size() - 8)) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// The prefix every event key of `stream` starts with.
inline std::string StreamPrefix(std::string_view stream) {
  std::string out(stream);
  out.push_back('\0');
  return out;
}

inline std::string StreamKey(std::string_view stream, uint64_t version) {
  std::string out = StreamPrefix(stream);
  AppendBigEndian64(out, version);
  return out;
}

// Exclusive upper bound of every key starting with `prefix` ending in 0x00:
// the same bytes with the final 0x00 replaced by 0x01.
inline std::string PrefixEnd(std::string_view prefix_ending_in_nul) {
  std::string out(prefix_ending_in_nul);
  out.back() = '\x01';
  return out;
}

inline std::string ProjectionPrefix(std::string_view projection) {
  std::string out(projection);
  out.push_back('\0');
  return out;
}

inline std::string ProjectionKey(std::string_view projection, std::string_view key) {
  std::string out = ProjectionPrefix(projection);
  out.append(key);
  return out;
}

inline constexpr std::string_view kOutboxPublished = "outbox_published";
// In `default` while a projection rebuild runs: its targets, NUL-separated.
inline constexpr std::string_view kRebuildInProgress = "rebuild_in_progress";
// In `default` from the store's first open on: the key page tokens are sealed
// with (index_walk.h), so that tokens stay valid across restarts.
inline constexpr std::string_view kPageTokenKey = "page_token_key";
// In `default`: the store's incarnation (a UUIDv7), stamped on every event.
inline constexpr std::string_view kIncarnation = "incarnation";

}  // namespace crm::eventstore::keys
